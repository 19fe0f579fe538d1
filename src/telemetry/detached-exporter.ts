import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { redactExport } from './redacting-exporter';

/** The part of the SDK's span, log and metric exporters the adapter needs. */
export interface InnerExporter<T> {
  export(items: T, resultCallback: (result: ExportResult) => void): void;
  shutdown(): Promise<void>;
}

/**
 * Answers the SDK's processors at once and lets the export run on by itself. The processors
 * guard every export with a ref'd timeout timer (30 s by default): while a collector hangs, that
 * timer alone would keep a finished program alive. Here nothing of an export holds the process;
 * `drain` waits for exports under way, and callers bound that wait. (It is not `forceFlush`:
 * the SDK would call that under its own ref'd 30 s timeout.) Every batch is redacted on its way
 * in (see redacting-exporter.ts): nothing reaches the OTLP exporter unredacted.
 */
export class DetachedExporter<T> {
  private inner: InnerExporter<T> | undefined;
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly create: () => InnerExporter<T>,
    private readonly onResult: (result: ExportResult) => void,
  ) {}

  /** The real exporter, built at the first export so that start-up does not pay for it. */
  protected get exporter(): InnerExporter<T> {
    this.inner ??= this.create();
    return this.inner;
  }

  export(items: T, resultCallback: (result: ExportResult) => void): void {
    let done: Promise<void>;
    try {
      // A batch that cannot be redacted fails here, and is not sent.
      const safe = redactExport(items);
      const exporter = this.exporter;
      // A throw in the executor would reject a promise nobody awaits (the host's crash): it is a failed export.
      done = new Promise<void>((resolve) => {
        exporter.export(safe, (result) => {
          this.onResult(result);
          resolve();
        });
      }).catch((error: unknown) => this.onResult({ code: ExportResultCode.FAILED, error: error as Error }));
    } catch (error) {
      this.onResult({ code: ExportResultCode.FAILED, error: error as Error });
      done = Promise.resolve();
    }
    this.pending.add(done);
    void done.then(() => this.pending.delete(done));
    resultCallback({ code: ExportResultCode.SUCCESS });
  }

  /** The SDK's flush: everything is already handed over, so there is nothing to wait for here. */
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  /** Resolves when every export under way has settled. */
  async drain(): Promise<void> {
    await Promise.all([...this.pending]);
  }

  async shutdown(): Promise<void> {
    await this.drain();
    await this.inner?.shutdown();
  }
}
