import { ROOT_CONTEXT, SpanKind, context, diag, propagation, trace, type Attributes, type Span } from '@opentelemetry/api';
import { RPCType, hrTime, setRPCMetadata, type RPCMetadata } from '@opentelemetry/core';
import { HttpInstrumentation, type HttpInstrumentationConfig } from '@opentelemetry/instrumentation-http';
import { DEFAULT_QUERY_STRINGS_TO_REDACT } from '@opentelemetry/instrumentation-http/build/src/internal-types';
import { getIncomingRequestAttributes, getIncomingStableRequestMetricAttributesOnResponse } from '@opentelemetry/instrumentation-http/build/src/utils';
import { errorMonitor } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_HTTP_ROUTE } from '@opentelemetry/semantic-conventions';
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
      const instrumentation = this;
      // Other events, ignored requests (the probe server's) and a config with hooks keep OpenTelemetry's own path.
      return function incomingRequest(this: unknown, event: string, ...args: unknown[]) {
        const config = instrumentation.getConfig();
        return (event === 'request' && !hasHooks(config) && !ignored(config, args[0] as IncomingMessage) ? traced : plain).call(this, event, ...args);
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
    return function incomingRequest(this: unknown, event: string, ...args: unknown[]): boolean {
      const config = instrumentation.getConfig();
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
      const metadata: RPCMetadata = { type: RPCType.HTTP, span };
      const active = setRPCMetadata(trace.setSpan(ctx, span), metadata);
      return context.with(active, () => {
        bindOnListen(request, active);
        bindOnListen(response, active);
        let hasError = false;
        addOwnListener(response, 'close', () => {
          if (hasError) return;
          // OpenTelemetry reads the route from the active context, as its bound listener would see it.
          if (span.isRecording()) context.with(active, () => self._onServerResponseFinish(request, response, span, metricAttributes, startTime));
          else {
            Object.assign(metricAttributes, getIncomingStableRequestMetricAttributesOnResponse({ [ATTR_HTTP_RESPONSE_STATUS_CODE]: response.statusCode, [ATTR_HTTP_ROUTE]: metadata.route }));
            self._closeHttpSpan(span, SpanKind.SERVER, startTime, metricAttributes);
          }
        });
        addOwnListener(response, errorMonitor, (error) => context.with(active, () => {
          hasError = true;
          self._onServerResponseError(span, metricAttributes, startTime, error as Error);
        }));
        try {
          return original.call(this, event, ...args);
        } catch (error) {
          self._onServerResponseError(span, metricAttributes, startTime, error as Error);
          throw error;
        }
      });
    };
  }
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
