// `npm run demo`: the demo service under the agent, wired to the local PostgreSQL, Redis and
// RabbitMQ. Without OTEL_EXPORTER_OTLP_ENDPOINT, a stand-in collector on a free port counts
// what the agent sends, so you can see telemetry flow before you have a real collector.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const counts = { traces: 0, metrics: 0, logs: 0, bytes: 0 };

async function standInCollector() {
  const sink = createServer((req, res) => {
    const signal = req.url?.split('/').pop();
    req.on('data', (chunk) => { counts.bytes += chunk.length; });
    req.on('end', () => {
      if (signal in counts) counts[signal]++;
      res.writeHead(200, { 'content-type': req.headers['content-type'] ?? 'application/x-protobuf' }).end();
    });
  });
  await new Promise((resolve) => sink.listen(0, '127.0.0.1', resolve));
  setInterval(() => {
    process.stdout.write(`[stand-in collector] received ${counts.traces} trace, ${counts.metrics} metric, ${counts.logs} log exports (${(counts.bytes / 1024).toFixed(1)} KiB)\n`);
  }, 10_000).unref();
  return `http://127.0.0.1:${sink.address().port}`;
}

const endpoint = process.env.OTEL_EXPORTER_OTLP_ENDPOINT || await standInCollector();
const env = {
  OTEL_SERVICE_NAME: 'vigil-demo',
  VIGIL_POSTGRES_URL: 'postgres://postgres@127.0.0.1:5432/test',
  VIGIL_REDIS_URL: 'redis://127.0.0.1:6379',
  VIGIL_AMQP_URL: 'amqp://guest:guest@127.0.0.1:5672',
  OTEL_METRIC_EXPORT_INTERVAL: '10000',
  ...process.env,
  OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
};
const port = env.VIGIL_PORT || '9000';
process.stdout.write(`vigil demo
  app        http://127.0.0.1:${env.PORT || 3000}/orders
  probes     http://127.0.0.1:${port}/health  /health/live  /health/ready  /health/startup
  telemetry  OTLP/HTTP to ${endpoint}${process.env.OTEL_EXPORTER_OTLP_ENDPOINT ? '' : ' (stand-in collector; set OTEL_EXPORTER_OTLP_ENDPOINT for yours)'}
  logs       the agent's JSON lines on stderr, the app's pino lines on stdout
Ctrl-C stops it (watch readiness turn 503 first).\n\n`);

const child = spawn(process.execPath, ['--require', './dist/register.js', 'demo/server.js'], { cwd: root, env, stdio: 'inherit' });
// Ctrl-C already reaches the child (same process group); a second SIGINT would mean "hurry".
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => child.kill('SIGTERM'));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 0 : 1)));
