import net from 'node:net';
import type { CheckDefinition } from '../health/types';
import type { CheckOptions } from '../types';
import { bounded, checkError, timed, unref } from './run-bounded';

export interface TcpCheckOptions extends CheckOptions {
  name: string;
  host: string;
  port: number;
}

/** TCP reachability: the port accepts a connection (which is closed at once). Says nothing of the service behind it. */
export function createTcpCheck(config: TcpCheckOptions): CheckDefinition {
  const { name, host, port, ...options } = config;
  const target = `${host}:${port}`;

  return {
    name,
    options,
    fn: async (signal) => {
      const socket = net.connect({ host, port });
      unref(socket);
      const connected = new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('error', reject);
      });
      try {
        const { ms } = await timed(() => bounded(signal, target, () => socket.destroy(), () => connected));
        return { status: 'pass', observedValue: ms, observedUnit: 'ms', componentType: options.componentType ?? 'component' };
      } catch (error) {
        throw checkError(error);
      } finally {
        socket.destroy();
      }
    },
  };
}
