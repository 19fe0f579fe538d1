import { TraceFlags, isSpanContextValid, trace, type Attributes, type Context, type Link, type SpanKind } from '@opentelemetry/api';
import { SamplingDecision, type ReadableSpan, type Sampler, type SamplingResult, type Span, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { CheckTraceSampler } from '../config/settings';
import { CHECK_RUN } from '../health/run-check';

// Which runs of a check reach the trace store. Every run of every check as a root trace is about
// 69,000 traces a day per instance (8 checks every 10 s), nearly all of them healthy. With
// `informative`, a run's spans are recorded but held here until the health engine has recorded
// its result (onRun): the first run, every run that is not `pass`, every change of state, the
// run before it and the run after it are exported; of the other runs, a ratio. The decision is
// made once the run has ended, so a run that fails is kept with its children (the pg query, the
// HTTP GET) whatever came before. Bounded: at most MAX_PENDING traces held, MAX_SPANS each.

const MAX_PENDING = 256;
const MAX_SPANS = 64;
const MAX_DECIDED = 1_024;

/** The span as an exporter sees it, marked sampled: the batch processors export only those. */
function sampled(span: ReadableSpan): ReadableSpan {
  const context = { ...span.spanContext(), traceFlags: span.spanContext().traceFlags | TraceFlags.SAMPLED };
  return Object.create(span, { spanContext: { value: () => context } }) as ReadableSpan;
}

/** Drops the oldest entry of a map beyond `max` (maps keep insertion order). */
function bound<K, V>(map: Map<K, V>, max: number): void {
  while (map.size > max) map.delete(map.keys().next().value as K);
}

export class CheckTraces implements SpanProcessor {
  /** Spans of runs not decided yet, by trace id. */
  private readonly pending = new Map<string, ReadableSpan[]>();
  /** Decided traces, for children that end after their run (a check that ignored its abort). */
  private readonly decided = new Map<string, boolean>();
  /** Per check, the latest run not kept: exported if the next run turns out informative. */
  private readonly previous = new Map<string, { traceId: string; spans: ReadableSpan[] }>();
  /** Checks whose last run was informative: their next run is kept too. */
  private readonly after = new Set<string>();

  constructor(
    private readonly downstream: SpanProcessor[],
    private readonly policy: CheckTraceSampler,
    private readonly ratio: number,
    private readonly random: () => number = Math.random,
  ) {}

  /** The tracer provider's sampler: check runs by `policy`, their children held with them, every other span by `delegate`. */
  sampler(delegate: Sampler): Sampler {
    return {
      shouldSample: (context: Context, traceId: string, name: string, kind: SpanKind, attributes: Attributes, links: Link[]): SamplingResult => {
        const parent = trace.getSpanContext(context);
        if ((!parent || !isSpanContextValid(parent)) && context.getValue(CHECK_RUN) === true) {
          if (this.policy !== 'informative') {
            this.decide(traceId, this.policy === 'always_on');
            return { decision: this.policy === 'always_on' ? SamplingDecision.RECORD_AND_SAMPLED : SamplingDecision.NOT_RECORD };
          }
          this.pending.set(traceId, []);
          bound(this.pending, MAX_PENDING);
          return { decision: SamplingDecision.RECORD };
        }
        if (parent && isSpanContextValid(parent)) {
          // A check run's children share its decision, whatever OTEL_TRACES_SAMPLER would say.
          if (this.pending.has(traceId)) return { decision: SamplingDecision.RECORD };
          const decided = this.decided.get(traceId);
          if (decided !== undefined) return { decision: decided ? (this.policy === 'informative' ? SamplingDecision.RECORD : SamplingDecision.RECORD_AND_SAMPLED) : SamplingDecision.NOT_RECORD };
        }
        return delegate.shouldSample(context, traceId, name, kind, attributes, links);
      },
      toString: () => `CheckTraces{${this.policy}, ${this.ratio}; others: ${delegate.toString()}}`,
    };
  }

  /**
   * The engine recorded a run: `informative` when it was the first, not `pass`, or changed the
   * check's state. Returns whether its trace is exported.
   */
  onRun(check: string, traceId: string, informative: boolean): boolean {
    if (this.policy !== 'informative') return this.policy === 'always_on';
    const keep = informative || this.after.has(check) || this.random() < this.ratio;
    if (informative) {
      this.after.add(check);
      const before = this.previous.get(check);
      if (before) this.export(before.traceId, before.spans);
    } else {
      this.after.delete(check);
    }
    this.previous.delete(check);
    const spans = this.pending.get(traceId) ?? [];
    this.pending.delete(traceId);
    if (keep) this.export(traceId, spans);
    else {
      this.decide(traceId, false);
      this.previous.set(check, { traceId, spans });
    }
    return keep;
  }

  private decide(traceId: string, keep: boolean): void {
    this.decided.set(traceId, keep);
    bound(this.decided, MAX_DECIDED);
  }

  /** Hands a kept run's spans to the batch processors; its children that end later follow (onEnd). */
  private export(traceId: string, spans: ReadableSpan[]): void {
    this.decide(traceId, true);
    for (const span of spans) this.forward(span);
  }

  private forward(span: ReadableSpan): void {
    for (const processor of this.downstream) processor.onEnd(sampled(span));
  }

  onStart(_span: Span, _parentContext: Context): void {
    // Nothing to do until a span ends.
  }

  onEnd(span: ReadableSpan): void {
    if (span.spanContext().traceFlags & TraceFlags.SAMPLED) return;
    const { traceId } = span.spanContext();
    const held = this.pending.get(traceId) ?? [...this.previous.values()].find((p) => p.traceId === traceId)?.spans;
    if (held) {
      // The run's own span ends last: it is always kept, its children up to the bound.
      if (held.length < MAX_SPANS - 1 || !span.parentSpanContext) held.push(span);
    } else if (this.decided.get(traceId)) {
      this.forward(span);
    }
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    this.pending.clear();
    this.previous.clear();
    return Promise.resolve();
  }
}
