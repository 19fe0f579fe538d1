import { ROOT_CONTEXT, context } from '@opentelemetry/api';
import { InstrumentationBase, InstrumentationNodeModuleDefinition } from '@opentelemetry/instrumentation';
import { once, type EventEmitter } from 'node:events';
import type { CheckFn, CheckResult } from '../types';
import { admitInstrumentation } from '../telemetry/require-gate';
import { AGENT_VERSION } from '../telemetry/resource';
import { addPassword, addSecretsFromUrl } from '../util/redact';
import { INTERNAL_CLIENT_NAME } from './load-driver';
import { bounded, timed } from './run-bounded';

// Zero-configuration checks: when the application uses a pg Pool or an ioredis client, a
// readiness check pings through that very client, so an exhausted pool or a client stuck
// reconnecting shows in /health/ready even when the server itself is fine. The trade-off: the
// ping takes a pool slot (or a place in the client's queue) once per interval.

export type ClientKind = 'postgres' | 'redis';

/** What a discovered client becomes: a check function and a way to tell it is gone. */
export interface AppClientCheck {
  kind: ClientKind;
  fn: CheckFn;
  /** True once the application has closed the client (or it was garbage-collected). */
  closed(): boolean;
}

/** The part of a pg-pool Pool the check uses. */
interface PgPool {
  query(text: string): Promise<unknown>;
  ending?: boolean;
  ended?: boolean;
  totalCount?: number;
  idleCount?: number;
  waitingCount?: number;
  /** pg-pool keeps the options it was built with: the client's credentials among them. */
  options?: { password?: unknown; user?: unknown; connectionString?: unknown };
}

/** The part of an ioredis client the check uses. */
interface RedisClient {
  ping(): Promise<string>;
  status?: string;
  options?: { connectionName?: string; password?: unknown; username?: unknown; sentinelPassword?: unknown };
}

/**
 * The credentials a discovered client was built with become known secrets before its first
 * connection: a server error that echoes them (and the check's reason, the spans and logs that
 * carry it) is masked. A password given as a function (pg) is the application's to keep.
 */
function rememberPgSecrets(pool: PgPool): void {
  const options = pool.options ?? {};
  if (typeof options.connectionString === 'string') addSecretsFromUrl(options.connectionString);
  const user = options.user ?? process.env.PGUSER;
  addPassword(options.password, user);
  // pg falls back to PGPASSWORD when the pool is given none.
  if (options.password === undefined) addPassword(process.env.PGPASSWORD, user);
}

function rememberRedisSecrets(client: RedisClient): void {
  const options = client.options ?? {};
  addPassword(options.password, options.username);
  addPassword(options.sentinelPassword);
}


function postgresCheck(ref: WeakRef<PgPool>): AppClientCheck {
  const fn: CheckFn = async (signal) => {
    const pool = ref.deref();
    if (!pool) return { status: 'fail', output: 'pool no longer exists' };
    const { ms } = await timed(() => bounded(signal, 'a connection from the application pool', () => undefined, () => pool.query('SELECT 1')));
    const waiting = pool.waitingCount ?? 0;
    const result: CheckResult = {
      status: waiting > 0 ? 'warn' : 'pass',
      observedValue: ms,
      observedUnit: 'ms',
      componentType: 'datastore',
      details: { total: pool.totalCount ?? 0, idle: pool.idleCount ?? 0, waiting },
    };
    if (waiting > 0) result.output = `application pool saturated: ${waiting} request(s) waiting for a connection`;
    return result;
  };
  return { kind: 'postgres', fn, closed: () => { const pool = ref.deref(); return !pool || Boolean(pool.ending || pool.ended); } };
}

function redisCheck(ref: WeakRef<RedisClient>): AppClientCheck {
  const fn: CheckFn = async (signal) => {
    const client = ref.deref();
    if (!client) return { status: 'fail', output: 'client no longer exists' };
    // A command sent before the client is ready is queued, and sent again by ioredis once it is,
    // from the connection's context (often the application request that opened it): wait here.
    const ready = async () => {
      if (client.status !== 'ready') await once(client as unknown as EventEmitter, 'ready', { signal });
      return client.ping();
    };
    const { ms } = await timed(() => bounded(signal, "the application's Redis client", () => undefined, ready));
    return { status: 'pass', observedValue: ms, observedUnit: 'ms', componentType: 'datastore', details: { status: client.status ?? 'unknown' } };
  };
  return { kind: 'redis', fn, closed: () => { const client = ref.deref(); return !client || client.status === 'end'; } };
}

/**
 * Calls `onCall` with the receiver before each call of a prototype method. Not shimmer's wrap:
 * OpenTelemetry's instrumentations unwrap any shimmer-wrapped method before wrapping their own,
 * so two shimmer wraps of `sendCommand` would silently drop the client spans.
 */
function tap(proto: Record<string, unknown> | undefined, method: string, onCall: (self: object) => void): void {
  const original = proto?.[method];
  if (typeof original !== 'function') return;
  proto![method] = function tapped(this: object, ...args: unknown[]) {
    onCall(this);
    return (original as (...a: unknown[]) => unknown).apply(this, args);
  };
}

type Patched = { prototype?: Record<string, unknown>; default?: { prototype?: Record<string, unknown> } };

/** A module's exports, whether they came through `require` or, as a namespace, through `import`. */
function exportsOf(module: Patched): { prototype?: Record<string, unknown> } {
  return (module as { [Symbol.toStringTag]?: string })[Symbol.toStringTag] === 'Module' ? module.default ?? {} : module;
}

/**
 * Learns of the application's clients at their first use (a pool's first connect, a client's
 * first command), through OpenTelemetry's module hooks, and hands each one over once.
 */
export class AppClientDiscovery extends InstrumentationBase {
  private readonly seen = new WeakSet<object>();

  constructor(private readonly onClient: (check: AppClientCheck) => void) {
    super('vigil-agent-client-discovery', AGENT_VERSION, {});
    admitInstrumentation(this);
  }

  protected init() {
    const adopt = (client: object, remember: () => void, make: () => AppClientCheck) => {
      if (!this.isEnabled() || this.seen.has(client)) return;
      this.seen.add(client);
      try {
        remember();
        // Found inside the application's call (often a request's): what the agent does with it
        // from here on (the check, its schedule, its log line) is the agent's own, not the request's.
        context.with(ROOT_CONTEXT, () => this.onClient(make()));
      } catch {
        // Discovery is a convenience: it never disturbs the application's call.
      }
    };
    return [
      new InstrumentationNodeModuleDefinition('pg-pool', ['>=2 <4'], (Pool: Patched) => {
        tap(exportsOf(Pool).prototype, 'connect', (pool) => adopt(pool, () => rememberPgSecrets(pool as PgPool), () => postgresCheck(new WeakRef(pool as PgPool))));
        return Pool;
      }),
      new InstrumentationNodeModuleDefinition('ioredis', ['>=4 <7'], (Redis: Patched) => {
        tap(exportsOf(Redis).prototype, 'sendCommand', (client) => {
          if ((client as RedisClient).options?.connectionName !== INTERNAL_CLIENT_NAME) adopt(client, () => rememberRedisSecrets(client as RedisClient), () => redisCheck(new WeakRef(client as RedisClient)));
        });
        return Redis;
      }),
    ];
  }
}
