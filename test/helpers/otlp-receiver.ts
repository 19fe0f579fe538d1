// A real OTLP/HTTP receiver for tests: it decodes what OpenTelemetry exporters send
// (protobuf or JSON, optionally gzipped) into plain records, and can be switched to
// misbehave the way a broken collector does.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { loadSync, type Type } from 'protobufjs';
import {
  DECODED_SHAPE,
  normalizeLogs,
  normalizeMetrics,
  normalizeTraces,
  type LogsRequest,
  type MetricsRequest,
  type ReceivedLog,
  type ReceivedMetric,
  type ReceivedSpan,
  type TraceRequest,
} from './otlp-normalize';

export type { ReceivedDataPoint, ReceivedLog, ReceivedMetric, ReceivedSpan } from './otlp-normalize';

/** ok: 200 with an empty export response; hang: read the body, never answer; unavailable: 503; throttled: 429. */
export type ReceiverMode = 'ok' | 'hang' | 'unavailable' | 'throttled';

export interface ReceivedRequest {
  path: string;
  contentType: string;
  encoding: 'protobuf' | 'json';
  /** Body size as it came over the wire, i.e. before gunzip. */
  bytes: number;
  headers: IncomingMessage['headers'];
}

export interface OtlpReceiverOptions {
  mode?: ReceiverMode;
  /** Serve HTTPS with this key and certificate (PEM); the URL is then https://. */
  tls?: { key: string; cert: string; ca?: string; requestCert?: boolean };
}

export interface OtlpReceiver {
  readonly url: string;
  readonly port: number;
  /** Read when a request arrives, so switching it affects the requests that follow. */
  mode: ReceiverMode;
  /** The Retry-After header of a 503 or 429 answer, when set. */
  retryAfter: string | undefined;
  /** ms to wait before any answer (a slow collector). */
  delayMs: number;
  /** Telemetry is recorded only from requests answered in 'ok' mode, like a collector would. */
  readonly spans: ReceivedSpan[];
  readonly metrics: ReceivedMetric[];
  readonly logs: ReceivedLog[];
  /** Every request with a supported content type, in every mode. */
  readonly requests: ReceivedRequest[];
  /** Why a request was refused (400, 404, 415) or broke off, prefixed with its path. */
  readonly errors: string[];
  waitFor<T>(pick: (receiver: OtlpReceiver) => T | undefined | false, timeoutMs?: number): Promise<T>;
  close(): Promise<void>;
}

export const OTLP_PROTO = loadSync(join(__dirname, 'otlp.proto'));
const root = OTLP_PROTO;

interface Route {
  type: Type;
  record(receiver: OtlpReceiver, request: object): void;
}

const ROUTES = new Map<string, Route>([
  [
    '/v1/traces',
    {
      type: root.lookupType('otlp.ExportTraceServiceRequest'),
      record: (r, request) => r.spans.push(...normalizeTraces(request as TraceRequest)),
    },
  ],
  [
    '/v1/metrics',
    {
      type: root.lookupType('otlp.ExportMetricsServiceRequest'),
      record: (r, request) => r.metrics.push(...normalizeMetrics(request as MetricsRequest)),
    },
  ],
  [
    '/v1/logs',
    {
      type: root.lookupType('otlp.ExportLogsServiceRequest'),
      record: (r, request) => r.logs.push(...normalizeLogs(request as LogsRequest)),
    },
  ],
]);

const ENCODINGS = new Map<string, ReceivedRequest['encoding']>([
  ['application/x-protobuf', 'protobuf'],
  ['application/json', 'json'],
]);

const POLL_MS = 10;

export async function startOtlpReceiver(options: OtlpReceiverOptions = {}): Promise<OtlpReceiver> {
  const sockets = new Set<Socket>();
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    handle(receiver, req, res).catch((error: unknown) => {
      // Only reached when the connection died mid-request (e.g. close() during a hang).
      receiver.errors.push(`${req.url}: ${String(error)}`);
    });
  };
  const server = options.tls ? createHttpsServer({ ...options.tls, rejectUnauthorized: Boolean(options.tls.requestCert) }, onRequest) : createServer(onRequest);
  server.on(options.tls ? 'secureConnection' : 'connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;

  const receiver: OtlpReceiver = {
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    mode: options.mode ?? 'ok',
    retryAfter: undefined,
    delayMs: 0,
    ...nothingReceived(),
    waitFor: (pick, timeoutMs = 10_000) => waitFor(receiver, pick, timeoutMs),
    // Idempotent, so a test can close explicitly and still register close() in t.after.
    close: () => (closing ??= closeServer()),
  };
  let closing: Promise<void> | undefined;
  const closeServer = () =>
    new Promise<void>((resolve, reject) => {
      server.close((error) => (error ? reject(error) : resolve()));
      // server.close() alone would wait for keep-alive and hanging connections to end.
      for (const socket of sockets) socket.destroy();
    });
  return receiver;
}

