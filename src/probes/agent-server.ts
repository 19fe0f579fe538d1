import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface AgentServerOptions {
  port: number;
  host: string;
  /** Called once per request handled (probe metrics). */
  onRequest?(route: string, statusCode: number, durationSeconds: number): void;
  /** Overrides of CONNECTION_LIMITS (tests). */
  limits?: Partial<ConnectionLimits>;
}

/**
 * A probe request (or a scrape) is one small GET, and kubelet gives up on it after 1 s by default: a client
 * slower or bigger than these limits is broken or hostile. Node checks the timeouts only every
 * `connectionsCheckingInterval` (30 s by default), so that is shortened for them to hold.
 */
const LIMITS = {
  headersTimeout: 2_000,
  requestTimeout: 5_000,
  connectionsCheckingInterval: 500,
  maxHeaderSize: 8_192,
  keepAliveTimeout: 5_000,
};

/**
 * Bounds against a client that holds the server rather than asks it: one that pipelines requests
 * over keep-alive and never reads the answers, or opens connections without end.
 *
 * Node parses a whole read (up to 64 KiB: a thousand pipelined GETs) before it can stop reading a
 * connection, and answers queue behind one another. Answering all of them as the kernel takes them
 * costs three times the CPU of dropping the connection once it is `maxUnanswered` requests ahead
 * (measured: 45 % vs 15 % of a core under 40 such clients; bench/probe-attack.mjs). The rest of
 * that read is parsed by Node but never rendered or answered. Otherwise reading stops while the
 * socket's buffer is over its high-water mark (`holdWhileUndrained`), and a connection on which
 * answers stop moving is dropped after `stallTimeoutMs`.
 */
export interface ConnectionLimits {
  /** Connections open at once; a further one closes the oldest (idle first), never itself. */
  maxConnections: number;
  /** Requests on one keep-alive connection; the last is answered with `Connection: close`. */
  maxRequestsPerSocket: number;
  /** Requests of one connection answered but not yet handed to the kernel; a further one drops the connection. */
  maxUnanswered: number;
  /** Bytes of answers waiting in one socket's buffer past which a further request drops the connection. */
  maxQueuedBytes: number;
  /** A connection with an answer waiting on which no byte moves for this long is dropped (`server.timeout`). */
  stallTimeoutMs: number;
}

export const CONNECTION_LIMITS: ConnectionLimits = {
  maxConnections: 128,
  maxRequestsPerSocket: 1_000,
  maxUnanswered: 16,
  maxQueuedBytes: 1024 * 1024,
  stallTimeoutMs: 3_000,
};

export const HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
};

const INTERNAL_ERROR = Buffer.from(JSON.stringify({ error: 'Internal Server Error' }));

/** Servers of the agent: their requests are never traced (kubelet and scrape traffic is noise). */
export const agentServers = new WeakSet<Server>();

/**
 * One of the agent's servers (probes, /metrics): plain node:http within the bounds above, never
 * traced, and unref'd with its connections: it never keeps the host process alive. `handle`
 * answers a request (now or later) and returns its route label; what it throws is a 500.
 */
export function listenBounded(options: AgentServerOptions, handle: (req: IncomingMessage, res: ServerResponse) => string): Promise<Server> {
  const limits = { ...CONNECTION_LIMITS, ...options.limits };
  const server = createServer(LIMITS, (req, res) => {
    // The rest of a pipelined burst that arrived with the request that dropped its connection:
    // Node parses all of that read; nothing more of it is answered.
    if (req.socket.destroyed || !admit(req.socket, res, limits)) return;
    const started = performance.now();
    let route = 'other';
    try {
      route = handle(req, res);
      holdWhileUndrained(req.socket);
    } catch {
      // Nothing a request can do may reach the host: an internal error is a 500.
      if (!res.headersSent) send(res, req, 500, 'application/json', INTERNAL_ERROR);
      else res.destroy();
    }
    options.onRequest?.(route, res.statusCode, (performance.now() - started) / 1000);
  });
  agentServers.add(server);
  // The HTTP instrumentation wraps http.Server.prototype.emit, and even for a request it ignores
  // (isProbeRequest) it binds a context to the request and the response: several closures and
  // listeners per request, which under a pipelining flood cost more than the answer. The agent's
  // servers' own emit is the plain one, so their requests never reach that wrapper.
  server.emit = EventEmitter.prototype.emit as Server['emit'];
  server.maxRequestsPerSocket = limits.maxRequestsPerSocket;
  // No 'timeout' listener: Node destroys a socket idle that long. The keep-alive timeout replaces
  // it between requests; while an answer is being written, a slow reader that takes bytes keeps
  // its connection, one that takes none loses it.
  server.setTimeout(limits.stallTimeoutMs);
  // At the bound the oldest connection gives way, not the new one: a client holding every slot
  // would otherwise lock the kubelet out, and liveness would fail for it.
  const open = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    socket.unref();
    open.add(socket);
    socket.once('close', () => open.delete(socket));
    if (open.size > limits.maxConnections) oldestOf(open, socket)?.destroy();
    // Node resumes reading when queued answers move into the socket's buffer or an answer is
    // finished, whether or not the socket has drained: while vigil holds it, it stays paused.
    socket.on('resume', () => {
      if (held.has(socket) && !socket.destroyed) socket.pause();
    });
  });
  // No 'clientError' listener on purpose: Node's own answers a malformed request with 400,
  // oversized headers with 431 and a slow client with 408, then closes the socket.
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      server.on('error', () => undefined);
      server.unref();
      resolve(server);
    });
  });
}

