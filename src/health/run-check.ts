import { ROOT_CONTEXT, SpanKind, SpanStatusCode, context, createContextKey, trace, type Span } from '@opentelemetry/api';
import { errorMessage, redact, REDACTION_WINDOW } from '../util/redact';
import { toResult } from './status';
import type { CheckDefinition } from './types';
import type { CheckResult } from '../types';

const tracer = () => trace.getTracer('vigil-agent');

/** Marks the context a check run's span starts in: how the check-trace sampler tells the agent's runs from any other span. */
export const CHECK_RUN = createContextKey('vigil-agent check run');

/** The outcome of one run, with the span that traced it. */
export interface RunOutcome {
  result: CheckResult;
  durationMs: number;
  traceId: string;
  spanId: string;
  /** The check function's promise when it was abandoned at its timeout and has not settled. */
  abandoned?: Promise<unknown>;
  /** False when the run's trace is not exported (src/telemetry/check-traces.ts). */
  traced?: boolean;
}

/**
 * Runs a check once as a root span `health.check <name>`: its own I/O (pg, ioredis, http client
 * spans) becomes children. The run is bounded by `timeoutMs`: the signal aborts, and a check that
 * ignores it is abandoned and reported fail; the caller keeps the promise so runs never overlap.
 */
export async function runCheck(check: CheckDefinition, timeoutMs: number): Promise<RunOutcome> {
  const span = tracer().startSpan(`health.check ${check.name}`, {
    kind: SpanKind.INTERNAL,
    attributes: { 'health.check.name': check.name },
  }, ROOT_CONTEXT.setValue(CHECK_RUN, true));
  const { traceId, spanId } = span.spanContext();
  const started = performance.now();
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const call = context.with(trace.setSpan(ROOT_CONTEXT, span), () => invoke(check, controller.signal));
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(resolve, timeoutMs, 'timeout');
    timer.unref();
  });
  let result: CheckResult;
  let abandoned: Promise<unknown> | undefined;
  try {
    const first = await Promise.race([call, timedOut]);
    if (first === 'timeout') {
      controller.abort(new DOMException(`timed out after ${timeoutMs} ms`, 'TimeoutError'));
      result = { status: 'fail', output: `timed out after ${timeoutMs} ms` };
      abandoned = call;
    } else {
      result = first;
    }
  } finally {
    clearTimeout(timer);
  }
  endSpan(span, result);
  return { result, durationMs: performance.now() - started, traceId, spanId, abandoned };
}

/** The longest output kept: every probe body, log line and span carries it. */
export const MAX_OUTPUT = 4_096;

/** Calls the check function; whatever it throws becomes a fail result with a redacted reason. */
async function invoke(check: CheckDefinition, signal: AbortSignal): Promise<CheckResult> {
  try {
    const result = toResult(await check.fn(signal));
    return result.output ? { ...result, output: cut(redact(result.output.slice(0, REDACTION_WINDOW)), result.output.length) } : result;
  } catch (error) {
    return { status: 'fail', output: cut(errorMessage(error)) };
  }
}

/** `text` within MAX_OUTPUT, saying how long the original was when it had to be cut. */
function cut(text: string, length = text.length): string {
  return length <= MAX_OUTPUT && text.length <= MAX_OUTPUT ? text : `${text.slice(0, MAX_OUTPUT)}… (cut from ${length} characters)`;
}

function endSpan(span: Span, result: CheckResult): void {
  span.setAttribute('health.check.status', result.status);
  if (typeof result.observedValue === 'number') span.setAttribute('health.check.observed_value', result.observedValue);
  if (result.observedUnit) span.setAttribute('health.check.observed_unit', result.observedUnit);
  if (result.status === 'fail') {
    const message = result.output ?? 'failed';
    // Recorded by hand rather than recordException: the stack and raw message could hold secrets.
    span.addEvent('exception', { 'exception.type': 'HealthCheckFailure', 'exception.message': message });
    span.setStatus({ code: SpanStatusCode.ERROR, message });
  } else if (result.output) {
    span.setAttribute('health.check.output', result.output);
  }
  span.end();
}
