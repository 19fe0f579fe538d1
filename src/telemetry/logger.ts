import { writeSync } from 'node:fs';
import pino, { type Logger } from 'pino';
import type { LogLevel } from '../config/env';
import { redact } from '../util/redact';

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
      const safe = redact(line);
      try {
        writeSync(fd, safe);
      } catch {
        // EPIPE / EAGAIN: the line is dropped, the host goes on.
      }
      if (forward) {
        try {
          forward(JSON.parse(safe) as Record<string, unknown>);
        } catch {
          // Forwarding is best effort.
        }
      }
    },
  };
  const logger = pino({ name: 'vigil', level, base: { pid: process.pid } }, destination);
  return { logger, forwardTo: (f) => { forward = f; } };
}
