// The public API of vigil-agent: importing it has no side effect (the preload starts the agent).
// Exactly what the published declarations hold; test/package/types.test.ts keeps it so.
export { ERROR_CODES, VigilError, getHealth, onStateChange, registerCheck, runChecksOnce, start, stop, unregisterCheck } from './api';
export type { ErrorCode } from './errors';
export type { CheckFn, CheckOptions, CheckResult, CheckSnapshot, Group, OnceResult, StartOptions, StateChange, Status } from './types';