async function handle(receiver: OtlpReceiver, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const mode = receiver.mode;
  const path = new URL(req.url ?? '/', receiver.url).pathname;
  const contentType = req.headers['content-type'] ?? '';
  const encoding = ENCODINGS.get(contentType.split(';')[0].trim().toLowerCase());
  const route = ROUTES.get(path);
  const refuse = (status: number, why: string): void => {
    receiver.errors.push(`${path}: ${why}`);
    res.writeHead(status, { 'content-type': 'text/plain' }).end(why);
  };

  if (req.method !== 'POST' || !route) return refuse(404, `no OTLP route for ${req.method} ${path}`);
  const body = await readBody(req);
  if (!encoding) return refuse(415, `unsupported content-type ${JSON.stringify(contentType)}`);
  receiver.requests.push({ path, contentType, encoding, bytes: body.length, headers: req.headers });

  if (mode === 'hang') return;
  if (receiver.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, receiver.delayMs));
  if (mode === 'unavailable' || mode === 'throttled') {
    res.writeHead(mode === 'unavailable' ? 503 : 429, { 'content-type': 'text/plain', ...(receiver.retryAfter ? { 'retry-after': receiver.retryAfter } : {}) }).end(mode);
    return;
  }
  try {
    route.record(receiver, decode(route.type, encoding, inflate(body, req.headers['content-encoding'])));
  } catch (error) {
    return refuse(400, `undecodable ${encoding} body: ${error instanceof Error ? error.message : String(error)}`);
  }
  // An empty ExportXServiceResponse: zero bytes in protobuf, {} in JSON.
  res.writeHead(200, { 'content-type': contentType }).end(encoding === 'json' ? '{}' : undefined);
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function inflate(body: Buffer, contentEncoding: string | undefined): Buffer {
  const coding = (contentEncoding ?? 'identity').trim().toLowerCase();
  if (coding === 'gzip') return gunzipSync(body);
  if (coding === 'identity') return body;
  throw new Error(`unsupported content-encoding ${JSON.stringify(contentEncoding)}`);
}

function decode(type: Type, encoding: ReceivedRequest['encoding'], body: Buffer): object {
  if (encoding === 'protobuf') return type.toObject(type.decode(body), DECODED_SHAPE);
  const json: unknown = JSON.parse(body.toString('utf8'));
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new Error('not a JSON object');
  // fromObject accepts what OTLP/JSON allows (int64 as string or number, enums as number or
  // name) and rejects wrong shapes; only the hex ids differ from protobuf's JSON mapping.
  return type.toObject(type.fromObject(hexIdsToBytes(json) as object), DECODED_SHAPE);
}

// OTLP/JSON writes trace and span ids as hex, where the protobuf JSON mapping expects base64.
const ID_KEYS = new Set(['traceId', 'spanId', 'parentSpanId']);

function hexIdsToBytes(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(hexIdsToBytes);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, v]) => [key, ID_KEYS.has(key) && typeof v === 'string' ? hexToBytes(key, v) : hexIdsToBytes(v)]),
  );
}

function hexToBytes(key: string, hex: string): Buffer {
  if (!/^(?:[0-9a-f]{2})*$/i.test(hex)) throw new Error(`${key} is not hex: ${JSON.stringify(hex)}`);
  return Buffer.from(hex, 'hex');
}

/** What both receivers (this one and ./otlp-grpc-receiver.ts) have received. */
export interface Received {
  readonly spans: ReceivedSpan[];
  readonly metrics: ReceivedMetric[];
  readonly logs: ReceivedLog[];
  readonly requests: unknown[];
  readonly errors: string[];
}

/** The lists of a receiver that has received nothing yet. */
export function nothingReceived(): { spans: never[]; metrics: never[]; logs: never[]; requests: never[]; errors: never[] } {
  return { spans: [], metrics: [], logs: [], requests: [], errors: [] };
}

/** Polls `pick` until it returns something, or throws with what did arrive. */
export async function waitFor<R extends Received, T>(
  receiver: R,
  pick: (receiver: R) => T | undefined | false,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const picked = pick(receiver);
    if (picked) return picked;
    if (Date.now() >= deadline) throw new Error(`OTLP receiver: nothing matched within ${timeoutMs} ms; ${summary(receiver)}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

function summary(r: Received): string {
  return [
    `${r.requests.length} request(s)`,
    `spans [${r.spans.map((s) => s.name).join(', ')}]`,
    `metrics [${r.metrics.map((m) => m.name).join(', ')}]`,
    `logs [${r.logs.map((l) => JSON.stringify(l.body)).join(', ')}]`,
    `errors [${r.errors.join('; ')}]`,
  ].join('; ');
}
