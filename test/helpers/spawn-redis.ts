import { spawn } from 'node:child_process';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './silent-tcp-server';

export interface SpawnedRedis {
  port: number;
  stop(): Promise<void>;
}

const START_DEADLINE_MS = 10_000;

/**
 * A throwaway redis-server (no persistence) on `port` or a free one, resolved once it answers
 * PING. Extra arguments go to redis-server, e.g. ['--requirepass', 'x'].
 */
export async function spawnRedis(options: { port?: number; args?: string[] } = {}): Promise<SpawnedRedis> {
  const port = options.port ?? (await freePort());
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...(options.args ?? [])],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  const deadline = Date.now() + START_DEADLINE_MS;
  while (!(await answersPing(port))) {
    if (Date.now() > deadline || child.exitCode !== null) {
      await stop();
      throw new Error(`redis-server did not start on port ${port}`);
    }
    await sleep(20);
  }
  return { port, stop };
}

// Any reply counts (+PONG, or -NOAUTH when started with --requirepass): the server is up.
function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.setTimeout(500);
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => {
      socket.destroy();
      resolve(/^[+-]/.test(data.toString()));
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}
