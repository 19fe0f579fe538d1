// The preload: `node --require vigil-agent/register app.js`. It reads two variables and nothing
// else before deciding to load the agent, so a disabled agent costs nothing.
import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import { isMainThread, parentPort } from 'node:worker_threads';
import { isDisabled } from './config/kinds';
import { emergencyLog } from './util/emergency-log';

/** Package managers get NODE_OPTIONS too: the agent stays out of them (their children are the services). */
const PACKAGE_MANAGER = /[\\/](?:npm|npx|yarn|pnpm|pnpx|corepack|node-gyp)(?:-cli)?(?:\.c?js)?$|[\\/]node_modules[\\/](?:npm|yarn|pnpm|corepack)[\\/]/;

/** vigil's own CLI (`npx vigil-agent probe ready` in a HEALTHCHECK) must not start a second agent. */
function isOwnCli(script: string | undefined): boolean {
  if (!script || !/(?:cli\.js|vigil-agent)$/.test(script)) return false;
  try {
    return realpathSync(script) === join(__dirname, 'cli.js');
  } catch {
    return false;
  }
}

/**
 * Node runs `--require` preloads again in the thread of ES module loader hooks (the agent's
 * own, or another tool's): that thread has no parentPort, which every application Worker has.
 */
const isLoaderThread = !isMainThread && parentPort === null;

if (!isLoaderThread && !isDisabled(process.env) && !PACKAGE_MANAGER.test(process.argv[1] ?? '') && !isOwnCli(process.argv[1])) {
  try {
    // dist/agent.js, through the code cache; dist/index.js then shares the same instance.
    const { agent, cache } = (require('./load-agent') as typeof import('./load-agent')).loadAgent();
    void agent.startAgent().then((started) => started?.logger.debug({ codeCache: cache }, `code cache: ${cache}`), () => undefined);
  } catch (error) {
    emergencyLog('VIGIL_ERR_START', `vigil could not load: ${error instanceof Error ? error.message : String(error)}; the application runs without it`);
  }
}
