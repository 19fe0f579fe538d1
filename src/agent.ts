import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
import type { Server } from 'node:http';
import { isMainThread } from 'node:worker_threads';
import type { Logger } from 'pino';
import { loadConfig, problemCode, type AgentConfig } from './config';
import { SETTINGS, type SettingName } from './config/settings';
import { createCheck } from './checks';
import { AppClientDiscovery, type AppClientCheck } from './checks/app-clients';
import { createTelemetryCheck } from './checks/telemetry';
import { HealthEngine } from './health/engine';
import type { RotationChange } from './health/engine';
import { assertValidCheck, resolveOptions } from './health/options';
import type { CheckFn, CheckOptions, CheckSnapshot, StateChange } from './types';
import { portOf, agentServers } from './probes/agent-server';
import { startProbeServer } from './probes/server';
import { createAgentLogger } from './telemetry/logger';
import { forwardToOpenTelemetry } from './telemetry/log-records';
import { createHealthMetrics, type HealthMetrics } from './telemetry/health-metrics';
import { applicationPackage, AGENT_VERSION, serviceName } from './telemetry/resource';
import type { PrometheusEndpoint } from './telemetry/prometheus-endpoint';
import { startTelemetry, withDeadline, type Telemetry } from './telemetry/sdk';
import { addKnownSecret, addSecretsFromHeaders, errorMessage } from './util/redact';

/** What the process-wide agent (src/global-agent.ts) is told of. */
export interface AgentHooks {
  /** Every change of a check's state (the public onStateChange listeners). */
  onStateChange?: (change: StateChange) => void;
}

const SIGNALS: NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];

/** The composition root: config -> logger -> telemetry -> health engine -> probes; and the lifecycle. */
export class Agent {
  readonly config: AgentConfig;
  readonly logger: Logger;
  readonly engine: HealthEngine;
  private telemetry: Telemetry | undefined;
  private metrics: HealthMetrics | undefined;
  private server: Server | undefined;
  private metricsServer: Server | undefined;
  private shuttingDown = false;
  private exitFlushed = false;
  private discovery: AppClientDiscovery | undefined;

  /**
   * Why this process traces only, leaving probes and checks to another: a worker thread (the
   * main thread serves), a process started by one whose agent serves, or a package manager's
   * script that is no server (`npm run build`, `npx tsc`: NODE_OPTIONS reaches them all).
   */
  private get tracesOnlyBecause(): string | undefined {
    if (!isMainThread) return 'a worker thread: the main thread serves probes';
    const parent = this.env.VIGIL_AGENT_PID;
    if (parent && parent !== String(process.pid)) return `started by process ${parent}, which serves probes`;
    const script = this.env.npm_lifecycle_event;
    if (script && !this.config.env.VIGIL_SERVE_SCRIPTS.some((pattern) => matchesScript(pattern, script))) {
      return `package script "${script}" is not one of VIGIL_SERVE_SCRIPTS`;
    }
    return undefined;
  }

  private get tracesOnly(): boolean {
    return this.tracesOnlyBecause !== undefined;
  }

