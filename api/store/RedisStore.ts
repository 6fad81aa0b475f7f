/**
 * The Store on Redis (ioredis), shared by every API process that uses the same REDIS_URL and prefix.
 * One connection for commands, a second one (opened on first subscribe) for pub/sub.
 * Atomic read-modify-write operations (incr with window, compare-and-set) are Lua scripts.
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import {
  StoreClosedError,
  type Counter,
  type MessageListener,
  type SetOptions,
  type Store,
  type Unsubscribe,
} from './Store.js';

const INCR_SCRIPT = `
local v = redis.call('INCRBY', KEYS[1], ARGV[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl == -1 and tonumber(ARGV[2]) > 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  ttl = tonumber(ARGV[2])
end
return {v, ttl}`;

// ARGV: expectAbsent ('1'|'0'), expected, deleteIt ('1'|'0'), next, ttlMs ('0' = persistent)
const CAS_SCRIPT = `
local cur = redis.call('GET', KEYS[1])
if ARGV[1] == '1' then
  if cur then return 0 end
elseif cur ~= ARGV[2] then
  return 0
end
if ARGV[3] == '1' then
  redis.call('DEL', KEYS[1])
elseif tonumber(ARGV[5]) > 0 then
  redis.call('SET', KEYS[1], ARGV[4], 'PX', ARGV[5])
else
  redis.call('SET', KEYS[1], ARGV[4])
end
return 1`;

interface ScriptedRedis extends Redis {
  onairIncr(key: string, by: number, windowMs: number): Promise<[number, number]>;
  onairCas(
    key: string,
    expectAbsent: string,
    expected: string,
    deleteIt: string,
    next: string,
    ttlMs: number,
  ): Promise<number>;
}

/** Glob-escapes a literal for SCAN MATCH. */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

export interface RedisStoreOptions {
  prefix?: string;
  log?: Logger;
  /** Extra ioredis options (tests). */
  redis?: Partial<RedisOptions>;
}

export class RedisStore implements Store {
  readonly kind = 'redis' as const;
  readonly prefix: string;
  /** The command connection; socket.io's Redis adapter may `duplicate()` it. */
  readonly client: Redis;
  readonly #scripted: ScriptedRedis;
  readonly #log: Logger | undefined;
  #subscriber: Redis | null = null;
  #subscriberReady: Promise<Redis> | null = null;
  readonly #listeners = new Map<string, Set<MessageListener>>();
  /** Per channel: the SUBSCRIBE in progress or done, so that every subscriber waits for it. */
  readonly #subscribed = new Map<string, Promise<unknown>>();
  #closed = false;
  #lastErrorLog = 0;

  /** Connects and checks the server answers; rejects (leaving nothing open) when it cannot. */
  static async connect(url: string, options: RedisStoreOptions = {}): Promise<RedisStore> {
    const store = new RedisStore(url, options);
    try {
      await store.client.connect();
      await store.client.ping();
      return store;
    } catch (err) {
      await store.close();
      throw new Error(`cannot reach Redis at ${new URL(url).host}: ${(err as Error).message}`, { cause: err });
    }
  }

