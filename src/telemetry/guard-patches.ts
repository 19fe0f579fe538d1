import { InstrumentationBase } from '@opentelemetry/instrumentation';

type OnRequire = (this: InstrumentationBase, module: unknown, exports: unknown, name: string, baseDir?: string) => unknown;
const GUARDED = Symbol.for('vigil-agent.guarded-patches');

/**
 * A patch that throws (a package of a shape its instrumentation does not expect: a stub, a fork,
 * a version with a changed interface) fails that instrumentation only: the application's
 * `require` or `import` gets the package unpatched. OpenTelemetry applies every patch, for
 * require and import alike, through InstrumentationBase's `_onRequire`, which has no guard.
 */
export function guardPatches(onError: (instrumentation: string, error: unknown) => void): void {
  const proto = InstrumentationBase.prototype as unknown as { _onRequire: OnRequire & { [GUARDED]?: true } };
  const original = proto._onRequire;
  if (typeof original !== 'function' || original[GUARDED]) return;
  const guarded: OnRequire & { [GUARDED]?: true } = function (this: InstrumentationBase, module, exports, name, baseDir) {
    try {
      return original.call(this, module, exports, name, baseDir);
    } catch (error) {
      onError(this.instrumentationName, error);
      return exports;
    }
  };
  guarded[GUARDED] = true;
  proto._onRequire = guarded;
}
