// Zero-configuration checks: the application's own pg pool and ioredis client are checked
// through themselves, so an exhausted pool shows in readiness.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { agentEnv, eventually, fixture, probe, spawnAgent } from '../helpers/spawn-agent';

const QUIET = { OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none', VIGIL_CHECK_INTERVAL_MS: '200', VIGIL_CHECK_TIMEOUT_MS: '300' };

test('the application pool and client become checks at first use, see exhaustion, and go when closed', async () => {
  const app = spawnAgent(fixture('app-clients.js'), agentEnv({ ...QUIET, VIGIL_REDIS_URL: 'redis://127.0.0.1:6379' }));
  try {
    const port = await app.probePort();
    const appPort = Number((await app.waitForLine('stdout', (l) => l.fixture === 'ready')).port);
    const call = (path: string) => fetch(`http://127.0.0.1:${appPort}${path}`).then((r) => r.text());
    assert.equal((await probe(port, '/health')).body.checks['app-postgres'], undefined, 'nothing before first use');
    await call('/use');
    const checks = await eventually(async () => {
      const { body } = await probe(port, '/health');
      return body.checks['app-postgres']?.[0].status === 'pass' && body.checks['app-redis']?.[0].status === 'pass' && body.checks;
    }, 15_000, 'app checks passing');
    assert.deepEqual(checks['app-postgres'][0].groups, ['ready']);
    assert.equal(checks['app-postgres'][0].details.total >= 1, true);
    assert.equal(Object.keys(checks).filter((name) => name.startsWith('app-redis')).length, 1, "the agent's own Redis connection is not adopted");

    await call('/hog');
    const exhausted = await eventually(async () => {
      const { status, body } = await probe(port, '/health/ready');
      return status === 503 && body.checks['app-postgres'][0].status === 'fail' && body.checks['app-postgres'][0];
    }, 15_000, 'readiness 503 on an exhausted pool');
    assert.match(exhausted.output, /timed out/);
    assert.equal((await probe(port, '/health/live')).status, 200);
    await call('/release');
    await eventually(async () => (await probe(port, '/health')).body.checks['app-postgres'][0].status === 'pass', 15_000, 'recovered');

    await call('/close');
    await eventually(async () => {
      const { body } = await probe(port, '/health');
      return !body.checks['app-postgres'] && !body.checks['app-redis'];
    }, 15_000, 'checks removed after close');
  } finally {
    app.kill();
  }
});

test('VIGIL_AUTO_CHECKS=false leaves the application clients alone', async () => {
  const app = spawnAgent(fixture('app-clients.js'), agentEnv({ ...QUIET, VIGIL_AUTO_CHECKS: 'false' }));
  try {
    const port = await app.probePort();
    const appPort = Number((await app.waitForLine('stdout', (l) => l.fixture === 'ready')).port);
    await fetch(`http://127.0.0.1:${appPort}/use`).then((r) => r.text());
    const { body } = await probe(port, '/health');
    assert.deepEqual(Object.keys(body.checks).filter((n) => n.startsWith('app-')), []);
  } finally {
    app.kill();
  }
});
