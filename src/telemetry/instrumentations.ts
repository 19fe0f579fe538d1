import type { MeterProvider, TracerProvider } from '@opentelemetry/api';
import type { LoggerProvider } from '@opentelemetry/api-logs';
import { registerInstrumentations, type Instrumentation } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { PinoInstrumentation } from '@opentelemetry/instrumentation-pino';
import { RuntimeNodeInstrumentation } from '@opentelemetry/instrumentation-runtime-node';
import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import type { EnvValues } from '../config/env';
import { SECRET_QUERY_PARAMS } from '../util/redact';

/** Instrumentations on by default. fs, dns and net are left out: they are noise in most traces. */
export const DEFAULT_INSTRUMENTATIONS = ['http', 'pg', 'ioredis', 'pino', 'runtime-node', 'host-metrics'] as const;
type Name = (typeof DEFAULT_INSTRUMENTATIONS)[number];

function build(name: Name, isProbeRequest: (req: IncomingMessage) => boolean): Instrumentation {
  switch (name) {
    case 'http':
      // Secret query parameters are masked in url.full of both client and server spans.
      return new HttpInstrumentation({ ignoreIncomingRequestHook: isProbeRequest, redactedQueryParams: SECRET_QUERY_PARAMS, redactedQueryParamsServer: SECRET_QUERY_PARAMS });
    case 'pg':
      // Query parameters can hold personal data or secrets: statements only.
      return new PgInstrumentation({ enhancedDatabaseReporting: false });
    case 'ioredis':
      return new IORedisInstrumentation();
    case 'pino':
      return new PinoInstrumentation();
    case 'runtime-node':
      return new RuntimeNodeInstrumentation({ monitoringPrecision: 50 });
    case 'host-metrics': {
      // Loaded on demand (it pulls in systeminformation). Network counters are left to the node's
      // own exporter: per-process they repeat the host's figures and cost a scan of interfaces.
      const { HostMetricsInstrumentation } = require('@opentelemetry/instrumentation-host-metrics') as typeof import('@opentelemetry/instrumentation-host-metrics');
      return new HostMetricsInstrumentation({ metricGroups: ['system.cpu', 'system.memory', 'process.cpu', 'process.memory'] });
    }
  }
}

/** Instrumentations that patch no module and can wait until the application has started. */
const DEFERRED: ReadonlySet<Name> = new Set(['host-metrics', 'runtime-node']);
const DEFER_MS = 1_000;

/** Names from a comma-separated list, as OTEL_NODE_ENABLED_INSTRUMENTATIONS spells them. */
function names(list: string): string[] {
  return list.split(',').map((s) => s.trim().replace(/^@opentelemetry\/instrumentation-/, '')).filter(Boolean);
}

/**
 * Registers the chosen instrumentations: OTEL_NODE_ENABLED_INSTRUMENTATIONS narrows the default
 * set, OTEL_NODE_DISABLED_INSTRUMENTATIONS removes from it. A name vigil does not ship is named in a log line.
 */
export function createInstrumentations(
  env: EnvValues,
  providers: { tracerProvider: TracerProvider; meterProvider: MeterProvider; loggerProvider: LoggerProvider },
  isProbeRequest: (req: unknown) => boolean,
  logger: Logger,
): { disable(): void } {
  const enabled = env.OTEL_NODE_ENABLED_INSTRUMENTATIONS ? names(env.OTEL_NODE_ENABLED_INSTRUMENTATIONS) : [...DEFAULT_INSTRUMENTATIONS];
  const disabled = new Set(names(env.OTEL_NODE_DISABLED_INSTRUMENTATIONS));
  const known = (n: string) => (DEFAULT_INSTRUMENTATIONS as readonly string[]).includes(n);
  for (const [variable, list] of [['OTEL_NODE_ENABLED_INSTRUMENTATIONS', enabled], ['OTEL_NODE_DISABLED_INSTRUMENTATIONS', [...disabled]]] as const) {
    const unknown = list.filter((n) => !known(n));
    if (unknown.length && env[variable]) {
      logger.warn({ code: 'VIGIL_ERR_CONFIG_VALUE', variable, unknown }, `${variable}: vigil ships the instrumentations ${DEFAULT_INSTRUMENTATIONS.join(', ')}; ignoring ${unknown.join(', ')}`);
    }
  }
  const chosen = DEFAULT_INSTRUMENTATIONS.filter((n) => enabled.includes(n) && !disabled.has(n));
  const unregister = [registerInstrumentations({ instrumentations: chosen.filter((n) => !DEFERRED.has(n)).map((n) => build(n, isProbeRequest)), ...providers })];
  // Core modules are patched when required: http now, so the agent's own requests are traced
  // even in a host that never requires it; https (costly: tls) when a check first needs it.
  require('node:http');
  // A moment after start-up, so that the application's own start (and first request) comes first.
  setTimeout(() => {
    try {
      unregister.push(registerInstrumentations({ instrumentations: chosen.filter((n) => DEFERRED.has(n)).map((n) => build(n, isProbeRequest)), ...providers }));
    } catch (error) {
      logger.warn({ reason: String(error) }, 'runtime and host metrics could not be started');
    }
  }, DEFER_MS).unref();
  return { disable: () => unregister.forEach((off) => off()) };
}
