/**
 * An onair API server in a process of its own, so that a test can kill it (SIGKILL: nothing is cleaned up).
 * Configured by the environment it is given (a test server's `env`); prints `{"url": ...}` once listening.
 * Cluster heart-beats are short (ONAIR_TEST_PRESENCE_MS) so that the others notice its death quickly; with
 * ONAIR_TEST_MEDIA=1 it drives the media server of KMS_URI.
 */
import { loadConfig } from '../../../api/config.js';
import { startServer } from '../../../api/server.js';

const beat = Number(process.env.ONAIR_TEST_PRESENCE_MS ?? 300);
const config = loadConfig({
  ...process.env,
  PORT: '0',
  HOST: '127.0.0.1',
  LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
  AUTH_RATE_LIMIT: '1000',
});
const server = await startServer(config, {
  frontDir: null,
  cluster: { heartbeatMs: beat, instanceTtlMs: beat * 3 },
  ...(process.env.ONAIR_TEST_MEDIA === '1' ? { media: {} } : {}),
});
process.stdout.write(`${JSON.stringify({ url: server.url, instanceId: server.services.membership.instanceId })}\n`);
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
