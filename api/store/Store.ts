/**
 * Shared state of the API processes: sessions, presence, the live registry, rate limits, call state machines.
 * Two implementations with the same behaviour (pinned by tests/store/Store.test.ts): RedisStore, shared by
 * every process on one Redis, and MemoryStore, for a single process.
 *
 * Keys and channels are plain strings; the store adds its own prefix. A key holds one kind of value
 * (a string, a hash or a set); using it as another kind rejects with a WRONGTYPE error, as Redis does.
 * TTLs are in milliseconds and apply to a whole key, whatever its kind.
 */

export interface SetOptions {
  /** Expire the key after this many milliseconds. Without it the key is persistent. */
  ttlMs?: number;
  /** Only set when the key does not exist (the answer says whether it was set). */
  nx?: boolean;
}

export interface Counter {
  value: number;
  /** Milliseconds until the counter's window ends; Infinity when it has no TTL. */
  ttlMs: number;
}

export type MessageListener = (message: string, channel: string) => void;
export type Unsubscribe = () => Promise<void>;

export interface Store {
  readonly kind: 'memory' | 'redis';
  /** Prepended to every key and channel. */
  readonly prefix: string;

  // strings
  get(key: string): Promise<string | null>;
  /** Resolves true when the value was written (false only with `nx` and an existing key). */
  set(key: string, value: string, options?: SetOptions): Promise<boolean>;
  /** Deletes keys of any kind; resolves how many existed. */
  del(...keys: string[]): Promise<number>;
  /** Sets a key's TTL; false when the key does not exist. */
  expire(key: string, ttlMs: number): Promise<boolean>;
  /** Milliseconds left; Infinity for a persistent key; null when the key does not exist. */
  ttl(key: string): Promise<number | null>;
  /**
   * Atomically adds `by` (default 1) to an integer counter (a missing key counts as 0). With `windowMs`, a counter
   * that has no TTL yet (a new window) gets that TTL; later increments in the window keep it.
   */
  incr(key: string, by?: number, windowMs?: number): Promise<Counter>;
  /**
   * Atomic compare-and-set: writes `next` (null deletes) only if the current value is `expected` (null = the key is
   * absent). Resolves whether it wrote. `ttlMs` applies to the written value; without it the key is persistent.
   */
  compareAndSet(
    key: string,
    expected: string | null,
    next: string | null,
    options?: { ttlMs?: number },
  ): Promise<boolean>;

  // hashes
  hset(key: string, fields: Record<string, string>): Promise<void>;
  hget(key: string, field: string): Promise<string | null>;
  hgetall(key: string): Promise<Record<string, string>>;
  hdel(key: string, ...fields: string[]): Promise<number>;
  /** Atomically adds `by` (default 1) to an integer field; resolves the new value. */
  hincr(key: string, field: string, by?: number): Promise<number>;

  // sets
  sadd(key: string, ...members: string[]): Promise<number>;
  srem(key: string, ...members: string[]): Promise<number>;
  smembers(key: string): Promise<string[]>;
  sismember(key: string, member: string): Promise<boolean>;
  scard(key: string): Promise<number>;

  /** Every live key that starts with `prefix` (without the store's own prefix), in no particular order. */
  keys(prefix: string): Promise<string[]>;

  // pub/sub: every subscriber of every process on the same store hears each message, asynchronously
  publish(channel: string, message: string): Promise<void>;
  /** Resolves once the subscription is active; the returned function removes this listener. */
  subscribe(channel: string, listener: MessageListener): Promise<Unsubscribe>;

  /** True when the store answers. Never rejects. */
  ping(): Promise<boolean>;
  /** Releases connections and timers; idempotent. Operations after close() reject. */
  close(): Promise<void>;
}

/** Thrown by operations on a closed store. */
export class StoreClosedError extends Error {
  constructor() {
    super('store is closed');
    this.name = 'StoreClosedError';
  }
}
