import { createHistogram, monitorEventLoopDelay as nodeMonitor, performance, type EventLoopUtilization, type IntervalHistogram, type RecordableHistogram } from 'node:perf_hooks';

// Event-loop delay histograms that sleep while the loop does. Node's sampler is a timer every
// `resolution` ms: it wakes an idle process 20 to 100 times a second, for nothing, since a loop
// cannot be delayed by more than it is busy. The event-loop check and the runtime metrics (the
// build gives instrumentation-runtime-node this module's `monitorEventLoopDelay`) share one gate:
// every GATE_MS it turns their samplers on once the loop was busy for BUSY_MS since the last
// gate, and off after a quieter period. While they are off, the gate's own lateness is their
// sample: what a sampler would read, its resolution plus that lateness. So on an idle loop a
// block longer than GATE_MS is always seen (it makes the gate late); a shorter one that does not
// straddle a gate is not (event-loop utilisation still counts it).

const GATE_MS = 1_000;
/** Busy time per gate period that turns sampling on: 2 % of the loop. */
const BUSY_MS = 20;

interface View {
  sampler: IntervalHistogram;
  /** The gate's samples while the sampler is off. */
  idle: RecordableHistogram;
  resolutionMs: number;
  enabled: boolean;
}

const views = new Set<View>();
let sampling = false;
let gate: NodeJS.Timeout | undefined;
let lastUtilization: EventLoopUtilization | undefined;
let due = 0;

function setSampling(on: boolean): void {
  sampling = on;
  for (const view of views) {
    if (on && view.enabled) view.sampler.enable();
    else view.sampler.disable();
  }
}

function schedule(): void {
  due = performance.now() + GATE_MS;
  gate = setTimeout(onGate, GATE_MS);
  gate.unref();
}

function onGate(): void {
  const lateMs = Math.max(0, performance.now() - due);
  const busyMs = lastUtilization ? performance.eventLoopUtilization(lastUtilization).active : Infinity;
  lastUtilization = performance.eventLoopUtilization();
  if (!sampling) {
    for (const view of views) if (view.enabled) view.idle.record(Math.max(1, Math.round((view.resolutionMs + lateMs) * 1e6)));
  }
  setSampling(busyMs >= BUSY_MS);
  schedule();
}

function usersChanged(): void {
  const active = [...views].some((view) => view.enabled);
  if (active && !gate) {
    // Start-up is busy by nature: sample from the start, let the first gate decide.
    lastUtilization = undefined;
    schedule();
  } else if (!active && gate) {
    clearTimeout(gate);
    gate = undefined;
  }
  setSampling(active && (sampling || lastUtilization === undefined));
}

/**
 * A delay histogram with the interface of `perf_hooks.monitorEventLoopDelay`'s, whose sampler
 * runs only while the loop is busy. Its figures cover both the sampler's samples and the gate's
 * (a block caught by the gate stays in max and the percentiles after the sampler has started).
 */
export function monitorEventLoopDelay(options: { resolution?: number } = {}): IntervalHistogram {
  const resolutionMs = options.resolution ?? 10;
  const view: View = { sampler: nodeMonitor({ resolution: resolutionMs }), idle: createHistogram(), resolutionMs, enabled: false };
  const both = () => [view.sampler, view.idle].filter((h) => h.count > 0);
  // The sampler's when the gate has none, and the other way round; with both, the larger of the two (the gate's are few, and late).
  const largest = (read: (h: RecordableHistogram | IntervalHistogram) => number) => {
    const present = both();
    return present.length ? Math.max(...present.map(read)) : read(view.sampler);
  };
  return {
    enable: () => {
      if (view.enabled) return false;
      view.enabled = true;
      views.add(view);
      usersChanged();
      return true;
    },
    disable: () => {
      if (!view.enabled) return false;
      view.enabled = false;
      view.sampler.disable();
      views.delete(view);
      usersChanged();
      return true;
    },
    reset: () => {
      view.sampler.reset();
      view.idle.reset();
    },
    percentile: (p: number) => largest((h) => h.percentile(p)),
    get percentiles() {
      // The same figures percentile() gives, at the percentiles the histograms hold.
      const out = new Map<number, number>();
      for (const p of (both()[0] ?? view.sampler).percentiles.keys()) out.set(p, largest((h) => h.percentile(p)));
      return out;
    },
    get count() { return view.sampler.count + view.idle.count; },
    get min() {
      const present = both();
      return present.length ? Math.min(...present.map((h) => h.min)) : view.sampler.min;
    },
    get max() { return largest((h) => h.max); },
    get mean() {
      const present = both();
      const count = present.reduce((sum, h) => sum + h.count, 0);
      return count ? present.reduce((sum, h) => sum + h.mean * h.count, 0) / count : view.sampler.mean;
    },
    get stddev() { return largest((h) => h.stddev); },
    get exceeds() { return view.sampler.exceeds + view.idle.exceeds; },
  } as unknown as IntervalHistogram;
}