  constructor(private readonly env: NodeJS.ProcessEnv = process.env, private readonly hooks: AgentHooks = {}) {
    const { config, problems } = loadConfig(env);
    this.config = config;
    rememberSecrets(config);
    const agentLogger = createAgentLogger(config.logLevel);
    this.logger = agentLogger.logger;
    for (const problem of problems) {
      this.logger.warn({ code: problemCode(problem), variable: problem.variable }, problem.message);
    }
    this.engine = new HealthEngine({
      onRun: (check, result, durationMs) => this.metrics?.onRun(check, result, durationMs),
      onRunTraced: (check, traceId, informative) => this.telemetry?.onCheckRun(check, traceId, informative) ?? true,
      onChange: (change) => this.onChange(change),
      onRotation: (change) => this.onRotation(change),
      onStillFailing: (check, sinceMs, reason, traceId, spanId) => this.logger.warn({ check, failingForMs: Math.round(sinceMs), reason, ...runIds(traceId, spanId) }, `check ${check} is still failing`),
    }, { historySize: config.historySize });
    if (!config.env.OTEL_SDK_DISABLED) {
      try {
        this.telemetry = startTelemetry(config.env, this.logger, {
          isProbeRequest: (req) => agentServers.has((req as { socket?: { server?: Server } }).socket?.server as Server),
          serves: !this.tracesOnly,
        });
        // The process's health is the main thread's to report, once.
        if (!this.tracesOnly) {
          this.metrics = createHealthMetrics(this.telemetry.meter, this.engine);
          const check = createTelemetryCheck(this.telemetry.delivery);
          this.engine.register(check, resolveOptions({ ...check.options, critical: false, groups: [], initialDelayMs: 1000 }, config));
        }
        agentLogger.forwardTo(forwardToOpenTelemetry());
      } catch (error) {
        this.logger.error({ code: 'VIGIL_ERR_TELEMETRY_START', err: errorMessage(error) }, 'OpenTelemetry could not be started; going on without exporting telemetry');
      }
    }
    // Discovery always runs: the passwords of the application's own pools are secrets to mask in
    // every process; only the serving process, with VIGIL_AUTO_CHECKS, checks them too.
    const checksClients = config.autoChecks && !this.tracesOnly;
    this.discovery = new AppClientDiscovery((check) => {
      if (checksClients) this.adoptAppClient(check);
    });
    for (const spec of this.tracesOnly ? [] : config.checks) {
      try {
        const check = createCheck(spec);
        this.engine.register(check, { ...spec.options, componentType: check.options.componentType });
      } catch (error) {
        this.logger.error({ code: 'VIGIL_ERR_CHECK_DEFINITION', check: spec.name }, `check ${spec.name} could not be set up: ${errorMessage(error)}; going on without it`);
      }
    }
  }

  /** Starts checks and the probe server, and takes over SIGTERM / SIGINT and the exit flush. */
  async start(): Promise<void> {
    process.on('beforeExit', this.onBeforeExit);
    if (this.tracesOnly) {
      // NODE_OPTIONS reaches every node process the service starts (workers, build tools):
      // they are traced, but the probes and checks belong to the process that serves them.
      // A service started by a script of another name would have no probes: said where it shows.
      const script = isMainThread && !this.env.VIGIL_AGENT_PID && this.env.npm_lifecycle_event;
      this.logger[script ? 'info' : 'debug'](`tracing only, no probe server or checks: ${this.tracesOnlyBecause}`);
      return;
    }
    this.engine.start();
    for (const signal of SIGNALS) process.on(signal, this.onSignal);
    // This process serves the probes (or tries to): the node processes it starts do not.
    process.env.VIGIL_AGENT_PID = String(process.pid);
    try {
      this.server = await startProbeServer(this.engine, {
        port: this.config.port,
        host: this.config.host,
        details: this.config.details,
        token: this.config.token,
        service: serviceInfo(this.config),
        onRequest: (route, status, seconds) => this.metrics?.onProbe(route, status, seconds),
      });
      this.logger.info({ port: portOf(this.server), host: this.config.host, checks: this.engine.snapshot().map((c) => c.name), version: AGENT_VERSION }, `listening: probes on http://${this.config.host}:${portOf(this.server)}/health`);
    } catch (error) {
      this.logger.error({ code: 'VIGIL_ERR_PROBE_LISTEN', port: this.config.port, host: this.config.host }, `probe server could not listen on ${this.config.host}:${this.config.port}: ${errorMessage(error)}; going on without probes`);
    }
    if (this.telemetry?.prometheus) await this.servePrometheus(this.telemetry.prometheus);
  }

  /** OTEL_METRICS_EXPORTER=prometheus: /metrics on the specification's host and port. */
  private async servePrometheus(endpoint: PrometheusEndpoint): Promise<void> {
    const { OTEL_EXPORTER_PROMETHEUS_HOST: host, OTEL_EXPORTER_PROMETHEUS_PORT: port } = this.config.env;
    try {
      this.metricsServer = await endpoint.listen(host, port);
      this.logger.info({ port: portOf(this.metricsServer), host }, `listening: metrics on http://${host}:${portOf(this.metricsServer)}/metrics`);
    } catch (error) {
      this.logger.error({ code: 'VIGIL_ERR_METRICS_LISTEN', port, host }, `metrics endpoint could not listen on ${host}:${port}: ${errorMessage(error)}; going on without it`);
    }
  }

