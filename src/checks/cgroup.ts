import { readFileSync } from 'node:fs';

// Container limits: inside a container, host totals say nothing about the process's real
// headroom. cgroup v2 first (one unified hierarchy), then v1's memory and cpu controllers.

/** Where the kernel shows cgroups; other places in tests. */
export interface CgroupPaths {
  root: string;
  self: string;
}
const SYSTEM: CgroupPaths = { root: '/sys/fs/cgroup', self: '/proc/self/cgroup' };
const UNLIMITED = 2 ** 60;

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** The cgroup directory of this process for a v1 controller, or the v2 unified one. */
function dirOf(controller: string | undefined, paths: CgroupPaths): string | undefined {
  const lines = (read(paths.self) ?? '').split('\n');
  for (const line of lines) {
    const [, controllers, path] = line.split(':');
    if (path === undefined) continue;
    const matches = controller === undefined ? controllers === '' : controllers.split(',').includes(controller);
    if (!matches) continue;
    const base = controller === undefined ? paths.root : `${paths.root}/${controller}`;
    // In a container the own cgroup is usually mounted as the root; outside, under its path.
    for (const dir of [`${base}${path}`, base]) {
      if (read(`${dir}/${controller === undefined ? 'cgroup.controllers' : 'cgroup.procs'}`) !== undefined) return dir;
    }
  }
  return undefined;
}

export interface MemoryLimit {
  limitBytes: number;
  usedBytes: number;
}

/** The memory limit of this process's cgroup and its use (less reclaimable page cache), if limited. */
export function cgroupMemory(paths: CgroupPaths = SYSTEM): MemoryLimit | undefined {
  const v2 = dirOf(undefined, paths);
  const v2Limit = v2 && read(`${v2}/memory.max`);
  if (v2 && v2Limit && v2Limit !== 'max') {
    const used = Number(read(`${v2}/memory.current`)) - statValue(read(`${v2}/memory.stat`), 'inactive_file');
    return { limitBytes: Number(v2Limit), usedBytes: Math.max(0, used) };
  }
  const v1 = dirOf('memory', paths);
  const limit = Number(v1 && read(`${v1}/memory.limit_in_bytes`));
  if (!v1 || !Number.isFinite(limit) || limit <= 0 || limit >= UNLIMITED) return undefined;
  const used = Number(read(`${v1}/memory.usage_in_bytes`)) - statValue(read(`${v1}/memory.stat`), 'total_inactive_file');
  return { limitBytes: limit, usedBytes: Math.max(0, used) };
}

export interface CpuQuota {
  /** CPUs the cgroup may use (quota / period). */
  cores: number;
  /** Total CPU time the cgroup has used, in microseconds. */
  usageMicros(): number | undefined;
}

/** The CPU quota of this process's cgroup, if one is set. */
export function cgroupCpu(paths: CgroupPaths = SYSTEM): CpuQuota | undefined {
  const v2 = dirOf(undefined, paths);
  const max = v2 && read(`${v2}/cpu.max`);
  if (v2 && max && !max.startsWith('max')) {
    const [quota, period] = max.split(/\s+/).map(Number);
    return { cores: quota / period, usageMicros: () => statValue(read(`${v2}/cpu.stat`), 'usage_usec') };
  }
  const v1 = dirOf('cpu', paths);
  const quota = Number(v1 && read(`${v1}/cpu.cfs_quota_us`));
  const period = Number(v1 && read(`${v1}/cpu.cfs_period_us`));
  if (!v1 || !(quota > 0) || !(period > 0)) return undefined;
  const acct = dirOf('cpuacct', paths) ?? v1;
  return { cores: quota / period, usageMicros: () => Number(read(`${acct}/cpuacct.usage`)) / 1000 };
}

function statValue(stat: string | undefined, key: string): number {
  const match = stat && new RegExp(`^${key} (\\d+)$`, 'm').exec(stat);
  return match ? Number(match[1]) : 0;
}
