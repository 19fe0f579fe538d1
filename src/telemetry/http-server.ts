import { ROOT_CONTEXT, SpanKind, diag, propagation, trace, type Attributes, type Span } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { RPCType, hrTime, setRPCMetadata } from '@opentelemetry/core';
import { HttpInstrumentation, type HttpInstrumentationConfig } from '@opentelemetry/instrumentation-http';
import { DEFAULT_QUERY_STRINGS_TO_REDACT } from '@opentelemetry/instrumentation-http/build/src/internal-types';
import { getIncomingRequestAttributes, getIncomingRequestAttributesOnResponse, getIncomingStableRequestMetricAttributesOnResponse } from '@opentelemetry/instrumentation-http/build/src/utils';
import { errorMonitor } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';

// The server side of OpenTelemetry's HTTP instrumentation, made cheap. Its own path computes
// every span attribute before it knows whether the span is recorded, and binds the request and
// the response (six patched methods each) to the request's context. Here:
// - a span that will not be recorded gets no attribute work at all: the duration metric's few
//   attributes are all it costs (the sampler decides first; the SDK's samplers do not read
//   attributes);
// - the request's context is attached to the socket's async execution (the context manager's
//   `attach`, AsyncLocalStorage's enterWith) instead of wrapping the handler and binding the
//   emitters: the handler, its continuations and the request's body events all run in it, as
//   with binding, for the price of one store. Until the next request on a keep-alive socket,
//   that socket's own events (a timeout, its close) see the last request's context; with
//   pipelined requests, the body events of one run in the next one's.
// Span names, attributes, status, events and the metric are OpenTelemetry's own, computed by its
// functions: test/telemetry/http-server.test.ts compares both field by field.

/** The agent's context manager, with the `attach` the server path needs (sdk.ts registers it). */
export const contextManager = new AsyncLocalStorageContextManager();

interface Internals {
  _incomingRequestFunction(component: 'http' | 'https', original: (event: string, ...args: unknown[]) => boolean): (this: unknown, event: string, ...args: unknown[]) => boolean;
  _startHttpSpan(name: string, options: { kind: SpanKind; attributes?: Attributes }, ctx: typeof ROOT_CONTEXT): Span;
  _onServerResponseFinish(request: IncomingMessage, response: ServerResponse, span: Span, metricAttributes: Attributes, startTime: ReturnType<typeof hrTime>): void;
  _onServerResponseError(span: Span, metricAttributes: Attributes, startTime: ReturnType<typeof hrTime>, error: Error): void;
  _closeHttpSpan(span: Span, kind: SpanKind, startTime: ReturnType<typeof hrTime>, metricAttributes: Attributes): void;
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
    const upstream = self._incomingRequestFunction.bind(this);
    self._incomingRequestFunction = (component, original) => {
      const traced = this.leanIncoming(component, original);
      const plain = upstream(component, original);
      // Other events, ignored requests (the probe server's) and a config with hooks keep OpenTelemetry's own path.
      return function incomingRequest(this: unknown, event: string, ...args: unknown[]) {
        const lean = event === 'request' && !hasHooks(config) && !config.ignoreIncomingRequestHook?.(args[0] as IncomingMessage);
        return (lean ? traced : plain).call(this, event, ...args);
      };
    };
  }

  private leanIncoming(component: 'http' | 'https', original: (event: string, ...args: unknown[]) => boolean) {
    const self = this as unknown as Internals;
    const config = this.getConfig();
    return function incomingRequest(this: unknown, event: string, ...args: unknown[]): boolean {
      const request = args[0] as IncomingMessage;
      const response = args[1] as ServerResponse;
      const method = request.method || 'GET';
      const ctx = propagation.extract(ROOT_CONTEXT, request.headers);
      const span = self._startHttpSpan(method, { kind: SpanKind.SERVER }, ctx);
      const startTime = hrTime();
      if (span.isRecording()) {
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
      contextManager.attach(setRPCMetadata(trace.setSpan(ctx, span), { type: RPCType.HTTP, span }));
      let hasError = false;
      response.on('close', () => {
        if (hasError) return;
        if (span.isRecording()) self._onServerResponseFinish(request, response, span, metricAttributes, startTime);
        else {
          Object.assign(metricAttributes, getIncomingStableRequestMetricAttributesOnResponse(getIncomingRequestAttributesOnResponse(response)));
          self._closeHttpSpan(span, SpanKind.SERVER, startTime, metricAttributes);
        }
      });
      response.on(errorMonitor, (error: Error) => {
        hasError = true;
        self._onServerResponseError(span, metricAttributes, startTime, error);
      });
      try {
        return original.call(this, event, ...args);
      } catch (error) {
        self._onServerResponseError(span, metricAttributes, startTime, error as Error);
        throw error;
      }
    };
  }
}

function hasHooks(config: HttpInstrumentationConfig): boolean {
  return Boolean(config.requestHook || config.responseHook || config.startIncomingSpanHook || config.applyCustomAttributesOnSpan || config.requireParentforIncomingSpans);
}
