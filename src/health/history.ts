import type { Status } from '../types';

/** One recorded result of a check, as /health/history shows it. */
export interface HistoryEntry {
  /** ISO time the result was produced. */
  time: string;
  /** The reported state after this run (criticality and thresholds applied). */
  status: Status;
  durationMs: number;
  /** The run's reason, redacted when it ran. */
  output?: string;
  /** The run's trace, when that trace is exported. */
  traceId?: string;
}

/** The latest `capacity` results of one check: a ring, so memory stays the same however long the process runs. */
export class History {
  private readonly ring: HistoryEntry[] = [];
  private next = 0;

  constructor(private readonly capacity: number) {}

  add(entry: HistoryEntry): void {
    this.ring[this.next] = entry;
    this.next = (this.next + 1) % this.capacity;
  }

  newestFirst(): HistoryEntry[] {
    const out: HistoryEntry[] = [];
    for (let i = 1; i <= this.ring.length; i++) out.push(this.ring[(this.next - i + this.capacity) % this.capacity]);
    return out;
  }

  /** Share of the results held that are `pass`; undefined before the first. */
  passRatio(): number | undefined {
    if (this.ring.length === 0) return undefined;
    return this.ring.filter((e) => e.status === 'pass').length / this.ring.length;
  }
}
