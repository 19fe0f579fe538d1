import type { MeterProvider, TracerProvider } from '@opentelemetry/api';
import type { LoggerProvider } from '@opentelemetry/api-logs';
import { registerInstrumentations, type Instrumentation } from '@opentelemetry/instrumentation';
import { RuntimeNodeInstrumentation } from '@opentelemetry/instrumentation-runtime-node';
import type { IncomingMessage } from 'node:http';
import { isMainThread } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { Settings } from '../config/settings';
import { SECRET_QUERY_PARAMS } from '../util/redact';
import { errorMessage } from '../util/redact';
import { isEsmEntry, registerEsmLoader, watchFirstImports } from './esm-loader';
import { guardPatches } from './guard-patches';
import { VigilHttpInstrumentation } from './http-server';
import { watchFirstLoads, watchFirstUse, type FirstLoad } from './first-load';
import { admit, admitInstrumentation } from './require-gate';

interface Context {
  isProbeRequest(req: IncomingMessage): boolean;
}

/**
 * One row per instrumentation vigil ships, on by default. `packages`: the packages whose first
 * require or import brings the instrumentation in (they must be the module names it patches);
 * none: started with the agent. A `require()` in `create` is built into a file of its own
 * (scripts/build.mjs), so an instrumentation costs nothing until its package is used; a static
 * import is part of the agent. fs, dns and net are not shipped: they are noise in most traces.
 */
export const INSTRUMENTATIONS: readonly { name: string; packages: readonly string[]; esmSpecifiers?: readonly string[]; create(ctx: Context): Instrumentation }[] = [
  // Secret query parameters are masked in url.full of both client and server spans. The server
  // side takes a cheaper path to the same spans and metric (src/telemetry/http-server.ts).
  { name: 'http', packages: [], create: (ctx) => new VigilHttpInstrumentation({ ignoreIncomingRequestHook: ctx.isProbeRequest, redactedQueryParams: SECRET_QUERY_PARAMS, redactedQueryParamsServer: SECRET_QUERY_PARAMS }) },
  // Global fetch: Node loads its undici at the first use of `fetch` (see createInstrumentations).
  { name: 'undici', packages: ['undici'], create: () => new (require('@opentelemetry/instrumentation-undici') as typeof import('@opentelemetry/instrumentation-undici')).UndiciInstrumentation() },
  { name: 'express', packages: ['express'], create: () => new (require('@opentelemetry/instrumentation-express') as typeof import('@opentelemetry/instrumentation-express')).ExpressInstrumentation() },
  // Registers its plugin on every fastify instance through fastify's initialization channel.
  { name: 'fastify', packages: ['fastify'], create: () => new (require('@fastify/otel') as typeof import('@fastify/otel')).FastifyOtelInstrumentation({ registerOnInitialization: true }) },
  { name: 'koa', packages: ['koa'], create: () => new (require('@opentelemetry/instrumentation-koa') as typeof import('@opentelemetry/instrumentation-koa')).KoaInstrumentation() },
  { name: 'hapi', packages: ['@hapi/hapi'], create: () => new (require('@opentelemetry/instrumentation-hapi') as typeof import('@opentelemetry/instrumentation-hapi')).HapiInstrumentation() },
  { name: 'nestjs-core', packages: ['@nestjs/core'], create: () => new (require('@opentelemetry/instrumentation-nestjs-core') as typeof import('@opentelemetry/instrumentation-nestjs-core')).NestInstrumentation() },
  // Query parameters can hold personal data or secrets: statements only.
  { name: 'pg', packages: ['pg', 'pg-pool'], create: () => new (require('@opentelemetry/instrumentation-pg') as typeof import('@opentelemetry/instrumentation-pg')).PgInstrumentation({ enhancedDatabaseReporting: false }) },
  { name: 'mysql2', packages: ['mysql2'], esmSpecifiers: ['mysql2/promise'], create: () => new (require('@opentelemetry/instrumentation-mysql2') as typeof import('@opentelemetry/instrumentation-mysql2')).MySQL2Instrumentation() },
  { name: 'ioredis', packages: ['ioredis'], create: () => new (require('@opentelemetry/instrumentation-ioredis') as typeof import('@opentelemetry/instrumentation-ioredis')).IORedisInstrumentation() },
  // node-redis 4 and 5 (@redis/client) and 2-3 (redis).
  { name: 'redis', packages: ['redis', '@redis/client', '@node-redis/client'], create: () => new (require('@opentelemetry/instrumentation-redis') as typeof import('@opentelemetry/instrumentation-redis')).RedisInstrumentation() },
  { name: 'amqplib', packages: ['amqplib'], create: () => new (require('@opentelemetry/instrumentation-amqplib') as typeof import('@opentelemetry/instrumentation-amqplib')).AmqplibInstrumentation() },
  { name: 'grpc', packages: ['@grpc/grpc-js'], create: () => new (require('@opentelemetry/instrumentation-grpc') as typeof import('@opentelemetry/instrumentation-grpc')).GrpcInstrumentation() },
  { name: 'graphql', packages: ['graphql'], create: () => new (require('@opentelemetry/instrumentation-graphql') as typeof import('@opentelemetry/instrumentation-graphql')).GraphQLInstrumentation() },
  { name: 'pino', packages: ['pino'], create: () => new (require('@opentelemetry/instrumentation-pino') as typeof import('@opentelemetry/instrumentation-pino')).PinoInstrumentation() },
  { name: 'winston', packages: ['winston'], create: () => new (require('@opentelemetry/instrumentation-winston') as typeof import('@opentelemetry/instrumentation-winston')).WinstonInstrumentation() },
  { name: 'bunyan', packages: ['bunyan'], create: () => new (require('@opentelemetry/instrumentation-bunyan') as typeof import('@opentelemetry/instrumentation-bunyan')).BunyanInstrumentation() },
  // Patch no module; started a moment after the application (see DEFER_MS).
  { name: 'runtime-node', packages: [], create: () => new RuntimeNodeInstrumentation({ monitoringPrecision: 50 }) },
  // Network counters are left to the node's own exporter: per-process they repeat the host's
  // figures and cost a scan of interfaces.
  { name: 'host-metrics', packages: [], create: () => new (require('@opentelemetry/instrumentation-host-metrics') as typeof import('@opentelemetry/instrumentation-host-metrics')).HostMetricsInstrumentation({ metricGroups: ['system.cpu', 'system.memory', 'process.cpu', 'process.memory'] }) },
];

