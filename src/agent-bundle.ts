// What dist/agent.js exports: the public API (dist/index.js re-exports it), the preload's way in,
// and the modules vigil's own instrumentation files (dist/instrumentations/) share with it.
export * from './api';
export { startAgent } from './global-agent';
export { sharedModules } from './telemetry/shared-modules';
