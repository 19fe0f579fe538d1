import type { Redis as RedisClient } from 'ioredis';
import type { CheckDefinition } from '../health/types';
import type { CheckOptions, CheckResult } from '../types';
import { addSecretsFromUrl } from '../util/redact';
import { INTERNAL_CLIENT_NAME, lazyDriver } from './load-driver';
import { connectionRun, hostOf, timed, unref } from './run-bounded';

export interface RedisCheckOptions extends CheckOptions {
  name?: string;
  /** `redis://[user]:password@host:port/db` or `rediss://...`; the password is masked in all output. */
  url: string;
}

// After a drop ioredis reconnects in the background a few times, with a growing but capped
// delay, then gives up. A failed run discards the client anyway and the next run connects
// afresh, so a long outage costs one connection attempt per run, never a reconnect loop.
const MAX_RECONNECTS = 3;
const MAX_RECONNECT_DELAY_MS = 1000;

/** Redis health: PING round trip on one long-lived connection that fails fast while Redis is down. */
export function createRedisCheck(config: RedisCheckOptions): CheckDefinition {
  const { name = 'redis', url, ...options } = config;
  addSecretsFromUrl(url);
  const ioredis = lazyDriver<typeof import('ioredis')>('ioredis');
  const target = `Redis at ${hostOf(url, 6379)}`;

  let client: RedisClient | undefined;
  // The first error since the connection was last good. ioredis rejects a failed connect with
  // a bare "Connection is closed." after having emitted the real cause (ECONNREFUSED, WRONGPASS).
  let cause: Error | undefined;

  function connection(): RedisClient {
    if (client) return client;
    cause = undefined;
    const fresh = new (ioredis().Redis)(url, {
      lazyConnect: true,
      // Commands issued while disconnected fail at once instead of waiting in a queue.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      // No connectTimeout / commandTimeout: ioredis arms ref'd timers for them, which would hold a
      // finished program up to their length. The run's AbortSignal bounds every run instead.
      connectTimeout: 0,
      connectionName: INTERNAL_CLIENT_NAME,
      // On disconnect ioredis arms a ref'd timer that only a later 'close' clears, so a socket
      // that had already closed would hold the process for its whole length. Nothing here
      // needs a graceful goodbye: destroy at once.
      disconnectTimeout: 0,
      retryStrategy: (attempt) => (attempt > MAX_RECONNECTS ? null : Math.min(100 * 2 ** attempt, MAX_RECONNECT_DELAY_MS)),
    });
    // Absorbing 'error' also keeps ioredis from printing "[ioredis] Unhandled error event".
    fresh.on('error', (error: Error) => {
      if (fresh === client) cause ??= error;
    });
    fresh.on('ready', () => {
      if (fresh === client) cause = undefined;
    });
    fresh.on('connect', () => unref(fresh.stream));
    // ioredis keeps no public handle on its reconnect timer; it must not hold the process either.
    fresh.on('reconnecting', () => unref((fresh as unknown as { reconnectTimeout?: unknown }).reconnectTimeout));
    client = fresh;
    return fresh;
  }

  // A client that failed a run is thrown away rather than nursed through ioredis' reconnect states.
  function drop(): void {
    const last = client;
    client = undefined;
    last?.disconnect();
  }

  async function ready(redis: RedisClient): Promise<void> {
    // Just after the server went away the status can still read 'ready' on an ended socket.
    if (redis.status === 'ready' && redis.stream.writable) return;
    if (redis.status !== 'wait' && redis.status !== 'end') {
      // A background reconnect is pending or under way: report the outage now rather than queue behind it.
      throw cause ?? new Error(`connection to ${target} lost`);
    }
    try {
      const connecting = redis.connect();
      // ioredis creates its socket a tick later and lets go of it only at 'connect', which a TLS
      // server that never finishes its handshake never gives: unref it as soon as it exists.
      setImmediate(() => unref(redis.stream));
      await connecting;
    } catch (error) {
      throw cause ?? error;
    }
  }

  async function run(): Promise<CheckResult> {
    const redis = connection();
    await ready(redis);
    const { ms } = await timed(() => redis.ping());
    // The role is a detail: a user without permission for INFO still gets a passing check.
    const info = await redis.info('replication').catch(() => '');
    const role = /^role:(\w+)/m.exec(info)?.[1];
    return {
      status: 'pass',
      observedValue: ms,
      observedUnit: 'ms',
      componentType: options.componentType ?? 'datastore',
      ...(role ? { details: { role } } : {}),
    };
  }

  return {
    name,
    options,
    fn: connectionRun(target, drop, run),
    close: drop,
  };
}
