import { ROOT_CONTEXT, SpanKind, context, diag, propagation, trace, type Attributes, type Context, type Span } from '@opentelemetry/api';
import { RPCType, hrTime, setRPCMetadata, type RPCMetadata } from '@opentelemetry/core';
import { HttpInstrumentation, type HttpInstrumentationConfig } from '@opentelemetry/instrumentation-http';
import { DEFAULT_QUERY_STRINGS_TO_REDACT } from '@opentelemetry/instrumentation-http/build/src/internal-types';
import { getIncomingRequestAttributes, getIncomingStableRequestMetricAttributesOnResponse } from '@opentelemetry/instrumentation-http/build/src/utils';
import { errorMonitor } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ATTR_ERROR_TYPE, ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_HTTP_ROUTE } from '@opentelemetry/semantic-conventions';
import { internAttributes } from './attribute-sets';
import { addOwnListener, bindOnListen, installBindOnListen } from './bind-on-listen';

// The server side of OpenTelemetry's HTTP instrumentation, made cheaper for spans that are not
// recorded. Its own path computes every span attribute before it knows whether the span is
// recorded; here the sampler decides first (the SDK's samplers do not read attributes) and a span
// that will not be recorded gets no attribute work at all: context propagation and the duration
// metric are all it costs. The handler runs in the request's context, and the request and the
// response are bound to it as OpenTelemetry binds them, but only when a listener is added after the
// handler starts (./bind-on-listen.ts), so that body events and response listeners see that context
// on every Node version (an enterWith on the connection was cheaper, but does not last past the
// callback under Node 24's AsyncContextFrame). The route is read from the request's own metadata.
// Span names, attributes, status, events and the metric are OpenTelemetry's own, computed by its
// functions: test/telemetry/http-server.test.ts compares both field by field.

interface Internals {
  _incomingRequestFunction(component: 'http' | 'https', original: (event: string, ...args: unknown[]) => boolean): (this: unknown, event: string, ...args: unknown[]) => boolean;
  _spanNotEnded: WeakSet<Span>;
  _recordServerDuration(durationMs: number, attributes: Attributes): void;
  _recordClientDuration(durationMs: number, attributes: Attributes): void;
  _onServerResponseFinish(request: IncomingMessage, response: ServerResponse, span: Span, metricAttributes: Attributes, startTime: ReturnType<typeof hrTime>): void;
  _onServerResponseError(span: Span, metricAttributes: Attributes, startTime: ReturnType<typeof hrTime>, error: Error): void;
  _headerCapture: { server: { captureRequestHeaders(get: (header: string) => unknown): Attributes; captureResponseHeaders(get: (header: string) => unknown): Attributes } };
}

/** Methods the semantic conventions know; any other is `_OTHER` (OpenTelemetry's normalizeMethod). */
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH', 'QUERY']);
function normalizeMethod(method: string | undefined): string {
  if (method == null) return 'GET';
  const upper = method.toUpperCase();
  return KNOWN_METHODS.has(upper) ? upper : '_OTHER';
}

export class VigilHttpInstrumentation extends HttpInstrumentation {
  constructor(config: HttpInstrumentationConfig = {}) {
    super(config);
    const self = this as unknown as Internals;
    // Every record of the duration metrics uses an interned attribute set, whose hash the SDK computes once.
    for (const record of ['_recordServerDuration', '_recordClientDuration'] as const) {
      const upstreamRecord = self[record].bind(this);
      self[record] = (durationMs, attributes) => {
        try {
          upstreamRecord(durationMs, internAttributes(attributes));
        } catch {
          // A metrics SDK that writes to the attributes it is given (a frozen set throws in strict code): as they came.
          upstreamRecord(durationMs, attributes);
        }
      };
    }
    const upstream = self._incomingRequestFunction.bind(this);
    self._incomingRequestFunction = (component, original) => {
      const traced = this.leanIncoming(component, original) as Listener;
      const plain = upstream(component, original);
      const instrumentation = this;
      // Other events, ignored requests (the probe server's) and a config with hooks keep OpenTelemetry's own path.
      return function incomingRequest(this: unknown, event: string, request: unknown) {
        const config = instrumentation.getConfig();
        const handle: Listener = event === 'request' && !hasHooks(config) && !ignored(config, request as IncomingMessage) ? traced : plain;
        // No array made a request: the arguments go on as they came.
        return handle.apply(this, arguments as unknown as unknown[]);
      };
    };
  }

  override enable(): void {
    super.enable();
    installBindOnListen();
  }

