/** Chooses the Store from the configuration: Redis when REDIS_URL is set, else in-process. */
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { MemoryStore } from './MemoryStore.js';
import { RedisStore } from './RedisStore.js';
import type { Store } from './Store.js';

export type { Store, Counter, SetOptions, MessageListener, Unsubscribe } from './Store.js';
export { StoreClosedError } from './Store.js';
export { MemoryStore } from './MemoryStore.js';
export { RedisStore } from './RedisStore.js';

/** Opens the configured store; rejects when Redis is configured but unreachable. */
export async function createStore(config: Pick<Config, 'redisUrl' | 'storePrefix'>, log?: Logger): Promise<Store> {
  if (!config.redisUrl) return new MemoryStore({ prefix: config.storePrefix });
  return RedisStore.connect(config.redisUrl, { prefix: config.storePrefix, ...(log ? { log } : {}) });
}
