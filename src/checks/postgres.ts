import type * as Pg from 'pg';
import type { CheckDefinition } from '../health/types';
import type { CheckOptions, CheckResult } from '../types';
import { addSecretsFromUrl } from '../util/redact';
import { INTERNAL_CLIENT_NAME, lazyDriver } from './load-driver';
import { bounded, CLOSE_GRACE_MS, connectionRun, FALLBACK_TIMEOUT_MS, hostOf, timed, unref } from './run-bounded';

export interface PostgresCheckOptions extends CheckOptions {
  name?: string;
  /** `postgres://user:password@host:port/database`; the password is masked in all output. */
  url: string;
  /** Statement run on each check; its round trip is the observed value. */
  query?: string;
  /** Default: the check's `timeoutMs`. */
  connectTimeoutMs?: number;
  /** Server-side `statement_timeout`. Default: the check's `timeoutMs`. */
  statementTimeoutMs?: number;
  /** How the check's connection shows in `pg_stat_activity`. */
  applicationName?: string;
}

// The server's own statement_timeout error is clearer than the client-side one, so the client waits a little longer.
const QUERY_TIMEOUT_MARGIN_MS = 500;

/**
 * PostgreSQL health: one dedicated connection (never a pool, so the check holds exactly one
 * backend), opened on the first run and replaced after any error, so the check recovers by
 * itself once the server is back.
 */
export function createPostgresCheck(config: PostgresCheckOptions): CheckDefinition {
  const {
    name = 'postgres',
    url,
    query = 'SELECT 1',
    connectTimeoutMs,
    statementTimeoutMs,
    applicationName = INTERNAL_CLIENT_NAME,
    ...options
  } = config;
  addSecretsFromUrl(url);
  const pg = lazyDriver<typeof Pg>('pg');
  const limit = options.timeoutMs ?? FALLBACK_TIMEOUT_MS;
  const statementTimeout = statementTimeoutMs ?? limit;
  const target = `PostgreSQL at ${hostOf(url, 5432)}`;

  let client: Pg.Client | undefined;
  let serverVersion: string | undefined;

  function drop(which: Pg.Client | undefined = client): void {
    if (!which) return;
    if (which === client) {
      client = undefined;
      serverVersion = undefined;
    }
    // The connection may be mid-handshake or mid-query with a silent peer: destroy, don't negotiate.
    which.connection.stream.destroy();
  }

  async function connected(): Promise<Pg.Client> {
    if (client) return client;
    const fresh = new (pg().Client)({
      connectionString: url,
      application_name: applicationName,
      connectionTimeoutMillis: connectTimeoutMs ?? limit,
      statement_timeout: statementTimeout,
      query_timeout: statementTimeout + QUERY_TIMEOUT_MARGIN_MS,
    });
    // An idle connection that breaks (server restart, pg_terminate_backend) reports here;
    // forgetting it makes the next run reconnect instead of failing on a dead client.
    fresh.on('error', () => drop(fresh));
    fresh.on('end', () => drop(fresh));
    client = fresh;
    // Unref before connecting so a hanging connect cannot hold the process, and again after:
    // with TLS the client swaps in a new stream during the handshake.
    unref(fresh.connection.stream);
    await fresh.connect();
    unref(fresh.connection.stream);
    const { rows } = await fresh.query<{ server_version: string }>('SHOW server_version');
    serverVersion = rows[0]?.server_version;
    return fresh;
  }

  async function run(): Promise<CheckResult> {
    const db = await connected();
    const { ms } = await timed(() => db.query(query));
    return {
      status: 'pass',
      observedValue: ms,
      observedUnit: 'ms',
      componentType: options.componentType ?? 'datastore',
      ...(serverVersion ? { details: { serverVersion } } : {}),
    };
  }

  return {
    name,
    options,
    fn: connectionRun(target, drop, run),
    close: async () => {
      const last = client;
      client = undefined;
      if (!last) return;
      // A Terminate message lets the server log a clean disconnect; a silent server gets the socket destroyed.
      await bounded(AbortSignal.timeout(CLOSE_GRACE_MS), target, () => drop(last), () => last.end()).catch(() => drop(last));
    },
  };
}
