// The preload: `node --require vigil-agent/register app.js`. It reads two variables and nothing
// else before deciding to load the agent, so a disabled agent costs nothing.
import { isDisabled } from './config/env';
import { emergencyLog } from './util/emergency-log';

/** Package managers get NODE_OPTIONS too: the agent stays out of them (their children are the services). */
const PACKAGE_MANAGER = /[\\/](?:npm|npx|yarn|pnpm|pnpx|corepack|node-gyp)(?:-cli)?(?:\.c?js)?$|[\\/]node_modules[\\/](?:npm|yarn|pnpm|corepack)[\\/]/;

if (!isDisabled(process.env) && !PACKAGE_MANAGER.test(process.argv[1] ?? '')) {
  try {
    // Resolved at run time to dist/agent.js (see scripts/build.mjs), so index and register share it.
    void (require('./api') as typeof import('./api')).start();
  } catch (error) {
    emergencyLog('VIGIL_ERR_START', `vigil could not load: ${error instanceof Error ? error.message : String(error)}; the application runs without it`);
  }
}
