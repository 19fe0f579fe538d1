import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { createPostgresCheck } from '../../src/checks/postgres';
import { freePort, startSilentServer } from '../helpers/silent-tcp-server';
import { failureOf, runOnce } from '../helpers/run-check';

const URL_BASE = 'postgres://root@127.0.0.1:5432/test';
const PASSWORD = 'S3cretPassw0rd';
// pg_hba.conf here trusts every 127.0.0.1 connection, so a wrong password is never checked.
// The password is used as the database name instead: the server's error then echoes it
// ('database "S3cretPassw0rd" does not exist') and only the check's redaction can hide it.
const SECRET_DB_URL = `postgres://root:${PASSWORD}@127.0.0.1:5432/${PASSWORD}`;

let appSeq = 0;
const uniqueAppName = (): string => `vigil-health-test-${process.pid}-${++appSeq}`;


describe('postgres check', () => {
  const admin = new pg.Client({ connectionString: URL_BASE });
  const countConnections = async (applicationName: string): Promise<number> => {
    const { rows } = await admin.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1',
      [applicationName],
    );
    return rows[0]!.n;
  };

  before(() => admin.connect());
  after(() => admin.end());

  test('passes against the healthy server with latency and server version', async () => {
    const check = createPostgresCheck({ url: URL_BASE, applicationName: uniqueAppName() });
    try {
      const result = await runOnce(check);
      assert.equal(check.name, 'postgres');
      assert.equal(result.status, 'pass');
      assert.equal(result.observedUnit, 'ms');
      assert.equal(typeof result.observedValue, 'number');
      assert.equal(result.componentType, 'datastore');
      assert.match(String(result.details?.serverVersion), /^\d+/);
    } finally {
      await check.close?.();
    }
  });

  test('keeps exactly one connection over 1000 runs, and none after close', async () => {
    const applicationName = uniqueAppName();
    const check = createPostgresCheck({ url: URL_BASE, applicationName });
    try {
      for (let i = 0; i < 1000; i++) {
        assert.equal((await runOnce(check)).status, 'pass');
        if (i === 0 || i === 499) assert.equal(await countConnections(applicationName), 1);
      }
      assert.equal(await countConnections(applicationName), 1);
    } finally {
      await check.close?.();
    }
    assert.equal(await countConnections(applicationName), 0);
  });

  test('recovers after its backend is terminated, still with one connection', async () => {
    const applicationName = uniqueAppName();
    const check = createPostgresCheck({ url: URL_BASE, applicationName });
    try {
      assert.equal((await runOnce(check)).status, 'pass');
      const { rows } = await admin.query<{ ok: boolean }>(
        'SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = $1',
        [applicationName],
      );
      assert.deepEqual(rows, [{ ok: true }]);
      // The run right after may see the dead connection; the one after must pass.
      await runOnce(check).catch(() => undefined);
      assert.equal((await runOnce(check)).status, 'pass');
      assert.equal(await countConnections(applicationName), 1);
    } finally {
      await check.close?.();
    }
  });

  test('a server error that echoes the password never shows it', async () => {
    const check = createPostgresCheck({ url: SECRET_DB_URL });
    try {
      const message = await failureOf(check);
      assert.match(message, /database "\*\*\*" does not exist/);
      assert.ok(!message.includes(PASSWORD));
    } finally {
      await check.close?.();
    }
  });

  test('an unknown user fails clearly', async () => {
    const check = createPostgresCheck({ url: `postgres://vigil_no_such_user:${PASSWORD}@127.0.0.1:5432/test` });
    try {
      const message = await failureOf(check);
      assert.match(message, /role "vigil_no_such_user" does not exist/);
      assert.ok(!message.includes(PASSWORD));
    } finally {
      await check.close?.();
    }
  });

  test('fails with ECONNREFUSED where nothing listens', async () => {
    const port = await freePort();
    const check = createPostgresCheck({ url: `postgres://root:${PASSWORD}@127.0.0.1:${port}/test` });
    try {
      assert.match(await failureOf(check), new RegExp(`ECONNREFUSED 127\\.0\\.0\\.1:${port}`));
    } finally {
      await check.close?.();
    }
  });

  test('a server that never answers fails the run at the signal, and the next run tries again', async () => {
    const silent = await startSilentServer();
    const check = createPostgresCheck({ url: `postgres://root@127.0.0.1:${silent.port}/test`, timeoutMs: 10_000 });
    try {
      assert.match(await failureOf(check, AbortSignal.timeout(300)), /timed out waiting for PostgreSQL at 127\.0\.0\.1:\d+/);
      assert.match(await failureOf(check, AbortSignal.timeout(300)), /timed out/);
    } finally {
      await check.close?.();
      await silent.close();
    }
  });

  test('a failing custom query fails the run and the next run reconnects', async () => {
    const applicationName = uniqueAppName();
    const check = createPostgresCheck({ url: URL_BASE, applicationName, query: 'SELECT 1/0' });
    try {
      assert.match(await failureOf(check), /division by zero/);
      assert.match(await failureOf(check), /division by zero/);
      assert.ok((await countConnections(applicationName)) <= 1);
    } finally {
      await check.close?.();
    }
  });
});
