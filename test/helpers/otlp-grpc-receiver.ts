// A real OTLP/gRPC receiver for tests: @grpc/grpc-js's server with the three OTLP services,
// decoding what arrives with the same proto and normalisation as the HTTP receiver; it can
// answer UNAVAILABLE or never answer, as a broken collector does.
import { Server, ServerCredentials, status, type Metadata, type ServiceDefinition, type handleUnaryCall } from '@grpc/grpc-js';
import type { Type } from 'protobufjs';
import { DECODED_SHAPE, normalizeLogs, normalizeMetrics, normalizeTraces, type LogsRequest, type MetricsRequest, type TraceRequest } from './otlp-normalize';
import { OTLP_PROTO, nothingReceived, waitFor, type Received } from './otlp-receiver';

export type GrpcReceiverMode = 'ok' | 'unavailable' | 'hang';

export interface OtlpGrpcReceiver extends Received {
  /** `http://127.0.0.1:<port>`, an OTEL_EXPORTER_OTLP_ENDPOINT for gRPC. */
  readonly url: string;
  mode: GrpcReceiverMode;
  readonly requests: { service: string; metadata: Metadata; bytes: number }[];
  waitFor<T>(pick: (receiver: OtlpGrpcReceiver) => T | undefined | false, timeoutMs?: number): Promise<T>;
  close(): Promise<void>;
}

const SERVICES = [
  { name: 'opentelemetry.proto.collector.trace.v1.TraceService', type: 'otlp.ExportTraceServiceRequest', record: (r: OtlpGrpcReceiver, m: object) => r.spans.push(...normalizeTraces(m as TraceRequest)) },
  { name: 'opentelemetry.proto.collector.metrics.v1.MetricsService', type: 'otlp.ExportMetricsServiceRequest', record: (r: OtlpGrpcReceiver, m: object) => r.metrics.push(...normalizeMetrics(m as MetricsRequest)) },
  { name: 'opentelemetry.proto.collector.logs.v1.LogsService', type: 'otlp.ExportLogsServiceRequest', record: (r: OtlpGrpcReceiver, m: object) => r.logs.push(...normalizeLogs(m as LogsRequest)) },
];

/** `tls`: serve with this key and certificate (PEM); the URL is then https://. */
export async function startOtlpGrpcReceiver(options: { tls?: { key: string; cert: string } } = {}): Promise<OtlpGrpcReceiver> {
  const server = new Server();
  const pending = new Set<() => void>();
  const receiver: OtlpGrpcReceiver = {
    url: '',
    mode: 'ok',
    ...nothingReceived(),
    waitFor: (pick, timeoutMs = 10_000) => waitFor(receiver, pick, timeoutMs),
    close: () => new Promise<void>((resolve) => {
      for (const release of pending) release();
      server.tryShutdown(() => resolve());
      server.forceShutdown();
    }),
  };
  for (const service of SERVICES) {
    const type: Type = OTLP_PROTO.lookupType(service.type);
    const definition: ServiceDefinition = {
      Export: {
        path: `/${service.name}/Export`, requestStream: false, responseStream: false,
        requestSerialize: (value: Buffer) => value, requestDeserialize: (bytes: Buffer) => bytes,
        // An empty ExportXServiceResponse is zero bytes.
        responseSerialize: () => Buffer.alloc(0), responseDeserialize: (bytes: Buffer) => bytes,
      },
    };
    const exportCall: handleUnaryCall<Buffer, Buffer> = (call, callback) => {
      receiver.requests.push({ service: service.name, metadata: call.metadata, bytes: call.request.length });
      if (receiver.mode === 'hang') {
        pending.add(() => callback({ code: status.CANCELLED, details: 'receiver closed' }));
        return;
      }
      if (receiver.mode === 'unavailable') return callback({ code: status.UNAVAILABLE, details: 'unavailable' });
      try {
        service.record(receiver, type.toObject(type.decode(call.request), DECODED_SHAPE));
      } catch (error) {
        receiver.errors.push(`${service.name}: undecodable: ${String(error)}`);
        return callback({ code: status.INVALID_ARGUMENT, details: 'undecodable' });
      }
      callback(null, Buffer.alloc(0));
    };
    server.addService(definition, { Export: exportCall });
  }
  const credentials = options.tls ? ServerCredentials.createSsl(null, [{ private_key: Buffer.from(options.tls.key), cert_chain: Buffer.from(options.tls.cert) }]) : ServerCredentials.createInsecure();
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', credentials, (error, bound) => (error ? reject(error) : resolve(bound))));
  (receiver as { url: string }).url = `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  return receiver;
}