  /** Adds (or replaces) a check of the application's own. */
  registerCheck(name: string, fn: CheckFn, options: CheckOptions = {}): void {
    assertValidCheck(name, fn, options);
    this.engine.register({ name, fn, options }, resolveOptions(options, this.config));
  }

  /** A pool or client of the application's own, found at its first use: checked through itself. */
  private adoptAppClient(client: AppClientCheck): void {
    const base = `app-${client.kind}`;
    let name = base;
    for (let n = 2; this.engine.has(name); n++) name = `${base}-${n}`;
    const fn: CheckFn = (signal) => {
      if (!client.closed()) return client.fn(signal);
      // Closed by the application: the check goes with it.
      queueMicrotask(() => this.engine.unregister(name));
      return { status: 'pass', output: 'closed by the application' };
    };
    this.engine.register({ name, fn, options: {} }, resolveOptions({ groups: ['ready'], componentType: 'datastore' }, this.config));
    this.logger.info({ check: name }, `checking the application's own ${client.kind} ${client.kind === 'postgres' ? 'pool' : 'client'} as "${name}" (VIGIL_AUTO_CHECKS=false turns this off)`);
  }

  snapshot(): CheckSnapshot[] {
    return this.engine.snapshot();
  }

  /** Stops everything the agent runs; bounded by VIGIL_FLUSH_TIMEOUT_MS. */
  async stop(): Promise<void> {
    this.discovery?.disable();
    for (const signal of SIGNALS) process.off(signal, this.onSignal);
    process.off('beforeExit', this.onBeforeExit);
    this.engine.beginShutdown();
    await this.engine.stop();
    await Promise.all([this.server, this.metricsServer].map((server) => new Promise<void>((resolve) => {
      if (!server) return resolve();
      server.close(() => resolve());
      server.closeAllConnections();
    })));
    await this.telemetry?.shutdown(this.config.flushTimeoutMs);
  }

  private onChange(change: StateChange): void {
    const ids = runIds(change.traceId, change.spanId);
    // A reason that starts with a catalogue code (a missing driver) carries it as the line's code.
    const code = /^(VIGIL_ERR_[A-Z_]+)\b/.exec(change.reason ?? '')?.[1];
    const line = { check: change.check, from: change.from ?? null, to: change.to, reason: change.reason, ...ids, ...(code ? { code } : {}) };
    // The first result is news only when it is not a pass; every later change is news.
    if (change.to === 'fail') this.logger.warn(line, `check ${change.check} is failing: ${change.reason ?? 'no reason given'}`);
    else if (change.from !== undefined || change.to !== 'pass') this.logger.info(line, `check ${change.check} changed from ${change.from ?? 'unknown'} to ${change.to}`);
    this.hooks.onStateChange?.(change);
  }

  /** An operator's out-of-service switch: one line and one span each way. */
  private onRotation(change: RotationChange): void {
    const tracer = trace.getTracer('vigil-agent');
    if (change.inService) {
      tracer.startSpan('vigil.in_service', { attributes: { 'vigil.rotation.by': change.by } }, ROOT_CONTEXT).end();
      this.logger.info({ inService: true, by: change.by }, change.by === 'expired' ? 'back in service: the out-of-service time ran out' : 'back in service, by an operator');
      return;
    }
    const { until, reason } = change.outOfService;
    tracer.startSpan('vigil.out_of_service', { attributes: { 'vigil.rotation.until': until, 'vigil.rotation.reason': reason } }, ROOT_CONTEXT).end();
    this.logger.warn({ inService: false, until, reason }, `taken out of service by an operator until ${until}: ${reason}; readiness is 503`);
  }

