// Stands in for `debug` in the agent's bundle: require-in-the-middle asks it for diagnostics that
// only print with DEBUG=require-in-the-middle. Loading it (and the tty module it inspects) costs
// every host process start-up time; vigil's own diagnostics go through OTEL_LOG_LEVEL instead.
function createDebug() {
  const log = () => undefined;
  log.enabled = false;
  return log;
}
createDebug.enabled = () => false;
module.exports = createDebug;
