import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { isIP, isIPv4 } from 'node:net';
import type { DetailLevel } from '../config/settings';
import type { HealthEngine } from '../health/engine';
import { httpStatusOf } from '../health/status';
import type { Group } from '../types';
import { HEADERS, listenBounded, routeOf, send, type AgentServerOptions } from './agent-server';
import { redact, redactDeep } from '../util/redact';
import { renderStatusPage, STATUS_PAGE_CSP, withRefresh } from './status-page';
import { buildReport, liveFields, renderReport, type RenderedReport, type ServiceInfo } from './report';

export interface ProbeServerOptions extends AgentServerOptions {
  details: DetailLevel;
  token: string;
  service: ServiceInfo;
}

/** Route -> the group it reports on (undefined: every check). */
export const ROUTES: ReadonlyMap<string, Group | undefined> = new Map<string, Group | undefined>([
  ['/health', undefined],
  ['/health/live', 'live'],
  ['/health/ready', 'ready'],
  ['/health/startup', 'startup'],
]);

/**
 * A rendered report is reused while the engine's version stays the same, and for this long at
 * most: a result can turn stale with time alone, without any change the version would count.
 */
const REPORT_TTL_MS = 500;

/**
 * The probe server: GET and HEAD only, answers from the engine's latest snapshot and never runs a
 * check; bounded and unref'd (./agent-server.ts).
 */
export function startProbeServer(engine: HealthEngine, options: ProbeServerOptions): Promise<Server> {
  const reports = new Reports(engine, options);
  return listenBounded(options, (req, res) => handle(engine, reports, options, req, res));
}

/** Rendered reports per route and detail level, rebuilt when the engine changes (or after REPORT_TTL_MS). */
class Reports {
  private readonly cache = new Map<string, { version: number; builtAt: number; value: unknown }>();

  constructor(private readonly engine: HealthEngine, private readonly options: ProbeServerOptions) {}

  get(path: string, group: Group | undefined, details: boolean): RenderedReport {
    return this.memo(details ? `${path} details` : path, (version, now) => {
      const { status, checks } = this.engine.status(group);
      const output = group === 'ready' && this.engine.isShuttingDown ? 'shutting down' : rotationOutput(this.engine, group);
      return renderReport(buildReport(status, checks, this.options.service, details, output), version, now);
    });
  }

  history(details: boolean): Buffer {
    return this.memo(`${HISTORY_ROUTE} ${details}`, () => historyBody(this.engine, details));
  }

  page(details: boolean, refreshSeconds: number): Buffer {
    return withRefresh(this.memo(`${UI_ROUTE} ${details}`, () => statusPage(this.engine, this.options, details)), refreshSeconds);
  }

  /** A body per key, rebuilt when the engine changes or after REPORT_TTL_MS: a caller repeating a request costs one build per interval. */
  private memo<T>(key: string, build: (version: number, now: number) => T): T {
    const version = this.engine.version;
    const now = performance.now();
    const cached = this.cache.get(key);
    if (cached && cached.version === version && now - cached.builtAt < REPORT_TTL_MS) return cached.value as T;
    const value = build(version, now);
    this.cache.set(key, { version, builtAt: now, value });
    return value;
  }
}

/** Recent results of every check (src/health/history.ts), under the same disclosure as /health. */
export const HISTORY_ROUTE = '/health/history';

/** The status page (./status-page.ts), under the same disclosure as /health. */
export const UI_ROUTE = '/health/ui';

/** An operator's switch (POST, with the token): out of rotation for a time, or back in it. */
export const ROTATION_ROUTES = ['/health/out-of-service', '/health/in-service'];
/** The longest an instance may be taken out of rotation at once. */
const MAX_OUT_OF_SERVICE_MS = 24 * 3_600_000;

/** What answers one request: the engine, the cached bodies, the options, the caller's request. */
interface Asked {
  engine: HealthEngine;
  reports: Reports;
  options: ProbeServerOptions;
  req: IncomingMessage;
  res: ServerResponse;
  path: string;
}

const READ = ['GET', 'HEAD'];
const WRITE = ['POST'];

/** Every route of the probe server, one row each: the methods it takes and how it answers. */
const ANSWERS = new Map<string, { methods: readonly string[]; answer(asked: Asked): void }>([
  ...[...ROUTES.keys()].map((path) => [path, { methods: READ, answer: answerProbe }] as const),
  [HISTORY_ROUTE, { methods: READ, answer: (a) => send(a.res, a.req, 200, 'application/json', a.reports.history(detailsFor(a))) }],
  [UI_ROUTE, { methods: READ, answer: answerPage }],
  ...ROTATION_ROUTES.map((path) => [path, { methods: WRITE, answer: switchRotation }] as const),
]);

const NOT_FOUND = { type: 'application/json', body: Buffer.from(JSON.stringify({ error: 'Not Found', routes: [...ANSWERS.keys()] })) };

/** Answers one request; returns the route label for metrics (bounded cardinality). */
function handle(engine: HealthEngine, reports: Reports, options: ProbeServerOptions, req: IncomingMessage, res: ServerResponse): string {
  const { path, answered } = routeOf(req, res, (p) => ANSWERS.get(p)?.methods, NOT_FOUND);
  if (!answered) ANSWERS.get(path)!.answer({ engine, reports, options, req, res, path });
  return path;
}

