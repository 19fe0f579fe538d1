// Built-in checks of the process and its host: real figures from this machine, thresholds, and
// container limits read from cgroup files (v2 and v1 trees laid out in a temporary folder).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { cgroupCpu, cgroupMemory } from '../../src/checks/cgroup';
import { createEventLoopCheck } from '../../src/checks/event-loop';
import { createHeapCheck } from '../../src/checks/heap';
import { createCpuCheck, createDiskCheck, createMemoryCheck } from '../../src/checks/system';
import { runOnce } from '../helpers/run-check';

test('cpu, memory, disk and heap report a utilisation in percent from this machine', async () => {
  for (const check of [createCpuCheck({ name: 'cpu', settings: { warn: 0.8, fail: 0.95 } }), createMemoryCheck({ name: 'memory', settings: { warn: 0.85 } }), createDiskCheck({ name: 'disk', settings: { warn: 0.9 } }), createHeapCheck({ name: 'heap', settings: { warn: 0.85 } })]) {
    const result = await runOnce(check);
    assert.equal(result.observedUnit, 'percent', check.name);
    assert.equal(typeof result.observedValue, 'number');
    assert.ok((result.observedValue as number) >= 0 && (result.observedValue as number) <= 100, `${check.name}: ${result.observedValue}`);
    assert.equal(result.componentType, 'system');
  }
});

test('thresholds: at or above warn is warn with a reason, at or above fail is fail', async () => {
  const warn = await runOnce(createDiskCheck({ name: 'disk', settings: { warn: 0, fail: 1.01, path: tmpdir() } }));
  assert.equal(warn.status, 'warn');
  assert.match(warn.output!, /^disk .* at [\d.]+ % \(threshold 0 %\)$/);
  const fail = await runOnce(createHeapCheck({ name: 'heap', settings: { warn: 0, fail: 0 } }));
  assert.equal(fail.status, 'fail');
  assert.match(fail.output!, /V8 heap at/);
  const pass = await runOnce(createHeapCheck({ name: 'heap', settings: { warn: 0.99, fail: 1 } }));
  assert.equal(pass.status, 'pass');
  assert.equal(pass.output, undefined);
});

test('a blocked event loop shows in the delay p99', async () => {
  const check = createEventLoopCheck({ name: 'event-loop', settings: { warn: 100, fail: 10_000 } });
  try {
    await runOnce(check);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const until = Date.now() + 300;
    while (Date.now() < until) {
      // Busy: the loop is blocked for 300 ms.
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    const result = await runOnce(check);
    assert.equal(result.status, 'warn');
    assert.ok((result.observedValue as number) >= 100);
    assert.match(result.output!, /event-loop delay p99/);
  } finally {
    await check.close?.();
  }
});

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'vigil-cgroup-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

test('cgroup v2: memory limit less reclaimable cache, and the CPU quota', () => {
  const root = tree({
    'proc/self/cgroup': '0::/kubepods/pod1\n',
    'sys/kubepods/pod1/cgroup.controllers': 'cpu memory\n',
    'sys/kubepods/pod1/memory.max': '536870912\n',
    'sys/kubepods/pod1/memory.current': '300000000\n',
    'sys/kubepods/pod1/memory.stat': 'anon 1\ninactive_file 100000000\n',
    'sys/kubepods/pod1/cpu.max': '150000 100000\n',
    'sys/kubepods/pod1/cpu.stat': 'usage_usec 123456\nuser_usec 1\n',
  });
  const paths = { root: join(root, 'sys'), self: join(root, 'proc/self/cgroup') };
  assert.deepEqual(cgroupMemory(paths), { limitBytes: 536870912, usedBytes: 200000000 });
  const cpu = cgroupCpu(paths)!;
  assert.equal(cpu.cores, 1.5);
  assert.equal(cpu.usageMicros(), 123456);
});

test('cgroup v2 without limits, and v1 with a memory limit', () => {
  const unlimited = tree({ 'proc/self/cgroup': '0::/\n', 'sys/cgroup.controllers': 'cpu memory\n', 'sys/memory.max': 'max\n', 'sys/cpu.max': 'max 100000\n' });
  const free = { root: join(unlimited, 'sys'), self: join(unlimited, 'proc/self/cgroup') };
  assert.equal(cgroupMemory(free), undefined);
  assert.equal(cgroupCpu(free), undefined);

  const v1 = tree({
    'proc/self/cgroup': '4:memory:/docker/abc\n2:cpu,cpuacct:/docker/abc\n',
    'sys/memory/docker/abc/cgroup.procs': '1\n',
    'sys/memory/docker/abc/memory.limit_in_bytes': '1073741824\n',
    'sys/memory/docker/abc/memory.usage_in_bytes': '600000000\n',
    'sys/memory/docker/abc/memory.stat': 'total_inactive_file 100000000\n',
    'sys/cpu/docker/abc/cgroup.procs': '1\n',
    'sys/cpu/docker/abc/cpu.cfs_quota_us': '50000\n',
    'sys/cpu/docker/abc/cpu.cfs_period_us': '100000\n',
  });
  const paths = { root: join(v1, 'sys'), self: join(v1, 'proc/self/cgroup') };
  assert.deepEqual(cgroupMemory(paths), { limitBytes: 1073741824, usedBytes: 500000000 });
  assert.equal(cgroupCpu(paths)!.cores, 0.5);
});
