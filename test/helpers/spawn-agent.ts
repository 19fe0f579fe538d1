// Runs a fixture program under the built preload, the way a user would, and reads what it
// prints: the agent's JSON lines on stderr, the program's own lines on stdout.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export const ROOT = join(__dirname, '..', '..');
export const REGISTER = join(ROOT, 'dist', 'register.js');
export const fixture = (name: string) => join(ROOT, 'test', 'fixtures', name);

export type Line = Record<string, unknown>;

export interface AgentProcess {
  child: ChildProcess;
  /** Parsed JSON lines from stderr (the agent's) and stdout (the app's pino lines and markers). */
  stderr: Line[];
  stdout: Line[];
  /** Raw text of both streams, to search for leaks. */
  text(): string;
  waitForLine(stream: 'stdout' | 'stderr', pick: (line: Line) => boolean, timeoutMs?: number): Promise<Line>;
  /** Resolves with the exit code and signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The probe server's port, from the agent's "listening" line. */
  probePort(): Promise<number>;
  kill(signal?: NodeJS.Signals): void;
}

/**
 * Base environment of a fixture: a free probe port, fast export, fast checks, no inherited OTEL_*,
 * VIGIL_* or npm_* (under `npm test`, the fixture would count as the `test` script's process).
 */
export function agentEnv(overrides: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^(OTEL_|VIGIL_|npm_)/.test(key) && key !== 'NODE_OPTIONS' && key !== 'NODE_TEST_CONTEXT') env[key] = value;
  }
  return {
    ...env,
    VIGIL_PORT: '0',
    VIGIL_HOST: '127.0.0.1',
    OTEL_METRIC_EXPORT_INTERVAL: '500',
    OTEL_BSP_SCHEDULE_DELAY: '100',
    OTEL_BLRP_SCHEDULE_DELAY: '100',
    ...overrides,
  };
}

/** `preload: 'none'` runs the same program without the agent, for comparison. */
export function spawnAgent(script: string, env: NodeJS.ProcessEnv, args: string[] = [], preload: '--require' | '--import' | 'none' = '--require'): AgentProcess {
  const child = spawn(process.execPath, [...(preload === 'none' ? [] : [preload, REGISTER]), script, ...args], { env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = { stdout: [] as Line[], stderr: [] as Line[] };
  const raw = { stdout: '', stderr: '' };
  const waiters = new Set<() => void>();
  for (const stream of ['stdout', 'stderr'] as const) {
    let buffer = '';
    child[stream]!.setEncoding('utf8').on('data', (chunk: string) => {
      raw[stream] += chunk;
      buffer += chunk;
      let newline;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        try {
          lines[stream].push(JSON.parse(line) as Line);
        } catch {
          lines[stream].push({ text: line });
        }
      }
      for (const wake of waiters) wake();
    });
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      resolve({ code, signal });
      for (const wake of waiters) wake();
    });
  });
  const waitForLine = (stream: 'stdout' | 'stderr', pick: (line: Line) => boolean, timeoutMs = 15_000) =>
    new Promise<Line>((resolve, reject) => {
      const check = () => {
        const found = lines[stream].find(pick);
        if (found) {
          done();
          resolve(found);
        } else if (child.exitCode !== null || child.signalCode !== null) {
          done();
          reject(new Error(`process exited before the expected ${stream} line; stderr:\n${raw.stderr}\nstdout:\n${raw.stdout}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no matching ${stream} line within ${timeoutMs} ms; stderr:\n${raw.stderr}\nstdout:\n${raw.stdout}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });
  return {
    child,
    stdout: lines.stdout,
    stderr: lines.stderr,
    text: () => raw.stdout + raw.stderr,
    waitForLine,
    exited,
    probePort: async () => Number((await waitForLine('stderr', (l) => typeof l.msg === 'string' && l.msg.startsWith('listening: probes'))).port),
    kill: (signal = 'SIGKILL') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
}

/** GET or HEAD a probe; resolves with status, headers and parsed body. */
export async function probe(port: number, path: string, init: RequestInit = {}): Promise<{ status: number; headers: Headers; body: any }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { ...init, signal: AbortSignal.timeout(5_000) });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // Not JSON: keep the text.
  }
  return { status: res.status, headers: res.headers, body };
}

/** Polls `fn` until it returns a truthy value. */
export async function eventually<T>(fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 15_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await fn();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}
