import type { CheckSnapshot } from '../health/engine';
import type { Status } from '../health/types';

/** One entry of `checks` in the IETF health-check draft (draft-inadarei-api-health-check). */
export interface ReportEntry {
  status: Status;
  time?: string;
  observedValue?: number | string | boolean;
  observedUnit?: string;
  componentType?: string;
  output?: string;
  [extra: string]: unknown;
}

/** The `application/health+json` body. */
export interface HealthReport {
  status: Status;
  version?: string;
  releaseId?: string;
  serviceId?: string;
  description?: string;
  time: string;
  uptime: number;
  output?: string;
  checks?: Record<string, ReportEntry[]>;
}

export interface ServiceInfo {
  serviceId: string;
  version?: string;
  description?: string;
}

/**
 * Builds a report body. With `details` false only the overall status is told (and no reason):
 * the shape an unauthenticated caller sees under VIGIL_DETAILS=never or token.
 */
export function buildReport(status: Status, checks: CheckSnapshot[], service: ServiceInfo, details: boolean, output?: string): HealthReport {
  const report: HealthReport = {
    status,
    ...(service.version ? { version: service.version.split('.')[0], releaseId: service.version } : {}),
    serviceId: service.serviceId,
    ...(service.description ? { description: service.description } : {}),
    time: new Date().toISOString(),
    uptime: Math.round(process.uptime() * 1000) / 1000,
  };
  if (!details) return report;
  if (output) report.output = output;
  report.checks = Object.fromEntries(checks.map((c) => [c.name, [entryOf(c)]]));
  return report;
}

function entryOf(check: CheckSnapshot): ReportEntry {
  const entry: ReportEntry = { status: check.status };
  if (check.time) entry.time = check.time;
  if (check.observedValue !== undefined) entry.observedValue = check.observedValue;
  if (check.observedUnit) entry.observedUnit = check.observedUnit;
  if (check.componentType) entry.componentType = check.componentType;
  if (check.output) entry.output = check.output;
  entry.critical = check.critical;
  entry.groups = check.groups;
  if (check.durationMs !== undefined) entry.durationMs = check.durationMs;
  if (check.details) entry.details = check.details;
  if (check.traceId && !/^0+$/.test(check.traceId)) entry.traceId = check.traceId;
  return entry;
}
