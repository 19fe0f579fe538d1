// Export to a collector behind TLS with a private CA: OTEL_EXPORTER_OTLP_CERTIFICATE is honoured.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startOtlpGrpcReceiver } from './helpers/otlp-grpc-receiver';
import { startOtlpReceiver, type OtlpReceiver } from './helpers/otlp-receiver';
import { agentEnv, fixture, spawnAgent } from './helpers/spawn-agent';

let receiver: OtlpReceiver;
let ca: string;
let certs: { ca: string; key: string; cert: string };

/** A private CA and a server certificate for 127.0.0.1, made with openssl. */
function makeCertificates(dir: string): { ca: string; key: string; cert: string } {
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=vigil-test-ca', '-keyout', 'ca.key', '-out', 'ca.pem');
  run('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', 'server.key', '-out', 'server.csr');
  execFileSync('sh', ['-c', 'printf "subjectAltName=IP:127.0.0.1" > san.ext'], { cwd: dir });
  run('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1', '-extfile', 'san.ext', '-out', 'server.pem');
  return { ca: join(dir, 'ca.pem'), key: readFileSync(join(dir, 'server.key'), 'utf8'), cert: readFileSync(join(dir, 'server.pem'), 'utf8') };
}

/** A client certificate signed by the same CA, for mutual TLS: the paths of its certificate and key. */
function makeClientCertificate(dir: string): { cert: string; key: string } {
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  run('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=vigil-agent', '-keyout', 'client.key', '-out', 'client.csr');
  run('x509', '-req', '-in', 'client.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1', '-out', 'client.pem');
  return { cert: join(dir, 'client.pem'), key: join(dir, 'client.key') };
}

let dir: string;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vigil-tls-'));
  certs = makeCertificates(dir);
  ca = certs.ca;
  receiver = await startOtlpReceiver({ tls: { key: certs.key, cert: certs.cert } });
});
after(() => receiver.close());

test('spans reach an HTTPS collector whose CA is given by OTEL_EXPORTER_OTLP_CERTIFICATE', async () => {
  const job = spawnAgent(fixture('short-job.js'), agentEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_CERTIFICATE: ca, OTEL_SERVICE_NAME: 'tls-ok' }));
  assert.equal((await job.exited).code, 0);
  const spans = await receiver.waitFor((r) => r.spans.filter((s) => s.resource['service.name'] === 'tls-ok').length >= 2 && r.spans);
  assert.ok(spans.length >= 2);
  assert.ok(!job.stderr.some((l) => l.code === 'VIGIL_ERR_EXPORT'), JSON.stringify(job.stderr));
});

test('without the CA the export is refused, said once per signal, and the program still exits', async () => {
  const job = spawnAgent(fixture('short-job.js'), agentEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SERVICE_NAME: 'tls-no-ca' }));
  assert.equal((await job.exited).code, 0);
  const failures = job.stderr.filter((l) => l.code === 'VIGIL_ERR_EXPORT' && l.signal === 'traces');
  assert.equal(failures.length, 1);
  assert.match(String(failures[0].err), /certificate/i);
  assert.ok(!receiver.spans.some((s) => s.resource['service.name'] === 'tls-no-ca'));
});

test('mutual TLS: OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE and _CLIENT_KEY, shared or per signal, are presented to a collector that demands them', async (t) => {
  const client = makeClientCertificate(dir);
  const strict = await startOtlpReceiver({ tls: { key: certs.key, cert: certs.cert, ca: readFileSync(ca, 'utf8'), requestCert: true } });
  t.after(() => strict.close());
  const env = { OTEL_EXPORTER_OTLP_ENDPOINT: strict.url, OTEL_EXPORTER_OTLP_CERTIFICATE: ca };
  const shared = spawnAgent(fixture('short-job.js'), agentEnv({ ...env, OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE: client.cert, OTEL_EXPORTER_OTLP_CLIENT_KEY: client.key, OTEL_SERVICE_NAME: 'mtls-shared' }));
  const tracesOnly = spawnAgent(fixture('short-job.js'), agentEnv({ ...env, OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE: client.cert, OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY: client.key, OTEL_SERVICE_NAME: 'mtls-traces' }));
  const none = spawnAgent(fixture('short-job.js'), agentEnv({ ...env, OTEL_SERVICE_NAME: 'mtls-none' }));
  for (const job of [shared, tracesOnly, none]) assert.equal((await job.exited).code, 0);
  const of = (name: string) => ({ spans: strict.spans.filter((s) => s.resource['service.name'] === name).length, metrics: strict.metrics.filter((m) => m.resource['service.name'] === name).length });
  assert.ok(of('mtls-shared').spans > 0 && of('mtls-shared').metrics > 0, JSON.stringify(shared.stderr));
  assert.ok(of('mtls-traces').spans > 0 && of('mtls-traces').metrics === 0, 'only the traces present the certificate');
  assert.ok(tracesOnly.stderr.some((l) => l.code === 'VIGIL_ERR_EXPORT' && l.signal === 'metrics'));
  assert.deepEqual(of('mtls-none'), { spans: 0, metrics: 0 });
  assert.ok(none.stderr.some((l) => l.code === 'VIGIL_ERR_EXPORT' && l.signal === 'traces'));
});

