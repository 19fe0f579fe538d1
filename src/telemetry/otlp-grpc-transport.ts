import type { ExportResponse, IExporterTransport } from '@opentelemetry/otlp-exporter-base';
import type { ClientHttp2Session, SecureClientSessionOptions } from 'node:http2';
import { MAX_TIMER_MS } from '../config/kinds';
import { RETRYABLE_ERRNO, exportError, withRetries } from './otlp-transport';

/** gRPC status codes, for `error.type`; the retryable ones are the OTLP specification's. */
const STATUS_NAMES = ['OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED'];
const RETRYABLE = new Set([1, 4, 10, 11, 14, 15]);

/**
 * OTLP over gRPC: unary Export calls on one HTTP/2 session, which is unref'd, so that a collector
 * that is down or never answers can delay nothing but the export itself, never the host's exit.
 * (OpenTelemetry's gRPC exporter keeps a process alive after a silent collector's deadline.) The
 * bodies are OpenTelemetry's protobuf serialisation, framed as gRPC messages; the retries and
 * deadline are the HTTP transport's.
 */
export class UnrefGrpcTransport implements IExporterTransport {
  private session: ClientHttp2Session | undefined;
  /** Why a session failed (a refused connection, a certificate): what its calls report. */
  private readonly sessionErrors = new WeakMap<ClientHttp2Session, NodeJS.ErrnoException>();

  constructor(private readonly config: { url: string; path: string; headers: Record<string, string>; compression?: string; tls: SecureClientSessionOptions }) {}

  send(data: Uint8Array, timeoutMillis: number): Promise<ExportResponse> {
    const gzip = this.config.compression === 'gzip';
    const payload = gzip ? (require('node:zlib') as typeof import('node:zlib')).gzipSync(data) : data;
    // A gRPC message: a compressed flag, the length (big-endian), the bytes.
    const message = Buffer.alloc(5 + payload.byteLength);
    message[0] = gzip ? 1 : 0;
    message.writeUInt32BE(payload.byteLength, 1);
    message.set(payload, 5);
    return withRetries((remainingMs) => this.call(message, gzip, remainingMs), Date.now() + timeoutMillis);
  }

  /** Closes the session (used when the process is going away). */
  shutdown(): void {
    this.session?.destroy();
    this.session = undefined;
  }

  private connect(): ClientHttp2Session {
    if (this.session && !this.session.closed && !this.session.destroyed) return this.session;
    const http2 = require('node:http2') as typeof import('node:http2');
    const url = new URL(this.config.url);
    const session = http2.connect(url.origin, url.protocol === 'https:' ? this.config.tls : {});
    session.on('error', (error: NodeJS.ErrnoException) => this.sessionErrors.set(session, error));
    session.on('close', () => {
      if (this.session === session) this.session = undefined;
    });
    session.unref();
    this.session = session;
    return session;
  }

  private call(message: Buffer, gzip: boolean, timeoutMs: number): Promise<ExportResponse> {
    if (timeoutMs <= 0) return Promise.resolve({ status: 'failure', error: exportError('timeout', 'export deadline passed') });
    return new Promise<ExportResponse>((resolve) => {
      let settled = false;
      const finish = (response: ExportResponse) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(response);
      };
      const bounded = Math.min(timeoutMs, MAX_TIMER_MS);
      const timer = setTimeout(() => {
        stream?.close();
        finish({ status: 'failure', error: exportError('timeout', `no answer within ${bounded} ms`) });
      }, bounded);
      timer.unref();
      let stream: import('node:http2').ClientHttp2Stream | undefined;
      let session: ClientHttp2Session | undefined;
      try {
        session = this.connect();
        stream = session.request({
          ':method': 'POST', ':path': this.config.path, 'content-type': 'application/grpc', te: 'trailers',
          'grpc-timeout': `${bounded}m`, ...(gzip ? { 'grpc-encoding': 'gzip' } : {}), ...lowerCased(this.config.headers),
        });
      } catch (error) {
        // A header http2 refuses, a session that cannot start: not worth another attempt unless transient.
        const code = (error as NodeJS.ErrnoException).code ?? 'export_failed';
        const failed = exportError(code, (error as Error).message);
        finish(RETRYABLE_ERRNO.has(code) ? { status: 'retryable', error: failed } : { status: 'failure', error: failed });
        return;
      }
      const chunks: Buffer[] = [];
      let headers: Record<string, unknown> = {};
      stream.on('response', (received) => { headers = received; });
      stream.on('data', (chunk: Buffer) => { if (chunks.length < 64) chunks.push(chunk); });
      // A trailers-only answer carries its status in the headers.
      stream.on('trailers', (trailers) => { headers = { ...headers, ...trailers }; });
      let streamError: NodeJS.ErrnoException | undefined;
      stream.on('error', (error: NodeJS.ErrnoException) => { streamError = error; });
      stream.on('close', () => {
        if (headers[':status'] === undefined) {
          // No answer at all: the connection's own error decides, as over HTTP. A session that
          // fails to connect cancels its streams before it emits its error: the cancel holds it.
          const error = (session && this.sessionErrors.get(session)) ?? causeOf(streamError);
          const code = error?.code ?? 'UNAVAILABLE';
          const failed = exportError(code, error?.message ?? 'the collector closed the call without an answer');
          return finish(RETRYABLE_ERRNO.has(code) || !error ? { status: 'retryable', error: failed } : { status: 'failure', error: failed });
        }
        const status = Number(headers['grpc-status'] ?? NaN);
        if (status === 0) finish({ status: 'success', data: Buffer.concat(chunks).subarray(5) });
        else if (Number.isNaN(status)) finish({ status: 'failure', error: exportError('UNKNOWN', `the collector answered HTTP ${String(headers[':status'])} without a gRPC status`) });
        else {
          const error = exportError(STATUS_NAMES[status] ?? String(status), `gRPC ${STATUS_NAMES[status] ?? status} ${grpcMessage(headers['grpc-message'])}`.trim());
          finish(RETRYABLE.has(status) ? { status: 'retryable', error } : { status: 'failure', error });
        }
      });
      stream.end(message);
    });
  }
}

function causeOf(error: NodeJS.ErrnoException | undefined): NodeJS.ErrnoException | undefined {
  const cause = error?.code === 'ERR_HTTP2_STREAM_CANCEL' ? (error.cause as NodeJS.ErrnoException | undefined) : undefined;
  return typeof cause?.code === 'string' ? cause : error;
}

function lowerCased(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => name.toLowerCase() !== 'content-type').map(([name, value]) => [name.toLowerCase(), value]));
}

/** grpc-message is percent-encoded; a malformed one is shown as it came, never thrown. */
function grpcMessage(value: unknown): string {
  const text = String(value ?? '');
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