  private constructor(url: string, options: RedisStoreOptions) {
    this.prefix = options.prefix ?? '';
    this.#log = options.log;
    this.client = new Redis(url, {
      lazyConnect: true,
      maxRetriesPerRequest: 3,
      connectTimeout: 5000,
      retryStrategy: (times) => Math.min(times * 200, 3000),
      ...options.redis,
    });
    this.client.on('error', (err) => this.#logError(err));
    this.client.defineCommand('onairIncr', { numberOfKeys: 1, lua: INCR_SCRIPT });
    this.client.defineCommand('onairCas', { numberOfKeys: 1, lua: CAS_SCRIPT });
    this.#scripted = this.client as ScriptedRedis;
  }

  async get(key: string): Promise<string | null> {
    return this.#c().get(this.#k(key));
  }

  async set(key: string, value: string, options: SetOptions = {}): Promise<boolean> {
    const c = this.#c();
    const k = this.#k(key);
    const ttl = options.ttlMs !== undefined && options.ttlMs > 0 ? Math.ceil(options.ttlMs) : 0;
    let answer: string | null;
    if (options.nx) answer = ttl ? await c.set(k, value, 'PX', ttl, 'NX') : await c.set(k, value, 'NX');
    else answer = ttl ? await c.set(k, value, 'PX', ttl) : await c.set(k, value);
    return answer === 'OK';
  }

  async del(...keys: string[]): Promise<number> {
    const c = this.#c();
    if (keys.length === 0) return 0;
    return c.del(...keys.map((k) => this.#k(k)));
  }

  async expire(key: string, ttlMs: number): Promise<boolean> {
    return (await this.#c().pexpire(this.#k(key), Math.max(1, Math.ceil(ttlMs)))) === 1;
  }

  async ttl(key: string): Promise<number | null> {
    const ms = await this.#c().pttl(this.#k(key));
    if (ms === -2) return null;
    return ms === -1 ? Infinity : ms;
  }

  async incr(key: string, by = 1, windowMs?: number): Promise<Counter> {
    this.#c();
    const [value, ttl] = await this.#scripted.onairIncr(
      this.#k(key),
      by,
      windowMs && windowMs > 0 ? Math.ceil(windowMs) : 0,
    );
    return { value: Number(value), ttlMs: ttl < 0 ? Infinity : Number(ttl) };
  }

  async compareAndSet(
    key: string,
    expected: string | null,
    next: string | null,
    options: { ttlMs?: number } = {},
  ): Promise<boolean> {
    this.#c();
    const ttl = options.ttlMs !== undefined && options.ttlMs > 0 ? Math.ceil(options.ttlMs) : 0;
    const wrote = await this.#scripted.onairCas(
      this.#k(key),
      expected === null ? '1' : '0',
      expected ?? '',
      next === null ? '1' : '0',
      next ?? '',
      ttl,
    );
    return wrote === 1;
  }

  async hset(key: string, fields: Record<string, string>): Promise<void> {
    const c = this.#c();
    if (Object.keys(fields).length === 0) return;
    await c.hset(this.#k(key), fields);
  }

  async hget(key: string, field: string): Promise<string | null> {
    return this.#c().hget(this.#k(key), field);
  }

  async hgetall(key: string): Promise<Record<string, string>> {
    return this.#c().hgetall(this.#k(key));
  }

  async hdel(key: string, ...fields: string[]): Promise<number> {
    const c = this.#c();
    if (fields.length === 0) return 0;
    return c.hdel(this.#k(key), ...fields);
  }

  async hincr(key: string, field: string, by = 1): Promise<number> {
    return this.#c().hincrby(this.#k(key), field, by);
  }

  async sadd(key: string, ...members: string[]): Promise<number> {
    const c = this.#c();
    if (members.length === 0) return 0;
    return c.sadd(this.#k(key), ...members);
  }

  async srem(key: string, ...members: string[]): Promise<number> {
    const c = this.#c();
    if (members.length === 0) return 0;
    return c.srem(this.#k(key), ...members);
  }

  async smembers(key: string): Promise<string[]> {
    return this.#c().smembers(this.#k(key));
  }

  async sismember(key: string, member: string): Promise<boolean> {
    return (await this.#c().sismember(this.#k(key), member)) === 1;
  }

  async scard(key: string): Promise<number> {
    return this.#c().scard(this.#k(key));
  }

  async keys(prefix: string): Promise<string[]> {
    const c = this.#c();
    const found = new Set<string>();
    const match = `${escapeGlob(this.prefix + prefix)}*`;
    let cursor = '0';
    do {
      const [next, batch] = await c.scan(cursor, 'MATCH', match, 'COUNT', 500);
      for (const key of batch) found.add(key.slice(this.prefix.length));
      cursor = next;
    } while (cursor !== '0');
    return [...found];
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.#c().publish(this.#k(channel), message);
  }

  async subscribe(channel: string, listener: MessageListener): Promise<Unsubscribe> {
    this.#c();
    const subscriber = await this.#openSubscriber();
    let listeners = this.#listeners.get(channel);
    if (!listeners) this.#listeners.set(channel, (listeners = new Set()));
    const own: MessageListener = (message, ch) => listener(message, ch);
    listeners.add(own);
    let subscribed = this.#subscribed.get(channel);
    if (!subscribed) this.#subscribed.set(channel, (subscribed = subscriber.subscribe(this.#k(channel))));
    await subscribed;
    return async () => {
      const current = this.#listeners.get(channel);
      if (!current?.delete(own) || current.size > 0) return;
      this.#listeners.delete(channel);
      this.#subscribed.delete(channel);
      if (!this.#closed) await subscriber.unsubscribe(this.#k(channel)).catch(() => undefined);
    };
  }

  async ping(): Promise<boolean> {
    if (this.#closed || this.client.status !== 'ready') return false;
    try {
      return (await this.client.ping()) === 'PONG';
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#listeners.clear();
    this.#subscribed.clear();
    const connections = [this.client, this.#subscriber].filter((c): c is Redis => c !== null);
    await Promise.all(
      connections.map(async (c) => {
        if (c.status === 'ready') await c.quit().catch(() => c.disconnect());
        else c.disconnect();
      }),
    );
  }

  #c(): Redis {
    if (this.#closed) throw new StoreClosedError();
    return this.client;
  }

  #k(key: string): string {
    return this.prefix + key;
  }

  async #openSubscriber(): Promise<Redis> {
    this.#subscriberReady ??= (async () => {
      const subscriber = this.client.duplicate();
      this.#subscriber = subscriber;
      subscriber.on('error', (err) => this.#logError(err));
      subscriber.on('message', (channel: string, message: string) => {
        const name = channel.slice(this.prefix.length);
        for (const listener of this.#listeners.get(name) ?? []) {
          try {
            listener(message, name);
          } catch (err) {
            this.#log?.error({ err, channel: name }, 'store subscriber threw');
          }
        }
      });
      if (subscriber.status === 'wait') await subscriber.connect();
      return subscriber;
    })();
    return this.#subscriberReady;
  }

  #logError(err: Error): void {
    if (this.#closed) return;
    const now = Date.now();
    if (now - this.#lastErrorLog < 5000) return;
    this.#lastErrorLog = now;
    this.#log?.warn({ err: err.message }, 'redis connection error');
  }
}