  private leanIncoming(component: 'http' | 'https', original: (event: string, ...args: unknown[]) => boolean) {
    const self = this as unknown as Internals;
    const instrumentation = this;
    return function incomingRequest(this: unknown, _event: string, request: IncomingMessage, response: ServerResponse): boolean {
      const config = instrumentation.getConfig();
      const method = request.method || 'GET';
      const ctx = propagation.extract(ROOT_CONTEXT, request.headers);
      // OpenTelemetry's _startHttpSpan without its requireParent branches (a config with them takes OpenTelemetry's path).
      const span = instrumentation.tracer.startSpan(method, { kind: SpanKind.SERVER }, ctx);
      const recording = span.isRecording();
      if (recording) {
        self._spanNotEnded.add(span);
        const attributes = getIncomingRequestAttributes(request, {
          component, enableSyntheticSourceDetection: config.enableSyntheticSourceDetection || false,
          redactedQueryParams: config.redactedQueryParamsServer ?? [...DEFAULT_QUERY_STRINGS_TO_REDACT],
        }, diag);
        Object.assign(attributes, self._headerCapture.server.captureRequestHeaders((header) => request.headers[header]));
        span.setAttributes(attributes);
      }
      // Request method and url.scheme are required; the protocol version when one was sent.
      const metricAttributes: Attributes = { 'http.request.method': normalizeMethod(request.method), 'url.scheme': component };
      if (request.httpVersion) metricAttributes['network.protocol.version'] = request.httpVersion;
      const metadata: RPCMetadata = { type: RPCType.HTTP, span };
      const active = setRPCMetadata(trace.setSpan(ctx, span), metadata);
      const flight: Flight = { self, request, response, span, recording, start: recording ? hrTime() : performance.now(), metricAttributes, metadata, active, ended: false };
      // A response emitted a second time (an application's own emit) keeps its first flight; the second gets listeners of its own.
      const first = (response as Flown)[FLIGHT] === undefined;
      if (first) (response as Flown)[FLIGHT] = flight;
      const args = arguments;
      return context.with(active, () => {
        bindOnListen(request, active);
        bindOnListen(response, active);
        addOwnListener(response, 'close', first ? onClose : () => closeFlight(flight));
        addOwnListener(response, errorMonitor, first ? onError : (error) => errorFlight(flight, error));
        try {
          return (original as Listener).apply(this, args as unknown as unknown[]);
        } catch (error) {
          // A falsy throw has no name to record: it goes on as it came, and the close records the request.
          if (error) fail(flight, error as Error);
          throw error;
        }
      });
    };
  }
}

/** What a request in flight needs when its response closes or fails: one object, found from the response, so that the listeners are shared functions. */
interface Flight {
  readonly self: Internals;
  readonly request: IncomingMessage;
  readonly response: ServerResponse;
  readonly span: Span;
  readonly recording: boolean;
  /** hrTime() for a recorded span (OpenTelemetry's own), performance.now() otherwise. */
  readonly start: ReturnType<typeof hrTime> | number;
  readonly metricAttributes: Attributes;
  readonly metadata: RPCMetadata;
  readonly active: Context;
  /** After 'error', no further events other than 'close' should be emitted (OpenTelemetry's hasError). */
  ended: boolean;
}
const FLIGHT = Symbol('vigil.http-server-flight');
/** Either path, called with what `emit` passed. */
type Listener = (this: unknown, ...args: any[]) => boolean;
type Flown = ServerResponse & { [FLIGHT]?: Flight };

function onClose(this: Flown): void {
  const flight = this[FLIGHT];
  if (flight !== undefined) closeFlight(flight);
}

function onError(this: Flown, error: unknown): void {
  const flight = this[FLIGHT];
  if (flight !== undefined) errorFlight(flight, error);
}

function closeFlight(flight: Flight): void {
  if (flight.ended) return;
  flight.ended = true;
  const { self, request, response, span, start, metricAttributes, metadata, active } = flight;
  // OpenTelemetry reads the route from the active context, as its bound listener would see it.
  if (flight.recording) context.with(active, () => self._onServerResponseFinish(request, response, span, metricAttributes, start as ReturnType<typeof hrTime>));
  else {
    Object.assign(metricAttributes, getIncomingStableRequestMetricAttributesOnResponse({ [ATTR_HTTP_RESPONSE_STATUS_CODE]: response.statusCode, [ATTR_HTTP_ROUTE]: metadata.route }));
    recordUnrecorded(flight);
  }
}

function errorFlight(flight: Flight, error: unknown): void {
  context.with(flight.active, () => fail(flight, error as Error));
}

function fail(flight: Flight, error: Error): void {
  if (flight.ended) return;
  flight.ended = true;
  if (flight.recording) flight.self._onServerResponseError(flight.span, flight.metricAttributes, flight.start as ReturnType<typeof hrTime>, error);
  else {
    flight.metricAttributes[ATTR_ERROR_TYPE] = error.name;
    recordUnrecorded(flight);
  }
}

/** A span that is not recorded has nothing to end: the duration metric, as _closeHttpSpan records it, is all. */
function recordUnrecorded(flight: Flight): void {
  flight.self._recordServerDuration(performance.now() - (flight.start as number), flight.metricAttributes);
}

/** The ignore hook as OpenTelemetry calls it: a hook that throws ignores nothing, and never reaches the host. */
function ignored(config: HttpInstrumentationConfig, request: IncomingMessage): boolean {
  try {
    return config.ignoreIncomingRequestHook?.(request) === true;
  } catch {
    return false;
  }
}

function hasHooks(config: HttpInstrumentationConfig): boolean {
  return Boolean(config.requestHook || config.responseHook || config.startIncomingSpanHook || config.applyCustomAttributesOnSpan || config.requireParentforIncomingSpans);
}
