// An idle service under the agent sleeps between the agent's own timers: the event-loop delay
// samplers (the check's and the runtime metrics', 20 to 100 wake-ups a second each) run only
// while the loop is busy (src/util/event-loop-delay.ts). Counted, not timed: voluntary context
// switches of every thread of the process, from /proc (a thread that slept and was woken; the
// involuntary ones are preemptions, which grow with the machine's load, not the agent's timers).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { agentEnv, fixture, probe, spawnAgent } from '../helpers/spawn-agent';

function contextSwitches(pid: number): number {
  let total = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      const status = readFileSync(`/proc/${pid}/task/${task}/status`, 'utf8');
      for (const [, n] of status.matchAll(/^voluntary_ctxt_switches:\s+(\d+)$/gm)) total += Number(n);
    } catch {
      // A thread that ended meanwhile.
    }
  }
  return total;
}

test('an idle agent wakes only for its own timers, and its event-loop check still reports', async (t) => {
  const agent = spawnAgent(fixture('idle-service.js'), agentEnv({
    OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none',
    OTEL_METRIC_EXPORT_INTERVAL: undefined, OTEL_BSP_SCHEDULE_DELAY: undefined, OTEL_BLRP_SCHEDULE_DELAY: undefined,
  }));
  t.after(() => agent.kill());
  const port = await agent.probePort();
  // Start-up is busy: the samplers run until a gate period (1 s) finds the loop idle.
  await sleep(11_000);
  const before = contextSwitches(agent.child.pid!);
  await sleep(10_000);
  const woke = contextSwitches(agent.child.pid!) - before;
  // Five built-in checks every 10 s, the gate every second, their threads: tens. The samplers alone were about 700.
  assert.ok(woke < 150, `the idle process switched context ${woke} times in 10 s`);
  const { body } = await probe(port, '/health');
  const eventLoop = body.checks['event-loop'][0];
  assert.equal(eventLoop.status, 'pass');
  assert.equal(typeof eventLoop.observedValue, 'number');
});