export const INSTRUMENTATION_NAMES = INSTRUMENTATIONS.map((row) => row.name);
const DEFERRED = new Set(['runtime-node', 'host-metrics']);
const DEFER_MS = 1_000;

/** Names from a comma-separated list, as OTEL_NODE_ENABLED_INSTRUMENTATIONS spells them. */
function names(list: string): string[] {
  return list.split(',').map((s) => s.trim().replace(/^@opentelemetry\/instrumentation-/, '')).filter(Boolean);
}

/** The rows chosen by OTEL_NODE_ENABLED_INSTRUMENTATIONS (narrows) and OTEL_NODE_DISABLED_INSTRUMENTATIONS (removes). */
export function chosenInstrumentations(env: Settings, logger: Logger): typeof INSTRUMENTATIONS {
  const enabled = env.OTEL_NODE_ENABLED_INSTRUMENTATIONS ? names(env.OTEL_NODE_ENABLED_INSTRUMENTATIONS) : INSTRUMENTATION_NAMES;
  const disabled = new Set(names(env.OTEL_NODE_DISABLED_INSTRUMENTATIONS));
  for (const [variable, list] of [['OTEL_NODE_ENABLED_INSTRUMENTATIONS', enabled], ['OTEL_NODE_DISABLED_INSTRUMENTATIONS', [...disabled]]] as const) {
    const unknown = list.filter((n) => !INSTRUMENTATION_NAMES.includes(n));
    if (unknown.length && env[variable]) {
      logger.warn({ code: 'VIGIL_ERR_CONFIG_VALUE', variable, unknown }, `${variable}: vigil ships the instrumentations ${INSTRUMENTATION_NAMES.join(', ')}; ignoring ${unknown.join(', ')}`);
    }
  }
  return INSTRUMENTATIONS.filter((row) => enabled.includes(row.name) && !disabled.has(row.name));
}

