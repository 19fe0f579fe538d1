import { MAX_TIMER_MS } from '../config/kinds';
import type { ExportResponse, IExporterTransport } from '@opentelemetry/otlp-exporter-base';
import type { Agent, ClientRequest } from 'node:http';

const RETRYABLE = new Set([429, 502, 503, 504]);
const MAX_ATTEMPTS = 3;
const MAX_RESPONSE_BYTES = 64 * 1024;

/**
 * OTLP/HTTP transport whose sockets and timers are all unref'd: a collector that is down or never
 * answers can delay nothing but the export itself, never the host's exit. The upstream transport's
 * retry timers are ref'd (a short job then waits ~10 s for a dead collector).
 */
export class UnrefHttpTransport implements IExporterTransport {
  private readonly inFlight = new Set<ClientRequest>();

  private agent: Promise<Agent | false> | undefined;

  /**
   * `agentFactory` is OpenTelemetry's own, given the OTEL_EXPORTER_OTLP_[*_]CERTIFICATE /
   * CLIENT_CERTIFICATE / CLIENT_KEY files; it keeps connections alive between exports.
   */
  constructor(private readonly config: { url: string; headers: () => Promise<Record<string, string>>; compression?: string; agentFactory?: (protocol: string) => Agent | Promise<Agent> }) {}

  async send(data: Uint8Array, timeoutMillis: number): Promise<ExportResponse> {
    const deadline = Date.now() + timeoutMillis;
    const headers = await this.config.headers();
    const gzip = this.config.compression === 'gzip';
    // zlib is loaded only when compression is on.
    const body = gzip ? (require('node:zlib') as typeof import('node:zlib')).gzipSync(data) : data;
    let response: ExportResponse = { status: 'failure', error: new Error('not sent') };
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      response = await this.post(body, { ...headers, ...(gzip ? { 'Content-Encoding': 'gzip' } : {}) }, deadline - Date.now());
      if (response.status !== 'retryable') return response;
      const wait = response.retryInMillis ?? 250 * 2 ** attempt;
      if (attempt === MAX_ATTEMPTS || Date.now() + wait >= deadline) break;
      await sleepUnref(wait);
    }
    return response.status === 'retryable'
      ? { status: 'failure', error: response.error ?? new Error('collector kept answering with a retryable status') }
      : response;
  }

  /** Drops every request under way (used when the process is going away). */
  shutdown(): void {
    for (const req of this.inFlight) req.destroy();
    this.inFlight.clear();
  }

  private post(body: Uint8Array, headers: Record<string, string>, timeoutMs: number): Promise<ExportResponse> {
    if (timeoutMs <= 0) return Promise.resolve({ status: 'failure', error: new Error('export deadline passed') });
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
        res.on('error', (error) => resolve({ status: 'failure', error }));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve({ status: 'success', data: Buffer.concat(chunks) });
          else if (RETRYABLE.has(status)) resolve({ status: 'retryable', retryInMillis: retryAfter(res.headers['retry-after']), error: new Error(`HTTP ${status}`) });
          else resolve({ status: 'failure', error: new Error(`HTTP ${status} ${Buffer.concat(chunks).toString('utf8', 0, 200)}`.trim()) });
        });
      });
      this.inFlight.add(req);
      req.on('socket', (socket) => socket.unref());
      // What is left of the export's timeout (a setting bounded to what a timer holds), bounded again.
      const bounded = Math.min(timeoutMs, MAX_TIMER_MS);
      req.setTimeout(bounded, () => req.destroy(new Error(`no answer within ${bounded} ms`)));
      req.on('error', (error: NodeJS.ErrnoException) => {
        const transient = ['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN'].includes(error.code ?? '');
        resolve(transient ? { status: 'retryable', error } : { status: 'failure', error });
      });
      req.on('close', () => this.inFlight.delete(req));
      req.end(body);
    }));
  }
}

function sleepUnref(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function retryAfter(header: string | undefined): number | undefined {
  const seconds = Number(header);
  return header && Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}
