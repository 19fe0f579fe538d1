import { MAX_TIMER_MS } from '../config/kinds';
import type { ExportResponse, IExporterTransport } from '@opentelemetry/otlp-exporter-base';
import type { Agent, ClientRequest } from 'node:http';

const RETRYABLE = new Set([429, 502, 503, 504]);
/** Connection errors worth another attempt; any other (a refused connection, a certificate) is not retried. */
export const RETRYABLE_ERRNO = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN']);
// OpenTelemetry JS's retrying transport: up to 5 retries after the first attempt, backoff from 1 s
// by ×1.5 to at most 5 s, ±20 % jitter, a collector's Retry-After instead when it sends one.
const MAX_RETRIES = 5;
const INITIAL_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 5000;
const BACKOFF_MULTIPLIER = 1.5;
const JITTER = 0.2;
const MAX_RESPONSE_BYTES = 64 * 1024;

/**
 * A failed export, named by its `error.type` (the semantic conventions' low-cardinality error
 * type, which OpenTelemetry's exporter metrics take from the error's name): the HTTP status code,
 * the connection's error code, or `timeout`.
 */
export function exportError(type: string, message: string): Error {
  const error = new Error(message);
  error.name = type;
  return error;
}

export class UnrefHttpTransport implements IExporterTransport {
  private readonly inFlight = new Set<ClientRequest>();

  private agent: Promise<Agent | false> | undefined;

  /**
   * `agentFactory` is OpenTelemetry's own, given the OTEL_EXPORTER_OTLP_[*_]CERTIFICATE /
   * CLIENT_CERTIFICATE / CLIENT_KEY files; it keeps connections alive between exports.
   */
  constructor(private readonly config: { url: string; headers: () => Promise<Record<string, string>>; compression?: string; agentFactory?: (protocol: string) => Agent | Promise<Agent> }) {}

  /** One export: the first attempt and up to 5 retries, all of it within `timeoutMillis`. */
  async send(data: Uint8Array, timeoutMillis: number): Promise<ExportResponse> {
    const deadline = Date.now() + timeoutMillis;
    const headers = await this.config.headers();
    const gzip = this.config.compression === 'gzip';
    // zlib is loaded only when compression is on.
    const body = gzip ? (require('node:zlib') as typeof import('node:zlib')).gzipSync(data) : data;
    const sendHeaders = { ...headers, ...(gzip ? { 'Content-Encoding': 'gzip' } : {}) };
    return withRetries((remainingMs) => this.post(body, sendHeaders, remainingMs), deadline);
  }

  /** Drops every request under way (used when the process is going away). */
  shutdown(): void {
    for (const req of this.inFlight) req.destroy();
    this.inFlight.clear();
  }

  private post(body: Uint8Array, headers: Record<string, string>, timeoutMs: number): Promise<ExportResponse> {
    if (timeoutMs <= 0) return Promise.resolve({ status: 'failure', error: exportError('timeout', 'export deadline passed') });
    const url = new URL(this.config.url);
    // Loaded at first export, after instrumentation is in place. The SDK's processors export in a
    // suppressed-tracing context, so this request makes no span of its own.
    const { request } = (url.protocol === 'https:' ? require('node:https') : require('node:http')) as typeof import('node:http');
    const agent = (this.agent ??= Promise.resolve<Agent | false>(this.config.agentFactory?.(url.protocol) ?? false).catch(() => false));
    return agent.then((agent) => new Promise<ExportResponse>((resolve) => {
      const req = request(url, { method: 'POST', headers: { ...headers, 'Content-Length': String(body.byteLength) }, agent }, (res) => {
        let size = 0;
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size <= MAX_RESPONSE_BYTES) chunks.push(chunk);
        });
        res.on('error', (error) => resolve({ status: 'failure', error: exportError((error as NodeJS.ErrnoException).code ?? 'export_failed', error.message) }));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve({ status: 'success', data: Buffer.concat(chunks) });
          else if (RETRYABLE.has(status)) resolve({ status: 'retryable', retryInMillis: retryAfter(res.headers['retry-after']), error: exportError(String(status), `HTTP ${status}`) });
          else resolve({ status: 'failure', error: exportError(String(status), `HTTP ${status} ${Buffer.concat(chunks).toString('utf8', 0, 200)}`.trim()) });
        });
      });
      this.inFlight.add(req);
      req.on('socket', (socket) => socket.unref());
      // What is left of the export's timeout (a setting bounded to what a timer holds), bounded again.
      const bounded = Math.min(timeoutMs, MAX_TIMER_MS);
      req.setTimeout(bounded, () => req.destroy(exportError('timeout', `no answer within ${bounded} ms`)));
      req.on('error', (error: NodeJS.ErrnoException) => {
        const typed = error.name === 'timeout' ? error : exportError(error.code ?? 'export_failed', error.message);
        resolve(RETRYABLE_ERRNO.has(error.code ?? '') ? { status: 'retryable', error: typed } : { status: 'failure', error: typed });
      });
      req.on('close', () => this.inFlight.delete(req));
      req.end(body);
    }));
  }
}

/** The first attempt and up to 5 retries of `attempt` (given the ms left), OpenTelemetry JS's schedule, until `deadline`. */
export async function withRetries(attempt: (remainingMs: number) => Promise<ExportResponse>, deadline: number): Promise<ExportResponse> {
  let response = await attempt(deadline - Date.now());
  let backoff = INITIAL_BACKOFF_MS;
  for (let retry = 1; retry <= MAX_RETRIES && response.status === 'retryable'; retry++) {
    const wait = response.retryInMillis ?? Math.min(backoff * (1 + (Math.random() * 2 - 1) * JITTER), MAX_BACKOFF_MS);
    backoff *= BACKOFF_MULTIPLIER;
    // A wait past the deadline is not begun: the export fails now, with the collector's answer.
    if (Date.now() + wait >= deadline) break;
    await sleepUnref(wait);
    response = await attempt(deadline - Date.now());
  }
  return response.status === 'retryable'
    ? { status: 'failure', error: response.error ?? exportError('export_failed', 'the collector kept answering with a retryable status') }
    : response;
}

function sleepUnref(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** Retry-After in seconds or as an HTTP date, in ms (OpenTelemetry's reading of it); absent or unreadable: undefined. */
function retryAfter(header: string | undefined): number | undefined {
  if (!header) return undefined;
  if (/^\s*\d+\s*$/.test(header)) return Number(header) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}