/**
 * Starts the chosen instrumentations: those that patch no package now (or, for runtime and
 * host metrics, a moment after start-up), each of the others just before the application first
 * loads a package it patches. An ES-module application gets the IITM loader for those packages.
 * `extraWatchers` see first loads too (the application's own @opentelemetry/api).
 */
export function createInstrumentations(
  env: Settings,
  providers: { tracerProvider: TracerProvider; meterProvider: MeterProvider; loggerProvider: LoggerProvider },
  isProbeRequest: (req: unknown) => boolean,
  logger: Logger,
  extraWatchers: ReadonlyMap<string, FirstLoad> = new Map(),
): { disable(): void } {
  const ctx: Context = { isProbeRequest };
  const failed = new Set<string>();
  const fail = (instrumentation: string, error: unknown, what: string) => {
    if (failed.has(instrumentation)) return;
    failed.add(instrumentation);
    logger.warn({ code: 'VIGIL_ERR_INSTRUMENTATION', instrumentation, err: errorMessage(error) }, `instrumentation ${instrumentation} ${what}; going on without it`);
  };
  guardPatches((instrumentation, error) => fail(instrumentation.replace(/^@opentelemetry\/instrumentation-/, ''), error, 'could not patch a module it loaded'));
  const started: (() => void)[] = [];
  let stopped = false;
  const start = (row: (typeof INSTRUMENTATIONS)[number]) => {
    if (stopped) return;
    try {
      // Enabled as it is constructed: its hooks are in place before the package loads.
      const instrumentation = row.create(ctx);
      admitInstrumentation(instrumentation);
      started.push(registerInstrumentations({ instrumentations: [instrumentation], ...providers }));
    } catch (error) {
      fail(row.name, error, 'could not be started');
    }
  };
  const chosen = chosenInstrumentations(env, logger);
  const onDemand = chosen.filter((row) => row.packages.length > 0);
  admit(onDemand.flatMap((row) => row.packages));
  // Not from a worker thread: each would start a loader thread of its own.
  if (onDemand.length && isMainThread && isEsmEntry(process.argv[1])) {
    try {
      registerEsmLoader([...onDemand.flatMap((row) => [...row.packages, ...(row.esmSpecifiers ?? [])]), ...extraWatchers.keys()]);
    } catch (error) {
      fail('esm-loader', error, 'could not be registered: ES modules are not traced');
    }
  }

  for (const row of chosen) if (row.packages.length === 0 && !DEFERRED.has(row.name)) start(row);
  // Core modules are patched when required: http now, so the agent's own requests are traced
  // even in a host that never requires it; https (costly: tls) when a check first needs it.
  require('node:http');

  const watchers = new Map(extraWatchers);
  for (const row of onDemand) {
    let done = false;
    const once: FirstLoad = { before: () => { if (!done) { done = true; start(row); } } };
    for (const pkg of row.packages) watchers.set(pkg, once);
  }
  const undici = watchers.get('undici');
  const fetchUse = undici ? watchFirstUse(globalThis, 'fetch', () => undici.before?.()) : undefined;
  const loads = watchFirstLoads(watchers);
  // A pure ES module package is seen only by the loader, once it has been evaluated.
  const imports = watchFirstImports((name, namespace, baseDir) => loads.imported(name, namespace, () => baseDir));

  setTimeout(() => {
    for (const row of chosen) if (DEFERRED.has(row.name)) start(row);
  }, DEFER_MS).unref();
  return {
    disable: () => {
      stopped = true;
      fetchUse?.stop();
      loads.stop();
      imports.stop();
      for (const off of started) off();
    },
  };
}