  /** SIGTERM / SIGINT: readiness 503 at once, drain, stop checks, flush; then the signal's default unless the app handles it. */
  private readonly onSignal = (signal: NodeJS.Signals): void => {
    const appHandles = process.listenerCount(signal) - 1 - signalExitListeners() > 0;
    if (this.shuttingDown) {
      // A second signal: the user insists. Without a handler of the app's, go at once.
      if (!appHandles) this.reraise(signal);
      return;
    }
    this.shuttingDown = true;
    this.engine.beginShutdown();
    this.logger.info({ signal, phase: 'draining', delayMs: this.config.shutdownDelayMs }, `${signal} received: readiness is now 503`);
    void (async () => {
      const span = trace.getTracer('vigil-agent').startSpan('vigil.shutdown', { attributes: { 'process.signal': signal } }, ROOT_CONTEXT);
      if (this.config.shutdownDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.config.shutdownDelayMs));
      await withDeadline(this.engine.stop(), this.config.flushTimeoutMs);
      this.logger.info({ signal, phase: 'flushing' }, 'checks stopped; flushing telemetry');
      span.end();
      const flushed = await this.telemetry?.flush(this.config.flushTimeoutMs) ?? true;
      this.logger.info({ signal, phase: 'done', flushed, exit: appHandles ? 'left to the application' : 'default' }, appHandles ? 'shutdown done; the application decides when to exit' : `shutdown done; exiting on ${signal}`);
      if (!appHandles) this.reraise(signal);
    })().catch(() => {
      if (!appHandles) this.reraise(signal);
    });
  };

  private reraise(signal: NodeJS.Signals): void {
    for (const s of SIGNALS) process.off(s, this.onSignal);
    process.kill(process.pid, signal);
  }

  /** The event loop ran dry: send what is buffered, within the flush deadline, and let the process end. */
  private readonly onBeforeExit = (): void => {
    if (this.exitFlushed || !this.telemetry) return;
    this.exitFlushed = true;
    const deadline = this.config.flushTimeoutMs;
    void this.telemetry.flush(deadline).then((flushed) => {
      if (!flushed) this.logger.warn({ code: 'VIGIL_ERR_EXPORT', flushTimeoutMs: deadline }, `telemetry was not delivered within ${deadline} ms of exit (VIGIL_FLUSH_TIMEOUT_MS); exiting without waiting longer`);
    });
  };
}

/**
 * Listeners of the signal-exit library (used by execa, ora, write-file-atomic, ...). They are not
 * the application handling the signal: signal-exit re-raises it itself once it is the only
 * listener left, which is what happens when the agent removes its own and re-raises.
 */
function signalExitListeners(): number {
  const v4 = (globalThis as Record<symbol, { count?: unknown } | undefined>)[Symbol.for('signal-exit emitter')]?.count;
  const v3 = (process as unknown as { __signal_exit_emitter__?: { count?: unknown } }).__signal_exit_emitter__?.count;
  return (typeof v4 === 'number' ? v4 : 0) + (typeof v3 === 'number' ? v3 : 0);
}

/** The secrets the settings hold (the token, every OTLP header value): masked wherever they appear from now on. */
function rememberSecrets(config: AgentConfig): void {
  for (const [name, setting] of Object.entries(SETTINGS) as [SettingName, { secret?: boolean }][]) {
    const value = config.env[name];
    if (!setting.secret) continue;
    if (typeof value === 'string') addKnownSecret(value);
    else addSecretsFromHeaders(value as Readonly<Record<string, string>>);
  }
}

/** `start*` is a prefix (`start:prod`, `start-prod`); any other pattern is a script name. */
function matchesScript(pattern: string, script: string): boolean {
  return pattern.endsWith('*') ? script.startsWith(pattern.slice(0, -1)) : script === pattern;
}

/** The run a line is about, as its `trace_id` / `span_id` (also the context of its log record). */
function runIds(traceId: string, spanId: string): { trace_id?: string; span_id?: string } {
  return traceId && !/^0+$/.test(traceId) ? { trace_id: traceId, span_id: spanId } : {};
}

function serviceInfo(config: AgentConfig) {
  const pkg = applicationPackage();
  return { serviceId: serviceName(config.env, pkg), version: pkg.version, description: pkg.description };
}
