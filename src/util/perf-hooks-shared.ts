// node:perf_hooks as OpenTelemetry's runtime instrumentation gets it (scripts/build.mjs): the
// same module, but with event-loop delay histograms that sleep while the loop does.
export * from 'node:perf_hooks';
export { monitorEventLoopDelay } from './event-loop-delay';
