import { ROOT_CONTEXT, TraceFlags, trace } from '@opentelemetry/api';
import { logs, SeverityNumber } from '@opentelemetry/api-logs';
import { AGENT_VERSION } from './resource';

/** pino's numeric levels as OpenTelemetry severities. */
const SEVERITY: Record<string, [SeverityNumber, string]> = {
  10: [SeverityNumber.TRACE, 'trace'], 20: [SeverityNumber.DEBUG, 'debug'], 30: [SeverityNumber.INFO, 'info'],
  40: [SeverityNumber.WARN, 'warn'], 50: [SeverityNumber.ERROR, 'error'], 60: [SeverityNumber.FATAL, 'fatal'],
};

/**
 * The agent's log lines also go out as OpenTelemetry log records, linked to the run they are
 * about. Always with an explicit context of the agent's own: a line written while an
 * application request is active (a client discovered at its first use, a diagnostic, an export
 * failure) must not take that request's trace.
 */
export function forwardToOpenTelemetry() {
  const otelLogger = logs.getLogger('vigil-agent', AGENT_VERSION);
  return (record: Record<string, unknown>) => {
    const { msg, level, time, trace_id: traceId, span_id: spanId, name: _name, pid: _pid, ...attributes } = record;
    const context = typeof traceId === 'string' && typeof spanId === 'string'
      ? trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId, traceFlags: TraceFlags.SAMPLED })
      : ROOT_CONTEXT;
    const [severityNumber, severityText] = SEVERITY[String(level)] ?? SEVERITY[30];
    otelLogger.emit({
      body: String(msg ?? ''),
      severityNumber,
      severityText,
      timestamp: typeof time === 'number' ? time : Date.now(),
      attributes: Object.fromEntries(Object.entries(attributes).map(([k, v]) => [k, typeof v === 'object' && v !== null ? JSON.stringify(v) : v as string])),
      context,
    });
  };
}

