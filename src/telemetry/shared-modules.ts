// The OpenTelemetry packages that the instrumentations, built into files of their own
// (dist/instrumentations/), take from the agent instead of bundling copies: one API, one
// instrumentation base with one require hook, one core (scripts/build.mjs points them here).
import * as api from '@opentelemetry/api';
import * as apiLogs from '@opentelemetry/api-logs';
import * as core from '@opentelemetry/core';
import * as instrumentation from '@opentelemetry/instrumentation';

export const sharedModules: Readonly<Record<string, unknown>> = Object.freeze({
  '@opentelemetry/api': api,
  '@opentelemetry/api-logs': apiLogs,
  '@opentelemetry/core': core,
  '@opentelemetry/instrumentation': instrumentation,
});
