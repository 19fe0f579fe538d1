// One catalogue of coded errors. Every code is documented in docs/errors.md and tested.
// The agent never throws these into the host: they are logged once, with the code, and the
// agent goes on with a default or without the feature concerned.

/** Every code vigil logs, with what it means; docs/errors.md says what to do about each. */
export const ERROR_CODES = {
  VIGIL_ERR_CONFIG_VALUE: 'invalid value for a setting; the default is used instead',
  VIGIL_ERR_CONFIG_FILE: 'the configuration file could not be read or is invalid; it is ignored',
  VIGIL_ERR_CHECK_DEFINITION: 'a check could not be registered; the agent goes on without it',
  VIGIL_ERR_DRIVER_MISSING: 'a check needs a database driver the application does not have',
  VIGIL_ERR_PROBE_LISTEN: 'the probe server could not listen; the agent goes on without probes',
  VIGIL_ERR_METRICS_LISTEN: 'the /metrics endpoint (OTEL_METRICS_EXPORTER=prometheus) could not listen; the agent goes on without it',
  VIGIL_ERR_TELEMETRY_START: 'OpenTelemetry could not be started; the agent goes on without exporting',
  VIGIL_ERR_EXPORT: 'telemetry could not be delivered to the collector',
  VIGIL_ERR_INSTRUMENTATION: 'an instrumentation (or the ES module loader) could not be started; the agent goes on without it',
  VIGIL_ERR_OTEL_API_VERSION: "the application's own @opentelemetry/api cannot use the agent's providers",
  VIGIL_ERR_START: 'the agent could not start; the application runs without it',
} as const;

/** One of the codes of `ERROR_CODES`. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** An error the agent logs with a stable code that users can look up. */
export class VigilError extends Error {
  /** The stable code of the error (see `ERROR_CODES` and docs/errors.md). */
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'VigilError';
    this.code = code;
  }
}