export function portOf(server: Server): number {
  return (server.address() as AddressInfo).port;
}

/** The connection to close for a new one: the oldest with no answer under way, else the oldest. */
function oldestOf(open: Set<Socket>, newcomer: Socket): Socket | undefined {
  let oldest: Socket | undefined;
  for (const socket of open) {
    if (socket === newcomer) continue;
    if (!unanswered.get(socket)) return socket;
    oldest ??= socket;
  }
  return oldest;
}

/** Connections whose reading vigil holds until their socket drains. */
const held = new WeakSet<Socket>();
/** Per connection: requests whose answer the kernel has not taken yet. */
const unanswered = new WeakMap<Socket, number>();

/**
 * Counts a request against its connection's bounds; false when the connection is dropped for it
 * (a client that far ahead of its answers, or leaving that much of them unread, holds the server
 * rather than asks it).
 */
function admit(socket: Socket, res: ServerResponse, limits: ConnectionLimits): boolean {
  const count = unanswered.get(socket) ?? 0;
  if (count >= limits.maxUnanswered || socket.writableLength > limits.maxQueuedBytes) {
    socket.destroy();
    return false;
  }
  unanswered.set(socket, count + 1);
  res.once('finish', () => unanswered.set(socket, (unanswered.get(socket) ?? 1) - 1));
  return true;
}

/**
 * Back-pressure: while the socket's buffer is over its high-water mark, no further request of the
 * connection is read or parsed; reading resumes on 'drain'. (The stall timeout ends a connection
 * that never drains.)
 */
function holdWhileUndrained(socket: Socket): void {
  if (held.has(socket) || !socket.writableNeedDrain || socket.destroyed) return;
  held.add(socket);
  socket.pause();
  socket.once('drain', () => {
    held.delete(socket);
    socket.resume();
  });
}

/** A whole answer at once, with the agent's headers (no body for HEAD). */
export function send(res: ServerResponse, req: IncomingMessage, status: number, type: string, payload: Buffer): void {
  res.writeHead(status, { ...HEADERS, 'content-type': type, 'content-length': payload.length });
  res.end(req.method === 'HEAD' ? undefined : payload);
}

const NOT_ALLOWED = Buffer.from(JSON.stringify({ error: 'Method Not Allowed' }));

/**
 * The request's route (its query and a trailing slash cut), when `methods` allows its method
 * there; otherwise it is answered here: 404 with `notFound` (route `other`), or 405 with `Allow`.
 */
export function routeOf(req: IncomingMessage, res: ServerResponse, methods: (path: string) => readonly string[] | undefined, notFound: { type: string; body: Buffer }): { path: string; answered: boolean } {
  req.resume();
  const path = (req.url ?? '/').split('?')[0].replace(/\/+$/, '') || '/';
  const allowed = methods(path);
  if (!allowed) {
    send(res, req, 404, notFound.type, notFound.body);
    return { path: 'other', answered: true };
  }
  if (!allowed.includes(req.method ?? '')) {
    res.setHeader('allow', allowed.join(', '));
    send(res, req, 405, 'application/json', NOT_ALLOWED);
    return { path, answered: true };
  }
  return { path, answered: false };
}
