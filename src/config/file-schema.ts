import { z } from 'zod';
import { MAX_TIMER_MS } from './env';

// The schema of the VIGIL_CONFIG file. Strict objects: an unknown key is reported by name
// rather than silently ignored (a typo such as `intervalMS` must not pass for a setting).

const ms = z.number().int().min(0).max(MAX_TIMER_MS);
const ratio = z.number().min(0).max(1);
const group = z.enum(['live', 'ready', 'startup']);

export const CHECK_KINDS = ['postgres', 'redis', 'amqp', 'http', 'tcp', 'event-loop', 'cpu', 'memory', 'disk', 'heap'] as const;
export type CheckKind = (typeof CHECK_KINDS)[number];

const checkEntry = z.strictObject({
  kind: z.enum(CHECK_KINDS).optional(),
  enabled: z.boolean().optional(),
  critical: z.boolean().optional(),
  intervalMs: ms.min(100).optional(),
  timeoutMs: ms.min(1).optional(),
  initialDelayMs: ms.optional(),
  jitter: ratio.optional(),
  groups: z.array(group).optional(),
  failureThreshold: z.number().int().min(1).optional(),
  successThreshold: z.number().int().min(1).optional(),
  // Dependency settings.
  url: z.string().min(1).optional(),
  query: z.string().min(1).optional(),
  queue: z.string().min(1).optional(),
  maxDepth: z.number().int().min(0).optional(),
  requireConsumer: z.boolean().optional(),
  expectedStatus: z.union([z.literal('2xx'), z.array(z.number().int().min(100).max(599))]).optional(),
  bodyIncludes: z.string().optional(),
  headers: z.record(z.string(), z.string()).optional(),
  host: z.string().min(1).optional(),
  port: z.number().int().min(1).max(65535).optional(),
  // Resource thresholds, as ratios (0.8 = 80 %) or, for the event loop delay, milliseconds.
  warn: z.number().min(0).optional(),
  fail: z.number().min(0).optional(),
  path: z.string().min(1).optional(),
  utilizationWarn: ratio.optional(),
});

export const fileSchema = z.strictObject({
  port: z.number().int().min(0).max(65535).optional(),
  host: z.string().min(1).optional(),
  intervalMs: ms.min(100).optional(),
  timeoutMs: ms.min(1).optional(),
  shutdownDelayMs: ms.optional(),
  flushTimeoutMs: ms.optional(),
  details: z.enum(['always', 'never', 'token']).optional(),
  token: z.string().min(1).optional(),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
  autoChecks: z.boolean().optional(),
  checks: z.record(z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'check names use letters, digits and _ . : -'), checkEntry).optional(),
});

export type FileConfig = z.infer<typeof fileSchema>;
export type CheckEntry = z.infer<typeof checkEntry>;
