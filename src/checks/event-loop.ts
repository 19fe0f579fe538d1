import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { monitorEventLoopDelay } from '../util/event-loop-delay';
import type { CheckSpec } from '../config';
import type { CheckDefinition } from '../health/types';
import type { CheckResult } from '../types';
import { worst } from '../health/status';
import { grade } from './thresholds';

const RESOLUTION_MS = 20;

/**
 * Event-loop delay (p99 since the last run; sampled while the loop is busy, see
 * src/util/event-loop-delay.ts) and utilisation. The liveness signal of the process
 * itself: a loop blocked for seconds cannot serve, whatever its dependencies say.
 */
export function createEventLoopCheck(spec: Pick<CheckSpec, 'name' | 'settings'>): CheckDefinition {
  const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  histogram.enable();
  let lastUtilization: EventLoopUtilization | undefined;
  const fn = (): CheckResult => {
    // The histogram measures timer lateness including its own sampling period: take that out.
    const p99 = histogram.count > 0 ? Math.max(0, histogram.percentile(99) / 1e6 - RESOLUTION_MS) : 0;
    histogram.reset();
    // Utilisation is measured between runs: the first run only sets the baseline (start-up is busy by nature).
    const utilization = lastUtilization ? performance.eventLoopUtilization(lastUtilization) : { utilization: 0 };
    lastUtilization = performance.eventLoopUtilization();
    const delayStatus = grade(p99, spec.settings.warn, spec.settings.fail);
    const utilizationStatus = grade(utilization.utilization, spec.settings.utilizationWarn, undefined);
    const status = worst([delayStatus, utilizationStatus]);
    const reasons = [
      delayStatus !== 'pass' ? `event-loop delay p99 ${p99.toFixed(1)} ms` : '',
      utilizationStatus !== 'pass' ? `event-loop utilisation ${(utilization.utilization * 100).toFixed(1)} %` : '',
    ].filter(Boolean);
    return {
      status,
      observedValue: Math.round(p99 * 100) / 100,
      observedUnit: 'ms',
      componentType: 'system',
      details: { utilization: Math.round(utilization.utilization * 1000) / 1000 },
      ...(reasons.length ? { output: reasons.join('; ') } : {}),
    };
  };
  return { name: spec.name, fn, options: { componentType: 'system' }, close: () => { histogram.disable(); } };
}
