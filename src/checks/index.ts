import type { CheckSpec } from '../config';
import type { CheckKind } from '../config/file-schema';
import { withCircuitBreaker } from '../health/circuit-breaker';
import type { CheckDefinition } from '../health/types';
import { createAmqpCheck } from './amqp';
import { createEventLoopCheck } from './event-loop';
import { createHeapCheck } from './heap';
import { createHttpCheck } from './http';
import { createPostgresCheck } from './postgres';
import { createRedisCheck } from './redis';
import { createCpuCheck, createDiskCheck, createMemoryCheck } from './system';
import { createTcpCheck } from './tcp';

/** Settings a kind cannot do without. */
const REQUIRED: Partial<Record<CheckKind, ('url' | 'host' | 'port')[]>> = {
  postgres: ['url'], redis: ['url'], amqp: ['url'], http: ['url'], tcp: ['host', 'port'],
};

/** Builds the check a spec declares. Drivers are not loaded here but at the check's first run. */
export function createCheck(spec: CheckSpec): CheckDefinition {
  const s = spec.settings;
  const missing = (REQUIRED[spec.kind] ?? []).filter((key) => s[key] === undefined);
  if (missing.length) throw new Error(`a ${spec.kind} check needs ${missing.join(' and ')}`);
  const common = { name: spec.name, ...spec.options };
  switch (spec.kind) {
    case 'postgres': return createPostgresCheck({ ...common, url: s.url!, query: s.query });
    case 'redis': return createRedisCheck({ ...common, url: s.url! });
    case 'amqp': return createAmqpCheck({ ...common, url: s.url!, queue: s.queue, maxDepth: s.maxDepth, requireConsumer: s.requireConsumer });
    case 'http': {
      const check = createHttpCheck({ ...common, url: s.url!, expectedStatus: s.expectedStatus, bodyIncludes: s.bodyIncludes, headers: s.headers });
      // An HTTP dependency that keeps failing is left alone for a while rather than hammered.
      return { ...check, fn: withCircuitBreaker(check.fn) };
    }
    case 'tcp': return createTcpCheck({ ...common, host: s.host!, port: s.port! });
    case 'event-loop': return createEventLoopCheck(spec);
    case 'cpu': return createCpuCheck(spec);
    case 'memory': return createMemoryCheck(spec);
    case 'disk': return createDiskCheck(spec);
    case 'heap': return createHeapCheck(spec);
  }
}
