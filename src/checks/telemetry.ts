import type { CheckDefinition } from '../health/types';
import type { CheckResult } from '../types';
import type { DeliveryReport } from '../telemetry/sdk';

/** What one signal's items are called in a sentence. */
const ITEMS = { traces: 'spans', metrics: 'metric data points', logs: 'log records' } as const;

/**
 * The agent's own telemetry pipeline: warns while the latest export of any OTLP signal failed,
 * naming the endpoint (redacted) and the error, with what was exported and dropped since start.
 * Registered in no probe group (it is in /health, not in live or ready): a collector that is
 * down is no reason to restart or unroute the service.
 */
export function createTelemetryCheck(delivery: () => DeliveryReport[]): CheckDefinition {
  return {
    name: 'telemetry',
    options: { componentType: 'component' },
    fn: (): CheckResult => {
      const reports = delivery();
      const details: Record<string, number | string> = {};
      for (const report of reports) {
        details[`${report.signal}.endpoint`] = report.endpoint;
        details[`${report.signal}.exported`] = report.exported;
        for (const [type, count] of Object.entries(report.dropped)) details[`${report.signal}.dropped.${type}`] = count;
      }
      const failing = reports.filter((report) => report.failing);
      if (failing.length === 0) return { status: 'pass', output: reports.length ? undefined : 'no OTLP exporter', details };
      return {
        status: 'warn',
        output: failing.map((report) => `exports of ${report.signal} to ${report.endpoint} are failing (${report.lastError ?? 'unknown error'}); ${dropped(report)} ${ITEMS[report.signal]} dropped since start`).join('; '),
        details,
      };
    },
  };
}

function dropped(report: DeliveryReport): number {
  return Object.values(report.dropped).reduce((sum, count) => sum + count, 0);
}
