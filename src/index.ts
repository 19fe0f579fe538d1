// The public API of vigil-agent: importing it has no side effect (the preload starts the agent).
export { ERROR_CODES, VigilError, getHealth, onStateChange, registerCheck, runChecksOnce, start, stop, unregisterCheck } from './api';
export type { ErrorCode } from './errors';
export type { CheckSnapshot, StateChange } from './health/engine';
export type { CheckFn, CheckOptions, CheckResult, Group, Status } from './health/types';