test('a CA file that cannot be read: the one line names the variable and the path', async () => {
  const missing = join(tmpdir(), 'vigil-no-such-ca.pem');
  const job = spawnAgent(fixture('short-job.js'), agentEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE: missing, OTEL_SERVICE_NAME: 'tls-missing-ca' }));
  assert.equal((await job.exited).code, 0);
  const failures = job.stderr.filter((l) => l.code === 'VIGIL_ERR_EXPORT' && l.signal === 'traces');
  assert.equal(failures.length, 1);
  assert.ok(String(failures[0].err).includes(`OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE=${missing} cannot be read (ENOENT)`), String(failures[0].err));
});

test("the metrics' and logs' own CA variables: a file that cannot be read is named in one line per signal", async () => {
  const missing = join(tmpdir(), 'vigil-no-such-ca.pem');
  const job = spawnAgent(fixture('short-job.js'), agentEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE: missing, OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE: missing, OTEL_SERVICE_NAME: 'tls-missing-ca-signals' }));
  assert.equal((await job.exited).code, 0);
  for (const signal of ['metrics', 'logs']) {
    const failures = job.stderr.filter((l) => l.code === 'VIGIL_ERR_EXPORT' && l.signal === signal);
    assert.equal(failures.length, 1, `${signal}: ${JSON.stringify(job.stderr)}`);
    assert.ok(String(failures[0].err).includes(`OTEL_EXPORTER_OTLP_${signal.toUpperCase()}_CERTIFICATE=${missing} cannot be read (ENOENT)`), String(failures[0].err));
  }
});

test('a CA path naming a FIFO is refused, not read: the program serves and exits', async () => {
  const fifo = join(mkdtempSync(join(tmpdir(), 'vigil-fifo-ca-')), 'ca.pem');
  execFileSync('mkfifo', [fifo]);
  const job = spawnAgent(fixture('short-job.js'), agentEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_CERTIFICATE: fifo }));
  assert.equal((await job.exited).code, 0);
  const failure = job.stderr.find((l) => l.code === 'VIGIL_ERR_EXPORT' && l.signal === 'traces');
  assert.match(String(failure?.err), /OTEL_EXPORTER_OTLP_CERTIFICATE=.*ca\.pem cannot be read \(not a regular file\)/);
});

test('over gRPC too: spans reach a TLS gRPC collector with the CA, and without it the export is refused and the program exits', async (t) => {
  const grpc = await startOtlpGrpcReceiver({ tls: { key: certs.key, cert: certs.cert } });
  t.after(() => grpc.close());
  const env = { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_ENDPOINT: grpc.url };
  const ok = spawnAgent(fixture('short-job.js'), agentEnv({ ...env, OTEL_EXPORTER_OTLP_CERTIFICATE: ca, OTEL_SERVICE_NAME: 'grpc-tls-ok' }));
  assert.equal((await ok.exited).code, 0);
  await grpc.waitFor((r) => r.spans.filter((s) => s.resource['service.name'] === 'grpc-tls-ok').length >= 2);
  assert.ok(!ok.stderr.some((l) => l.code === 'VIGIL_ERR_EXPORT'), JSON.stringify(ok.stderr));
  const refused = spawnAgent(fixture('short-job.js'), agentEnv({ ...env, OTEL_SERVICE_NAME: 'grpc-tls-no-ca' }));
  assert.equal((await refused.exited).code, 0);
  assert.ok(refused.stderr.some((l) => l.code === 'VIGIL_ERR_EXPORT' && l.signal === 'traces'), JSON.stringify(refused.stderr));
  assert.ok(!grpc.spans.some((s) => s.resource['service.name'] === 'grpc-tls-no-ca'));
});
