// Stands in for sonic-boom and thread-stream in the agent's bundle. pino requires both at load
// time, for file destinations and transports; the agent's logger always writes through its own
// synchronous, redacting destination (src/telemetry/logger.ts), so neither is ever used, and
// loading them would pull worker_threads and assert into every process the agent starts in.
module.exports = class NotBundled {
  constructor() {
    throw new Error('vigil-agent: pino file destinations and transports are not bundled');
  }
};
