// The gated event-loop delay histogram (src/util/event-loop-delay.ts): off while the loop idles,
// and a block on an idle loop is still seen, through the gate it makes late, and stays in the
// figures after the sampler has started again.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { monitorEventLoopDelay } from '../../src/util/event-loop-delay';

test('a block on an idle loop shows in max and p99 of the delay, after the sampler has started again', async (t) => {
  const histogram = monitorEventLoopDelay({ resolution: 20 });
  histogram.enable();
  t.after(() => histogram.disable());
  // The first gate (1 s) finds start-up busy, the next an idle loop: the sampler is off after it.
  await sleep(2_500);
  histogram.reset();
  const until = Date.now() + 1_500;
  while (Date.now() < until) {
    // The loop is blocked for 1.5 s: some gate falls due inside it and fires late.
  }
  // The gate that was late turns the sampler on; let it take a few samples.
  await sleep(300);
  assert.ok(histogram.count > 0);
  assert.ok(histogram.max >= 400e6, `max ${(histogram.max / 1e6).toFixed(0)} ms holds the block`);
  assert.ok(histogram.percentile(99) >= 400e6, `p99 ${(histogram.percentile(99) / 1e6).toFixed(0)} ms holds the block`);
  assert.ok(histogram.min > 0 && histogram.min <= histogram.max);
});
