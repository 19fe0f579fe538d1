import { getHeapStatistics } from 'node:v8';
import type { CheckSpec } from '../config';
import type { CheckDefinition } from '../health/types';
import { utilisation } from './thresholds';

/** V8 heap in use against the heap limit: the figure that predicts an out-of-memory crash. */
export function createHeapCheck(spec: Pick<CheckSpec, 'name' | 'settings'>): CheckDefinition {
  return {
    name: spec.name,
    options: { componentType: 'system' },
    fn: () => {
      const heap = getHeapStatistics();
      return utilisation('V8 heap', heap.used_heap_size / heap.heap_size_limit, spec.settings.warn, spec.settings.fail, { usedBytes: heap.used_heap_size, limitBytes: heap.heap_size_limit });
    },
  };
}
