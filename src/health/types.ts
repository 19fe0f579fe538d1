import type { CheckFn, CheckOptions } from '../types';

/** A check as the engine holds it: a name, a function and settled options. */
export interface CheckDefinition {
  name: string;
  fn: CheckFn;
  options: CheckOptions;
  /** Called once when the engine stops, to close connections the check holds. */
  close?: () => Promise<void> | void;
}
