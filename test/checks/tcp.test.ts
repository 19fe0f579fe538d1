import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { createTcpCheck } from '../../src/checks/tcp';
import { freePort, startSilentServer } from '../helpers/silent-tcp-server';
import { runOnce } from '../helpers/run-check';

/**
 * A port whose connection attempts hang in the handshake, like a firewall dropping packets.
 * A listener with a backlog of 1 in a stopped process cannot accept: once its queue holds two
 * connections, Linux drops further SYNs and the client keeps retrying.
 */
async function hangingPort(): Promise<{ port: number; close(): Promise<void> }> {
  const child = spawn(
    process.execPath,
    ['-e', "require('net').createServer().listen({ port: 0, host: '127.0.0.1', backlog: 1 }, function () { console.log(this.address().port) })"],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  const port = Number(await new Promise<string>((resolve) => child.stdout.once('data', (data) => resolve(String(data)))));
  child.kill('SIGSTOP');
  const fillers = await Promise.all(
    [1, 2].map(
      () =>
        new Promise<net.Socket>((resolve) => {
          const socket = net.connect({ host: '127.0.0.1', port }, () => resolve(socket));
        }),
    ),
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    port,
    close: async () => {
      for (const socket of fillers) socket.destroy();
      child.kill('SIGKILL');
      await exited;
    },
  };
}


describe('tcp check', () => {
  test('passes when the port accepts, even if the service behind it is silent', async () => {
    const silent = await startSilentServer();
    try {
      const result = await runOnce(createTcpCheck({ name: 'silent', host: '127.0.0.1', port: silent.port }));
      assert.equal(result.status, 'pass');
      assert.equal(result.observedUnit, 'ms');
      assert.equal(typeof result.observedValue, 'number');
    } finally {
      await silent.close();
    }
  });

  test('passes against the real PostgreSQL port', async () => {
    assert.equal((await runOnce(createTcpCheck({ name: 'pg-port', host: '127.0.0.1', port: 5432 }))).status, 'pass');
  });

  test('fails with ECONNREFUSED where nothing listens', async () => {
    const port = await freePort();
    await assert.rejects(runOnce(createTcpCheck({ name: 'nothing', host: '127.0.0.1', port })), new RegExp(`ECONNREFUSED 127\\.0\\.0\\.1:${port}`));
  });

  test('a connection that hangs in the handshake fails the run at the signal', async () => {
    const hanging = await hangingPort();
    try {
      const check = createTcpCheck({ name: 'hanging', host: '127.0.0.1', port: hanging.port });
      await assert.rejects(runOnce(check, AbortSignal.timeout(300)), /^Error: timed out waiting for 127\.0\.0\.1:\d+$/);
    } finally {
      await hanging.close();
    }
  });

  test('an already aborted signal fails at once', async () => {
    const check = createTcpCheck({ name: 'pg-port', host: '127.0.0.1', port: 5432 });
    await assert.rejects(runOnce(check, AbortSignal.abort()), /aborted waiting for 127\.0\.0\.1:5432/);
  });
});
