import { createHash, timingSafeEqual } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIPv4, type AddressInfo, type Socket } from 'node:net';
import type { DetailLevel } from '../config/settings';
import type { HealthEngine } from '../health/engine';
import { httpStatusOf } from '../health/status';
import type { Group } from '../types';
import { buildReport, liveFields, renderReport, type RenderedReport, type ServiceInfo } from './report';

export interface ProbeServerOptions {
  port: number;
  host: string;
  details: DetailLevel;
  token: string;
  service: ServiceInfo;
  /** Called once per answered request (probe metrics). */
  onRequest?(route: string, statusCode: number, durationSeconds: number): void;
  /** Overrides of CONNECTION_LIMITS (tests). */
  limits?: Partial<ConnectionLimits>;
}

/** Route -> the group it reports on (undefined: every check). */
export const ROUTES: ReadonlyMap<string, Group | undefined> = new Map<string, Group | undefined>([
  ['/health', undefined],
  ['/health/live', 'live'],
  ['/health/ready', 'ready'],
  ['/health/startup', 'startup'],
]);

/**
 * A probe request is one small GET, and kubelet gives up on it after 1 s by default: a client
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

/**
 * A rendered report is reused while the engine's version stays the same, and for this long at
 * most: a result can turn stale with time alone, without any change the version would count.
 */
const REPORT_TTL_MS = 500;

const HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
};

/** Servers of the agent: their requests are never traced (kubelet traffic is noise). */
export const probeServers = new WeakSet<Server>();

/**
 * The probe server: plain node:http, GET and HEAD only, answers from the engine's latest snapshot
 * and never runs a check. Unref'd, with its connections: it never keeps the host process alive.
 */
export function startProbeServer(engine: HealthEngine, options: ProbeServerOptions): Promise<Server> {
  const limits = { ...CONNECTION_LIMITS, ...options.limits };
  const reports = new Reports(engine, options);
  const server = createServer(LIMITS, (req, res) => {
    // The rest of a pipelined burst that arrived with the request that dropped its connection:
    // Node parses all of that read; nothing more of it is answered.
    if (req.socket.destroyed || !admit(req.socket, res, limits)) return;
    const started = performance.now();
    let route = 'other';
    try {
      route = handle(reports, options, req, res);
      holdWhileUndrained(req.socket);
    } catch {
      // Nothing a request can do may reach the host: an internal error is a 500.
      if (!res.headersSent) send(res, req, 500, 'application/json', INTERNAL_ERROR);
      else res.destroy();
    }
    options.onRequest?.(route, res.statusCode, (performance.now() - started) / 1000);
  });
  probeServers.add(server);
  // The HTTP instrumentation wraps http.Server.prototype.emit, and even for a request it ignores
  // (isProbeRequest) it binds a context to the request and the response: several closures and
  // listeners per request, which under a pipelining flood cost more than the answer. The probe
  // server's own emit is the plain one, so its requests never reach that wrapper.
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

/** Rendered reports per route and detail level, rebuilt when the engine changes (or after REPORT_TTL_MS). */
class Reports {
  private readonly cache = new Map<string, RenderedReport>();

  constructor(private readonly engine: HealthEngine, private readonly options: ProbeServerOptions) {}

  get(path: string, group: Group | undefined, details: boolean): RenderedReport {
    const key = details ? `${path} details` : path;
    const version = this.engine.version;
    const now = performance.now();
    const cached = this.cache.get(key);
    if (cached && cached.version === version && now - cached.builtAt < REPORT_TTL_MS) return cached;
    const { status, checks } = this.engine.status(group);
    const output = group === 'ready' && this.engine.isShuttingDown ? 'shutting down' : undefined;
    const rendered = renderReport(buildReport(status, checks, this.options.service, details, output), version, now);
    this.cache.set(key, rendered);
    return rendered;
  }
}

const NOT_FOUND = Buffer.from(JSON.stringify({ error: 'Not Found', routes: [...ROUTES.keys()] }));
const NOT_ALLOWED = Buffer.from(JSON.stringify({ error: 'Method Not Allowed' }));
const INTERNAL_ERROR = Buffer.from(JSON.stringify({ error: 'Internal Server Error' }));

/** Answers one request; returns the route label for metrics (bounded cardinality). */
function handle(reports: Reports, options: ProbeServerOptions, req: IncomingMessage, res: ServerResponse): string {
  req.resume();
  const path = (req.url ?? '/').split('?')[0].replace(/\/+$/, '') || '/';
  if (!ROUTES.has(path)) {
    send(res, req, 404, 'application/json', NOT_FOUND);
    return 'other';
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    send(res, req, 405, 'application/json', NOT_ALLOWED);
    return path;
  }
  const details = showDetails(options.details, options.token, req.socket.remoteAddress, req.headers.authorization);
  const rendered = reports.get(path, ROUTES.get(path), details);
  const live = liveFields();
  res.writeHead(httpStatusOf(rendered.status), { ...HEADERS, 'content-type': 'application/health+json', 'content-length': rendered.head.length + live.length + rendered.tail.length });
  if (req.method === 'HEAD') {
    res.end();
  } else {
    // Three chunks, one write to the socket (Node corks a response's writes until the next tick).
    res.write(rendered.head);
    res.write(live, 'latin1');
    res.end(rendered.tail);
  }
  return path;
}

/**
 * True for an address of the loopback interface: 127.0.0.0/8, ::1, and IPv4-mapped 127.x
 * (`::ffff:127.0.0.1`, what a dual-stack socket reports for an IPv4 loopback caller).
 */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const lower = address.toLowerCase();
  const v4 = lower.startsWith('::ffff:') ? lower.slice(7) : lower;
  if (isIPv4(v4)) return v4.startsWith('127.');
  return lower === '::1';
}

/**
 * Whether a caller sees check details (checks, output, versions, hosts...) or the status alone.
 * `local`: loopback callers and token holders; `token`: token holders; `always`; `never`.
 * A proxy on the same host (a service-mesh sidecar) makes every caller it forwards loopback.
 */
export function showDetails(level: DetailLevel, token: string, remoteAddress: string | undefined, authorization: string | undefined): boolean {
  switch (level) {
    case 'always':
      return true;
    case 'local':
      return isLoopback(remoteAddress) || holdsToken(token, authorization);
    case 'token':
      return holdsToken(token, authorization);
    default:
      return false;
  }
}

/** `Authorization: Bearer <token>`, compared in constant time (of equal-length digests). */
function holdsToken(token: string, authorization: string | undefined): boolean {
  if (!token || !authorization) return false;
  const given = /^Bearer\s+(.+)$/i.exec(authorization)?.[1]?.trim();
  if (!given) return false;
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(given), digest(token));
}

function send(res: ServerResponse, req: IncomingMessage, status: number, type: string, payload: Buffer): void {
  res.writeHead(status, { ...HEADERS, 'content-type': type, 'content-length': payload.length });
  res.end(req.method === 'HEAD' ? undefined : payload);
}
