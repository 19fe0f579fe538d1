import { statfs } from 'node:fs';
import { promisify } from 'node:util';
import { availableParallelism, cpus, freemem, totalmem } from 'node:os';
import type { CheckSpec } from '../config';
import type { CheckDefinition } from '../health/types';
import type { CheckResult } from '../types';
import { cgroupCpu, cgroupMemory } from './cgroup';
import { utilisation } from './thresholds';

/** CPU time used so far: the container's when it has a quota, else the host's busy time. */
function cpuSampler(): { cores: number; quota: boolean; sample(): { busyMs: number; at: number } } {
  const quota = cgroupCpu();
  if (quota && quota.usageMicros() !== undefined) {
    return { cores: quota.cores, quota: true, sample: () => ({ busyMs: (quota.usageMicros() ?? 0) / 1000, at: performance.now() }) };
  }
  return {
    cores: availableParallelism(),
    quota: false,
    sample: () => {
      const busyMs = cpus().reduce((sum, cpu) => sum + cpu.times.user + cpu.times.nice + cpu.times.sys + cpu.times.irq, 0);
      return { busyMs, at: performance.now() };
    },
  };
}

/**
 * CPU utilisation over the time since the previous run (of the container's quota when one is
 * set, else of the host). The first run samples a short window of its own.
 */
export function createCpuCheck(spec: Pick<CheckSpec, 'name' | 'settings'> & { options?: { timeoutMs: number } }): CheckDefinition {
  const sampler = cpuSampler();
  // The first window must end well within the run's timeout.
  const firstWindowMs = Math.min(FIRST_WINDOW_MS, Math.floor((spec.options?.timeoutMs ?? 2 * FIRST_WINDOW_MS) / 2));
  let previous: { busyMs: number; at: number } | undefined;
  const fn = async (signal: AbortSignal): Promise<CheckResult> => {
    if (!previous) {
      previous = sampler.sample();
      await sleep(firstWindowMs, signal);
    }
    const now = sampler.sample();
    const ratio = Math.min(1, Math.max(0, (now.busyMs - previous.busyMs) / (now.at - previous.at) / sampler.cores));
    previous = now;
    return utilisation(sampler.quota ? 'CPU (container quota)' : 'CPU', ratio, spec.settings.warn, spec.settings.fail, { cores: sampler.cores });
  };
  return { name: spec.name, fn, options: { componentType: 'system' } };
}

const FIRST_WINDOW_MS = 500;
// The callback forms: node:fs/promises and node:timers/promises cost start-up time to load.
const statfsAsync = promisify(statfs);

/** An unref'd sleep that an abort cuts short. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    timer.unref();
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason);
    }, { once: true });
  });
}

/** Memory in use against the container limit when one is set, else against host memory. */
export function createMemoryCheck(spec: Pick<CheckSpec, 'name' | 'settings'>): CheckDefinition {
  const fn = async (): Promise<CheckResult> => {
    const limited = cgroupMemory();
    if (limited) {
      return utilisation('memory (container limit)', limited.usedBytes / limited.limitBytes, spec.settings.warn, spec.settings.fail, { limitBytes: limited.limitBytes, usedBytes: limited.usedBytes });
    }
    // Node's free memory is the kernel's MemAvailable: reclaimable cache counts as free.
    const total = totalmem();
    const available = freemem();
    return utilisation('memory', (total - available) / total, spec.settings.warn, spec.settings.fail, { totalBytes: total, availableBytes: available });
  };
  return { name: spec.name, fn, options: { componentType: 'system' } };
}

/** Space used on the file system that holds `path` (default: the working directory). */
export function createDiskCheck(spec: Pick<CheckSpec, 'name' | 'settings'>): CheckDefinition {
  const path = spec.settings.path ?? process.cwd();
  const fn = async (): Promise<CheckResult> => {
    const fs = await statfsAsync(path);
    const used = fs.blocks - fs.bfree;
    // As df does: the share of the space an unprivileged process can use.
    const ratio = used / (used + fs.bavail);
    return utilisation(`disk ${path}`, ratio, spec.settings.warn, spec.settings.fail, { path, freeBytes: fs.bavail * fs.bsize });
  };
  return { name: spec.name, fn, options: { componentType: 'system' } };
}
