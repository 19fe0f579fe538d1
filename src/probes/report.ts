import type { CheckSnapshot } from '../types';
import type { Status } from '../types';
import { redactDeep } from '../util/redact';

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
 * Builds a report body. With `details` false only the overall status is told (no reason, no version):
 * the shape a caller without the token sees under VIGIL_DETAILS=never, token, or local from an
 * address other than loopback.
 */
export function buildReport(status: Status, checks: CheckSnapshot[], service: ServiceInfo, details: boolean, output?: string): HealthReport {
  const time = new Date().toISOString();
  const uptime = Math.round(process.uptime() * 1000) / 1000;
  // The status alone: the application's version and description are details too.
  if (!details) return { status, time, uptime };
  const report: HealthReport = {
    status,
    ...(service.version ? { version: service.version.split('.')[0], releaseId: service.version } : {}),
    serviceId: service.serviceId,
    ...(service.description ? { description: service.description } : {}),
    time,
    uptime,
  };
  if (output) report.output = output;
  // Check outputs were redacted when they ran; details and values come from check code (and the
  // secrets known since): everything a body shows passes the redaction once more.
  report.checks = redactDeep(Object.fromEntries(checks.map((c) => [c.name, [entryOf(c)]]))) as HealthReport['checks'];
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

/**
 * A report rendered to JSON once, around its two live fields: `time` (the time of the answer) and
 * `uptime` are written per request between `head` and `tail`, everything else is the engine's
 * state at `version`. Buffers: an answer writes them as they are, without encoding or copying.
 */
export interface RenderedReport {
  status: Status;
  /** The JSON up to and including `"time":`. */
  head: Buffer;
  /** The JSON after the uptime figure, closing brace included. */
  tail: Buffer;
  version: number;
  builtAt: number;
}

/** Renders `report` without its time and uptime, for `liveFields` to complete per request. */
export function renderReport(report: HealthReport, version: number, builtAt: number): RenderedReport {
  const { time: _time, uptime: _uptime, ...rest } = report;
  const before: Record<string, unknown> = {};
  const after: Record<string, unknown> = {};
  // The draft's order: identity first, then time and uptime, then output and checks.
  for (const [key, value] of Object.entries(rest)) (key === 'output' || key === 'checks' ? after : before)[key] = value;
  const inner = JSON.stringify(after).slice(1, -1);
  return {
    status: report.status,
    head: Buffer.from(`${JSON.stringify(before).slice(0, -1)},"time":`),
    tail: Buffer.from(`${inner ? `,${inner}` : ''}}`),
    version,
    builtAt,
  };
}

/** The JSON between `head` and `tail` at `now` (epoch ms): ASCII, so its length is its size in bytes. */
export function liveFields(now = Date.now(), uptimeSeconds = process.uptime()): string {
  return `"${new Date(now).toISOString()}","uptime":${Math.round(uptimeSeconds * 1000) / 1000}`;
}

/** The whole body of a rendered report at `now`. */
export function bodyOf(rendered: RenderedReport, now?: number, uptimeSeconds?: number): Buffer {
  return Buffer.concat([rendered.head, Buffer.from(liveFields(now, uptimeSeconds)), rendered.tail]);
}
