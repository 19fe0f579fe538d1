import type { Meter } from '@opentelemetry/api';
import type { HealthEngine } from '../health/engine';
import type { CheckResult, Status } from '../types';

const STATES: readonly Status[] = ['pass', 'warn', 'fail'];
const SECONDS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const PROBE_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

export interface HealthMetrics {
  onRun(check: string, result: CheckResult, durationMs: number): void;
  onProbe(route: string, statusCode: number, durationSeconds: number): void;
}

/**
 * The health metrics of DESIGN.md. Status gauges are state sets (one series per state, 1 for the
 * current one) read from the engine's snapshot at collection time, so they are never out of date.
 */
export function createHealthMetrics(meter: Meter, engine: HealthEngine): HealthMetrics {
  meter.createObservableGauge('health.check.status', {
    description: 'Current state of each health check: 1 for the state it is in, 0 for the others',
  }).addCallback((result) => {
    for (const check of engine.snapshot()) {
      for (const state of STATES) {
        result.observe(state === check.status ? 1 : 0, {
          'health.check.name': check.name,
          'health.check.state': state,
          'health.check.critical': check.critical,
        });
      }
    }
  });
  meter.createObservableGauge('health.status', {
    description: 'Overall health of the service (the /health status): 1 for the state it is in, 0 for the others',
  }).addCallback((result) => {
    const { status } = engine.status();
    for (const state of STATES) result.observe(state === status ? 1 : 0, { 'health.check.state': state });
  });
  const duration = meter.createHistogram('health.check.duration', {
    description: 'Duration of health check runs',
    unit: 's',
    advice: { explicitBucketBoundaries: SECONDS_BUCKETS },
  });
  const probeRequests = meter.createCounter('vigil.probe.requests', { description: 'Requests answered by the probe server' });
  const probeDuration = meter.createHistogram('vigil.probe.duration', {
    description: 'Time to answer a probe request',
    unit: 's',
    advice: { explicitBucketBoundaries: PROBE_BUCKETS },
  });
  return {
    onRun(check, result, durationMs) {
      duration.record(durationMs / 1000, { 'health.check.name': check, 'health.check.status': result.status });
    },
    onProbe(route, statusCode, durationSeconds) {
      const attributes = { 'http.route': route, 'http.response.status_code': statusCode };
      probeRequests.add(1, attributes);
      probeDuration.record(durationSeconds, attributes);
    },
  };
}
