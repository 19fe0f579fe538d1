import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { exportError } from './otlp-transport';
import { errorMessage } from '../util/redact';
import { redactExport } from './redacting-exporter';

/** The part of the SDK's span, log and metric exporters the adapter needs. */
export interface InnerExporter<T> {
  export(items: T, resultCallback: (result: ExportResult) => void): void;
  shutdown(): Promise<void>;
}

/** The limits of one signal's delivery: they, not the SDK's processor, decide what is dropped. */
export interface DeliveryLimits {
  /** Items (spans, log records, metric data points) queued or in flight at most; a batch that would pass it is dropped whole. */
  readonly maxQueuedItems: number;
  /** Exports under way at once. */
  readonly maxInFlight: number;
  /** ms an export may take, its retries included; then it is dropped as `timeout`. 0: only the OTLP timeout bounds it. */
  readonly exportTimeoutMs: number;
}

/** What became of the items handed over since start: `exported + dropped + queued + inFlight` is all of them. */
export interface DeliveryCounts {
  exported: number;
  /** By `error.type`: `queue_full`, `timeout`, an HTTP status code, a connection error code, `export_failed`. */
  dropped: Record<string, number>;
  queued: number;
  inFlight: number;
}

/** The counts, and whether the latest export failed, with its error. */
export interface DeliveryStatus extends DeliveryCounts {
  failing: boolean;
  lastError?: string;
}

interface Batch<T> {
  readonly items: T;
  readonly count: number;
}

/**
 * Answers the SDK's processors at once and delivers in the background. The processors guard
 * every export with a ref'd timeout timer (30 s by default): while a collector hangs, that timer
 * alone would keep a finished program alive. Here nothing of an export holds the process: the
 * batches wait in a bounded queue, at most `maxInFlight` go out at once, each within its export
 * timeout on an unref'd timer, and every item that does not arrive is counted by why.
 * `drain` waits for the queue to empty, and callers bound that wait. (It is not `forceFlush`:
 * the SDK would call that under its own ref'd 30 s timeout.) Every batch is redacted on its way
 * in (see redacting-exporter.ts): nothing reaches the OTLP exporter unredacted.
 */
export class DetachedExporter<T> {
  private inner: InnerExporter<T> | undefined;
  private readonly queue: Batch<T>[] = [];
  private readonly idle: (() => void)[] = [];
  /** Exports under way (batches; the counts are in items). */
  private sending = 0;
  private readonly tally: DeliveryCounts = { exported: 0, dropped: {}, queued: 0, inFlight: 0 };
  private lastError: Error | undefined;
  private failing = false;

  constructor(
    private readonly create: () => InnerExporter<T>,
    private readonly onResult: (result: ExportResult) => void,
    private readonly limits: DeliveryLimits,
    private readonly countItems: (items: T) => number,
  ) {}

  /** The real exporter, built at the first export so that start-up does not pay for it. */
  protected get exporter(): InnerExporter<T> {
    this.inner ??= this.create();
    return this.inner;
  }

  /** A copy of the counts. */
  counts(): DeliveryCounts {
    return { ...this.tally, dropped: { ...this.tally.dropped } };
  }

  /** The counts, and how the latest export ended (a batch dropped as `queue_full` says nothing of the collector). */
  status(): DeliveryStatus {
    return { ...this.counts(), failing: this.failing, ...(this.lastError ? { lastError: errorMessage(this.lastError) } : {}) };
  }

  export(items: T, resultCallback: (result: ExportResult) => void): void {
    let count = 0;
    try {
      count = this.countItems(items);
      if (count === 0) return resultCallback({ code: ExportResultCode.SUCCESS });
      if (this.tally.queued + this.tally.inFlight + count > this.limits.maxQueuedItems) {
        this.fail(count, exportError('queue_full', `more than ${this.limits.maxQueuedItems} items waiting to be exported`));
      } else {
        // A batch that cannot be redacted fails here, and is not sent.
        this.queue.push({ items: redactExport(items), count });
        this.tally.queued += count;
        this.pump();
      }
    } catch (error) {
      this.fail(count, error as Error);
    }
    resultCallback({ code: ExportResultCode.SUCCESS });
  }

  /** The SDK's flush: everything is already handed over, so there is nothing to wait for here. */
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  /** Resolves when every batch handed over has been delivered or dropped. */
  drain(): Promise<void> {
    if (this.queue.length === 0 && this.sending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  async shutdown(): Promise<void> {
    await this.drain();
    await this.inner?.shutdown();
  }

  private pump(): void {
    while (this.sending < this.limits.maxInFlight && this.queue.length > 0) {
      const batch = this.queue.shift()!;
      this.tally.queued -= batch.count;
      this.tally.inFlight += batch.count;
      this.sending++;
      void this.deliver(batch).then(() => {
        this.sending--;
        this.tally.inFlight -= batch.count;
        this.pump();
        if (this.queue.length === 0 && this.sending === 0) for (const resolve of this.idle.splice(0)) resolve();
      });
    }
  }

  /** One batch, bounded by the export timeout whatever the exporter does; never rejects. */
  private async deliver(batch: Batch<T>): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const { exportTimeoutMs } = this.limits;
    const exported = new Promise<ExportResult>((resolve) => this.exporter.export(batch.items, resolve));
    const timeout = new Promise<ExportResult>((resolve) => {
      if (exportTimeoutMs <= 0) return;
      timer = setTimeout(resolve, exportTimeoutMs, { code: ExportResultCode.FAILED, error: exportError('timeout', `not exported within ${exportTimeoutMs} ms`) });
      timer.unref();
    });
    const result = await Promise.race([exported, timeout]).catch((error: unknown): ExportResult => ({ code: ExportResultCode.FAILED, error: error as Error }));
    clearTimeout(timer);
    this.failing = result.code !== ExportResultCode.SUCCESS;
    if (this.failing) this.lastError = result.error ?? exportError('export_failed', 'the export failed');
    if (result.code === ExportResultCode.SUCCESS) {
      this.tally.exported += batch.count;
      this.onResult(result);
    } else this.fail(batch.count, result.error);
  }

  /** `count` items dropped: counted by the error's type (its name, when it has one of its own). */
  private fail(count: number, error: Error | undefined): void {
    const type = error?.name && error.name !== 'Error' ? error.name : 'export_failed';
    this.tally.dropped[type] = (this.tally.dropped[type] ?? 0) + count;
    this.onResult({ code: ExportResultCode.FAILED, error });
  }
}
