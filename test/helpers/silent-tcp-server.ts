import diagnostics from 'node:diagnostics_channel';
import net from 'node:net';

export interface SilentServer {
  port: number;
  close(): Promise<void>;
}

/**
 * A TCP server on a free port that accepts connections and never sends a byte: the shape of a
 * hung database or broker. close() destroys the accepted sockets too, so nothing lingers.
 */
export async function startSilentServer(): Promise<SilentServer> {
  return listenTracked((track) => net.createServer(track));
}

/**
 * Listens on a free loopback port with the server `make` builds, given `track` for the sockets it
 * should close with itself (errors on them ignored); close() destroys those too.
 */
export async function listenTracked(make: (track: (socket: net.Socket) => void) => net.Server): Promise<SilentServer> {
  const sockets = new Set<net.Socket>();
  const server = make((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A port nothing listens on (just released by the OS), for ECONNREFUSED cases. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Counts the TCP connections this process opens to `port` (net's diagnostics channel), retries included. */
export function connectionsTo(port: number): { readonly count: number; stop(): void } {
  let count = 0;
  const onSocket = (message: unknown) => {
    const socket = (message as { socket: net.Socket }).socket;
    // The socket's target is known once it connects or fails; both are attempts.
    const attempt = (error?: NodeJS.ErrnoException & { port?: number }) => {
      if ((error?.port ?? socket.remotePort) === port) count++;
    };
    socket.once('connect', () => attempt());
    socket.once('error', attempt);
  };
  diagnostics.subscribe('net.client.socket', onSocket);
  return { get count() { return count; }, stop: () => diagnostics.unsubscribe('net.client.socket', onSocket) };
}
