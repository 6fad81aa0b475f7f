/**
 * `npm start` / `tsx api/main.ts`: reads the configuration (a bad value prints the message and exits 1), starts
 * the server, and stops it gracefully on SIGINT/SIGTERM (exiting anyway if that takes too long).
 */
import { ConfigError, loadConfig, SHUTDOWN_TIMEOUT_MS, type Config } from './config.js';
import { createLogger } from './logger.js';
import { startServer } from './server.js';

let config: Config;
try {
  config = loadConfig();
} catch (err) {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
}

const log = createLogger(config.logLevel);
process.on('unhandledRejection', (reason) => log.error({ err: reason }, 'unhandled rejection'));

try {
  const server = await startServer(config, { log, media: {} });
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    // Ctrl-C reaches both tsx and this process, so a repeated signal is expected: ignore it, but never hang.
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    setTimeout(() => {
      log.error(`still stopping after ${SHUTDOWN_TIMEOUT_MS} ms: exiting`);
      process.exit(1);
    }, SHUTDOWN_TIMEOUT_MS).unref();
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'stopping failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
} catch (err) {
  log.fatal({ err }, 'onair could not start');
  process.exit(1);
}
