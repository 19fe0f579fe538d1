import { z } from 'zod';
import { MAX_TIMER_MS, type Kind } from './kinds';
import { FILE_KEYS, SETTINGS } from './settings';

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

/**
 * Top-level keys are the settings table's file keys, each checked by the setting's own kind:
 * the file accepts exactly what the environment does.
 */
const settingKeys = Object.fromEntries([...FILE_KEYS].map(([key, name]) => {
  const setting: Kind<unknown> = SETTINGS[name];
  return [key, z.unknown().transform((value, ctx) => {
    const accepted = setting.accept(value);
    if (accepted === undefined) ctx.addIssue({ code: 'custom', message: `is not ${setting.expected} (as ${name})` });
    return accepted;
  }).optional()];
}));

export const fileSchema = z.strictObject({
  ...settingKeys,
  checks: z.record(z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'check names use letters, digits and _ . : -'), checkEntry).optional(),
});

/** Setting values by file key, and the checks. */
export type FileConfig = Partial<Record<string, unknown>> & { checks?: Record<string, CheckEntry> };
export type CheckEntry = z.infer<typeof checkEntry>;
