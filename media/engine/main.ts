/**
 * The embedded media engine process (`npm run engine`): a Kurento-protocol media server on werift.
 * Prints `onair-engine ready ws://host:port/kurento` once listening; exits cleanly on SIGTERM/SIGINT.
 */
import { configFromEnv, type EngineConfig } from './config.js';
import { nativeSrtp, nativeSrtpStatus } from './native/index.js';
import { EngineServer } from './server/EngineServer.js';

let config: EngineConfig;
try {
  config = configFromEnv();
} catch (err) {
  console.error(`onair-engine: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(2);
}
const server = await EngineServer.start(config);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  const timer = setTimeout(() => process.exit(1), 5000);
  timer.unref();
  await server.close();
  process.exit(0);
}

// As in the workers: one peer's failure deep in werift must not stop the server (ENGINE_WORKERS=0 runs media here).
process.on('unhandledRejection', (reason) => console.error('[engine] unhandled rejection:', reason));
process.on('uncaughtException', (err) => console.error('[engine] uncaught exception:', err));

process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
process.on('disconnect', () => void stop());

// Started by spawnEngine: never outlive the process that started it (a crashed test, a killed server).
if (process.env.ENGINE_EXIT_WITH_PARENT === '1') {
  const parent = process.ppid;
  setInterval(() => process.ppid !== parent && void stop(), 1000).unref();
}

if (config.kmsFaithful) console.error('onair-engine: KMS-faithful mode (ENGINE_KMS_FAITHFUL=true)');
if (!nativeSrtp) console.error(`onair-engine: native addon ${nativeSrtpStatus}; viewers' media go through node:crypto`);

// Last, once the signal handlers are in place: whoever waits for this line may stop the engine at once.
process.stdout.write(`onair-engine ready ${server.url}\n`);
