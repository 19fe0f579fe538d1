import { writeSync } from 'node:fs';
import pino, { type Logger } from 'pino';
import type { LogLevel } from '../config/settings';
import { redact, redactDeep } from '../util/redact';

/** Receives every line the agent logs, parsed (to forward it as an OpenTelemetry log record). */
export type LogForwarder = (record: Record<string, unknown>) => void;

export interface AgentLogger {
  logger: Logger;
  /** From now on, every line is also handed to `forward`. */
  forwardTo(forward: LogForwarder | undefined): void;
}

/**
 * The agent's own pino logger (`"name":"vigil"`). It writes to stderr, synchronously: the agent
 * logs rarely (state changes, not runs), stdout belongs to the host program (a CLI's output may be
 * piped into another program), and a line must not be lost when the process exits right after it.
 * A write error (closed pipe) is absorbed: a broken stderr never crashes the host.
 */
export function createAgentLogger(level: LogLevel, fd = 2): AgentLogger {
  let forward: LogForwarder | undefined;
  const destination = {
    write(line: string): void {
      try {
        writeSync(fd, line);
      } catch {
        // EPIPE / EAGAIN: the line is dropped, the host goes on.
      }
      if (forward) {
        try {
          forward(JSON.parse(line) as Record<string, unknown>);
        } catch {
          // Forwarding is best effort.
        }
      }
    },
  };
  // Secrets are masked in the values before they are serialised, never in the JSON text: a
  // masked substring must not be able to break a number or a quote of the line.
  const logger = pino({
    name: 'vigil',
    level,
    base: { pid: process.pid },
    formatters: { log: (fields) => redactDeep(fields) as Record<string, unknown> },
    hooks: {
      logMethod(args, method) {
        method.apply(this, args.map((arg) => (typeof arg === 'string' ? redact(arg) : arg)) as Parameters<typeof method>);
      },
    },
  }, destination);
  return { logger, forwardTo: (f) => { forward = f; } };
}
