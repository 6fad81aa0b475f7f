/**
 * A real onair API server for tests: port 0, a fresh database (MariaDB when available, else SQLite; or as asked),
 * the in-process store or Redis under a random key prefix, a temporary recordings folder, the built front end
 * (front/dist) when there is one, AUTH_RATE_LIMIT 1000. `close()` stops it and
 * removes everything it created. `shareWith` starts a second API process on the same database, Redis prefix and
 * recordings folder (the first server owns and removes them).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type Config } from '../../api/config.js';
import { RedisStore } from '../../api/store/RedisStore.js';
import { startServer, type RunningServer, type ServerOptions } from '../../api/server.js';
import { createTestDatabase, type DatabaseKind, type TestDatabase } from './db.js';
import { http, type HttpClient } from '../../drivers/http.js';
import { has } from './services.js';

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface TestServerOptions {
  /** Default: 'mariadb' when MariaDB is available, else 'sqlite'. */
  db?: DatabaseKind;
  /** Default: 'memory'. */
  store?: 'memory' | 'redis';
  /** Extra environment (e.g. `{ TOKEN_TTL: '2s', AUTH_RATE_LIMIT: '3' }`), applied last. */
  env?: Record<string, string>;
  /** Options of startServer (mediaProbe, routers, frontDir: front/dist when built, as in production). */
  server?: ServerOptions;
  /** Another test server whose database, Redis prefix and recordings folder this one shares. */
  shareWith?: TestServer;
}

export interface TestServer {
  url: string;
  server: RunningServer;
  config: Config;
  /** An unauthenticated client for this server. */
  http: HttpClient;
  /** The shared resources (for `shareWith`). */
  readonly env: Record<string, string>;
  close(): Promise<void>;
}

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const owned: Array<() => Promise<void>> = [];
  const cleanUp = async () => {
    for (const step of owned.splice(0).reverse()) await step().catch(() => undefined);
  };
  try {
    let env: Record<string, string>;
    if (options.shareWith) {
      env = { ...options.shareWith.env };
    } else {
      const kind = options.db ?? (has('mariadb') ? 'mariadb' : 'sqlite');
      const testDb: TestDatabase = await createTestDatabase(kind);
      owned.push(() => testDb.drop());
      const recordingsDir = await mkdtemp(path.join(os.tmpdir(), 'onair-rec-'));
      owned.push(() => rm(recordingsDir, { recursive: true, force: true }));
      env = {
        DATABASE_URL: testDb.url,
        RECORDINGS_DIR: recordingsDir,
        SIGNING_SECRET: randomBytes(24).toString('base64url'),
        STORE_PREFIX: `onair_t_${randomBytes(6).toString('hex')}:`,
      };
      if (options.store === 'redis') {
        env.REDIS_URL = TEST_REDIS_URL;
        const prefix = env.STORE_PREFIX!;
        owned.push(() => deleteRedisKeys(prefix));
      }
    }
    const config = loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      // Tests register many users from one address; rate-limit tests set their own limit.
      AUTH_RATE_LIMIT: '1000',
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      ...env,
      ...options.env,
    });
    const server = await startServer(config, { ...options.server });
    let closing: Promise<void> | null = null;
    return {
      url: server.url,
      server,
      config: server.services.config,
      http: http(server.url),
      env,
      close() {
        closing ??= server.close().then(cleanUp);
        return closing;
      },
    };
  } catch (err) {
    await cleanUp();
    throw err;
  }
}

async function deleteRedisKeys(prefix: string): Promise<void> {
  const store = await RedisStore.connect(TEST_REDIS_URL, { prefix });
  try {
    const keys = await store.keys('');
    for (let i = 0; i < keys.length; i += 500) await store.del(...keys.slice(i, i + 500));
  } finally {
    await store.close();
  }
}
