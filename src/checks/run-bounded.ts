import { errorMessage } from '../util/redact';

/**
 * Driver-level timeouts (connect, command) when a check has no `timeoutMs` of its own.
 * The run's AbortSignal still bounds every run; this only keeps a driver from waiting forever.
 */
export const FALLBACK_TIMEOUT_MS = 5000;

/** Longest wait for a polite goodbye (Terminate, connection.close) before the socket is destroyed. */
export const CLOSE_GRACE_MS = 1000;

/**
 * Runs `work` until it settles or `signal` fires. On abort, `onAbort` tears down whatever the
 * work holds (a hung connection must not outlive its run) and the run rejects with
 * "timed out waiting for <target>". A late rejection of the abandoned work is absorbed.
 */
export function bounded<T>(
  signal: AbortSignal,
  target: string,
  onAbort: () => void,
  work: () => Promise<T>,
): Promise<T> {
  if (signal.aborted) {
    onAbort();
    return Promise.reject(abortError(signal, target));
  }
  return new Promise<T>((resolve, reject) => {
    const abort = (): void => {
      onAbort();
      reject(abortError(signal, target));
    };
    signal.addEventListener('abort', abort, { once: true });
    const settle = (): void => signal.removeEventListener('abort', abort);
    work().then(
      (value) => {
        settle();
        resolve(value);
      },
      (error: unknown) => {
        settle();
        reject(error);
      },
    );
  });
}

/**
 * The run function of a check that holds a connection: `run` bounded by the signal, `drop`
 * tearing the connection down on abort (and, with `dropOnError`, after any failure, so that the
 * next run connects afresh), failures as redacted one-line errors.
 */
export function connectionRun<T>(target: string, drop: () => void, run: () => Promise<T>, dropOnError = true): (signal: AbortSignal) => Promise<T> {
  return async (signal) => {
    try {
      return await bounded(signal, target, drop, run);
    } catch (error) {
      if (dropOnError) drop();
      throw checkError(error);
    }
  };
}

/** Runs `work` and reports how long it took, in milliseconds rounded to 0.01. */
export async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const start = performance.now();
  const value = await work();
  return { value, ms: Math.round((performance.now() - start) * 100) / 100 };
}

/** An Error fit for a check result: redacted, one line (an AggregateError's parts spelled out). */
export function checkError(error: unknown): Error {
  return new Error(errorMessage(error));
}

/** Lets the process exit while the agent holds this socket open; tolerates anything socket-like or absent. */
export function unref(socket: unknown): void {
  (socket as { unref?: () => void } | undefined)?.unref?.();
}

/** `host:port` of a connection URL, for messages; never the credentials. */
export function hostOf(url: string, defaultPort: number): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname || 'localhost'}:${parsed.port || defaultPort}`;
  } catch {
    return 'an unparsable URL';
  }
}

function abortError(signal: AbortSignal, target: string): Error {
  const reason = signal.reason as { name?: string } | undefined;
  return new Error(`${reason?.name === 'TimeoutError' ? 'timed out' : 'aborted'} waiting for ${target}`);
}