function detailsFor({ options, req }: Asked): boolean {
  return showDetails(options.details, options.token, req.socket.remoteAddress, req.headers.authorization, req.headers.host);
}

/** A probe or /health: the cached report around its two live fields. */
function answerProbe(asked: Asked): void {
  const { reports, req, res, path } = asked;
  const rendered = reports.get(path, ROUTES.get(path), detailsFor(asked));
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
}

function answerPage(asked: Asked): void {
  const { reports, req, res } = asked;
  res.setHeader('content-security-policy', STATUS_PAGE_CSP);
  res.setHeader('x-frame-options', 'DENY');
  res.setHeader('referrer-policy', 'no-referrer');
  send(res, req, 200, 'text/html; charset=utf-8', reports.page(detailsFor(asked), refreshOf(req.url ?? '')));
}

/** Why readiness (and /health, which says so) fails while out of rotation. */
function rotationOutput(engine: HealthEngine, group: Group | undefined): string | undefined {
  const out = engine.outOfService;
  return out && (group === 'ready' || group === undefined) ? `out of service until ${out.until}: ${out.reason}` : undefined;
}

const json = (value: unknown) => Buffer.from(JSON.stringify(value));

/**
 * POST /health/out-of-service?for=10m&reason=... and POST /health/in-service, for holders of
 * VIGIL_TOKEN only (whatever VIGIL_DETAILS says): anyone else changes nothing.
 */
function switchRotation({ engine, options, req, res, path }: Asked): void {
  if (!options.token) return send(res, req, 403, 'application/json', json({ error: 'VIGIL_TOKEN is not set: the instance cannot be taken out of service' }));
  if (!holdsToken(options.token, req.headers.authorization)) {
    res.setHeader('www-authenticate', 'Bearer');
    return send(res, req, 401, 'application/json', json({ error: 'Authorization: Bearer <VIGIL_TOKEN> required' }));
  }
  if (path === '/health/in-service') return send(res, req, 200, 'application/json', json({ inService: true, wasOut: engine.returnToService() }));
  const query = new URL(req.url ?? '/', 'http://probe').searchParams;
  const durationMs = parseDuration(query.get('for') ?? '');
  if (durationMs === undefined || durationMs <= 0 || durationMs > MAX_OUT_OF_SERVICE_MS) {
    return send(res, req, 400, 'application/json', json({ error: 'for= needs a duration up to 24h: 90s, 10m, 2h, or ms' }));
  }
  // Redacted whole, then cut: a cut could hide a secret from the redaction.
  const reason = redact(query.get('reason') ?? '').slice(0, 200).trim() || 'taken out of service by an operator';
  send(res, req, 200, 'application/json', json({ inService: false, outOfService: engine.takeOutOfService(durationMs, reason) }));
}

const DURATION_UNITS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** `90s`, `10m`, `2h`, or a number of ms. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) return undefined;
  return Math.round(Number(match[1]) * DURATION_UNITS[(match[2] ?? 'ms') as keyof typeof DURATION_UNITS]);
}

/** `?refresh=N` seconds (1 to 300; 5 by default) between the page's reloads. */
function refreshOf(url: string): number {
  const asked = Number(new URL(url, 'http://probe').searchParams.get('refresh'));
  return Number.isInteger(asked) && asked >= 1 && asked <= 300 ? asked : 5;
}

function statusPage(engine: HealthEngine, options: ProbeServerOptions, details: boolean): string {
  const { status } = engine.status();
  const checks = details ? (redactDeep(engine.history()) as ReturnType<HealthEngine['history']>) : [];
  return renderStatusPage({ status, service: details ? options.service.serviceId : 'vigil', checks, outOfService: details ? engine.outOfService : undefined, details });
}

/** The history report; without details, the overall status alone, as /health gives it. */
function historyBody(engine: HealthEngine, details: boolean): Buffer {
  const { status } = engine.status();
  const time = new Date().toISOString();
  if (!details) return Buffer.from(JSON.stringify({ status, time }));
  const checks = Object.fromEntries(engine.history().map(({ name, ...rest }) => [name, rest]));
  // Outputs were redacted when they ran; the secrets known since are masked too.
  return Buffer.from(JSON.stringify({ status, time, checks: redactDeep(checks) }));
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
 * A loopback caller must also name the host by an address or `localhost` (see namesThisHost).
 */
export function showDetails(level: DetailLevel, token: string, remoteAddress: string | undefined, authorization: string | undefined, host?: string): boolean {
  switch (level) {
    case 'always':
      return true;
    case 'local':
      return (isLoopback(remoteAddress) && namesThisHost(host)) || holdsToken(token, authorization);
    case 'token':
      return holdsToken(token, authorization);
    default:
      return false;
  }
}

/**
 * A local caller's Host header: an IP address or `localhost` (absent: a client that sends none).
 * A browser tricked by DNS rebinding sends the attacker's name instead, so a page of theirs open
 * beside `kubectl port-forward` cannot read the details through it.
 */
function namesThisHost(host: string | undefined): boolean {
  if (host === undefined) return true;
  const name = host.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1').toLowerCase();
  return name === 'localhost' || isIP(name) !== 0;
}

/** `Authorization: Bearer <token>`, compared in constant time (of equal-length digests). */
function holdsToken(token: string, authorization: string | undefined): boolean {
  if (!token || !authorization) return false;
  const given = /^Bearer\s+(.+)$/i.exec(authorization)?.[1]?.trim();
  if (!given) return false;
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(given), digest(token));
}
