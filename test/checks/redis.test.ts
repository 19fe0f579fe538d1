import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { createRedisCheck } from '../../src/checks/redis';
import { freePort, startSilentServer } from '../helpers/silent-tcp-server';
import { spawnRedis } from '../helpers/spawn-redis';
import type { CheckResult } from '../../src/types';
import { failureOf, runOnce } from '../helpers/run-check';

const PASSWORD = 'S3cretPassw0rd';


describe('redis check', () => {
  test('passes against the healthy server with latency and role', async () => {
    const check = createRedisCheck({ url: 'redis://127.0.0.1:6379' });
    try {
      const result = await runOnce(check);
      assert.equal(check.name, 'redis');
      assert.equal(result.status, 'pass');
      assert.equal(result.observedUnit, 'ms');
      assert.equal(typeof result.observedValue, 'number');
      assert.equal(result.componentType, 'datastore');
      assert.equal(result.details?.role, 'master');
      assert.equal((await runOnce(check)).status, 'pass');
    } finally {
      await check.close?.();
    }
  });

  test('a wrong password fails clearly and never shows the password', async () => {
    const redis = await spawnRedis({ args: ['--requirepass', 'the-right-one'] });
    const check = createRedisCheck({ url: `redis://:${PASSWORD}@127.0.0.1:${redis.port}` });
    try {
      const message = await failureOf(check);
      assert.match(message, /WRONGPASS/);
      assert.ok(!message.includes(PASSWORD));
    } finally {
      await check.close?.();
      await redis.stop();
    }
  });

  test('fails fast with ECONNREFUSED where nothing listens', async () => {
    const port = await freePort();
    const check = createRedisCheck({ url: `redis://:${PASSWORD}@127.0.0.1:${port}` });
    try {
      assert.match(await failureOf(check), new RegExp(`ECONNREFUSED 127\\.0\\.0\\.1:${port}`));
      // Later runs fail the same way, straight away, instead of queueing behind reconnects.
      assert.match(await failureOf(check), /ECONNREFUSED/);
    } finally {
      await check.close?.();
    }
  });

  test('a server that never answers fails the run at the signal', async () => {
    const silent = await startSilentServer();
    const check = createRedisCheck({ url: `redis://127.0.0.1:${silent.port}`, timeoutMs: 10_000 });
    try {
      assert.match(await failureOf(check, AbortSignal.timeout(300)), /timed out waiting for Redis at 127\.0\.0\.1:\d+/);
      assert.match(await failureOf(check, AbortSignal.timeout(300)), /timed out/);
    } finally {
      await check.close?.();
      await silent.close();
    }
  });

  test('fails while the server is down and recovers when it is back on the same port', async () => {
    let redis = await spawnRedis();
    const check = createRedisCheck({ url: `redis://127.0.0.1:${redis.port}` });
    try {
      assert.equal((await runOnce(check)).status, 'pass');
      await redis.stop();
      assert.match(await failureOf(check), /ECONNREFUSED|Connection is closed|connection to Redis at 127\.0\.0\.1:\d+ lost/);
      assert.match(await failureOf(check), /ECONNREFUSED|Connection is closed|connection to Redis at 127\.0\.0\.1:\d+ lost/);
      redis = await spawnRedis({ port: redis.port });
      let result: CheckResult | undefined;
      for (let attempt = 0; attempt < 20 && result?.status !== 'pass'; attempt++) {
        result = await runOnce(check).catch(() => undefined);
        if (result?.status !== 'pass') await sleep(100);
      }
      assert.equal(result?.status, 'pass');
    } finally {
      await check.close?.();
      await redis.stop();
    }
  });
});
