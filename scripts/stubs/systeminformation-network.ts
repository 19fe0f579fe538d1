// Stands in for systeminformation's network module in the bundle. The host-metrics
// instrumentation requires it at load time, but vigil turns its network group off (per-process
// copies of host-wide counters): loading 300 KiB of systeminformation for a function never called
// would only cost start-up time and memory.
export function networkStats(): Promise<never[]> {
  return Promise.resolve([]);
}
