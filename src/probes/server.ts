import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DetailLevel } from '../config/env';
import type { HealthEngine } from '../health/engine';
import { httpStatusOf } from '../health/status';
import type { Group } from '../health/types';
import { buildReport, type ServiceInfo } from './report';

export interface ProbeServerOptions {
  port: number;
  host: string;
  details: DetailLevel;
  token: string;
  service: ServiceInfo;
  /** Called once per answered request (probe metrics). */
  onRequest?(route: string, statusCode: number, durationSeconds: number): void;
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
  const server = createServer(LIMITS, (req, res) => {
    const started = performance.now();
    let route = 'other';
    try {
      route = handle(engine, options, req, res);
    } catch {
      // Nothing a request can do may reach the host: an internal error is a 500.
      if (!res.headersSent) send(res, req, 500, 'application/json', { error: 'Internal Server Error' });
      else res.destroy();
    }
    options.onRequest?.(route, res.statusCode, (performance.now() - started) / 1000);
  });
  probeServers.add(server);
  server.on('connection', (socket) => socket.unref());
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

/** Answers one request; returns the route label for metrics (bounded cardinality). */
function handle(engine: HealthEngine, options: ProbeServerOptions, req: IncomingMessage, res: ServerResponse): string {
  req.resume();
  const path = (req.url ?? '/').split('?')[0].replace(/\/+$/, '') || '/';
  if (!ROUTES.has(path)) {
    send(res, req, 404, 'application/json', { error: 'Not Found', routes: [...ROUTES.keys()] });
    return 'other';
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    send(res, req, 405, 'application/json', { error: 'Method Not Allowed' });
    return path;
  }
  const group = ROUTES.get(path);
  const { status, checks } = engine.status(group);
  const output = group === 'ready' && engine.isShuttingDown ? 'shutting down' : undefined;
  const body = buildReport(status, checks, options.service, showDetails(options, req), output);
  send(res, req, httpStatusOf(status), 'application/health+json', body);
  return path;
}

function showDetails(options: ProbeServerOptions, req: IncomingMessage): boolean {
  if (options.details === 'always') return true;
  if (options.details === 'never' || !options.token) return false;
  const given = Buffer.from(/^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1]?.trim() ?? '');
  const expected = Buffer.from(options.token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function send(res: ServerResponse, req: IncomingMessage, status: number, type: string, body: unknown): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { ...HEADERS, 'content-type': type, 'content-length': Buffer.byteLength(payload) });
  res.end(req.method === 'HEAD' ? undefined : payload);
}
