/**
 * The in-process Store: one process only (no REDIS_URL). Expired keys are dropped when touched and by a
 * periodic sweep; close() stops the sweep and drops every key and subscription.
 */
import { performance } from 'node:perf_hooks';
import {
  StoreClosedError,
  type Counter,
  type MessageListener,
  type SetOptions,
  type Store,
  type Unsubscribe,
} from './Store.js';

type Entry =
  | { kind: 'string'; value: string; expiresAt: number | null }
  | { kind: 'hash'; value: Map<string, string>; expiresAt: number | null }
  | { kind: 'set'; value: Set<string>; expiresAt: number | null };

const SWEEP_INTERVAL_MS = 2000;

function wrongType(): Error {
  return new Error('WRONGTYPE Operation against a key holding the wrong kind of value');
}

function toInteger(value: string): number {
  if (!/^-?\d+$/.test(value)) throw new Error('ERR value is not an integer or out of range');
  return Number(value);
}

export class MemoryStore implements Store {
  readonly kind = 'memory' as const;
  readonly prefix: string;
  readonly #entries = new Map<string, Entry>();
  readonly #listeners = new Map<string, Set<MessageListener>>();
  readonly #sweep: NodeJS.Timeout;
  #closed = false;

  constructor(options: { prefix?: string } = {}) {
    this.prefix = options.prefix ?? '';
    this.#sweep = setInterval(() => this.#sweepExpired(), SWEEP_INTERVAL_MS);
    this.#sweep.unref();
  }

  async get(key: string): Promise<string | null> {
    const entry = this.#entry(key, 'string');
    return entry ? entry.value : null;
  }

  async set(key: string, value: string, options: SetOptions = {}): Promise<boolean> {
    this.#open();
    if (options.nx && this.#live(key)) return false;
    this.#entries.set(key, { kind: 'string', value, expiresAt: this.#deadline(options.ttlMs) });
    return true;
  }

  async del(...keys: string[]): Promise<number> {
    this.#open();
    let removed = 0;
    for (const key of keys) if (this.#live(key) && this.#entries.delete(key)) removed++;
    return removed;
  }

  async expire(key: string, ttlMs: number): Promise<boolean> {
    this.#open();
    const entry = this.#live(key);
    if (!entry) return false;
    entry.expiresAt = this.#deadline(ttlMs);
    return true;
  }

  async ttl(key: string): Promise<number | null> {
    this.#open();
    const entry = this.#live(key);
    if (!entry) return null;
    return entry.expiresAt === null ? Infinity : Math.max(0, Math.ceil(entry.expiresAt - performance.now()));
  }

  async incr(key: string, by = 1, windowMs?: number): Promise<Counter> {
    let entry = this.#entry(key, 'string');
    if (!entry) {
      entry = { kind: 'string', value: '0', expiresAt: null };
      this.#entries.set(key, entry);
    }
    const value = toInteger(entry.value) + by;
    entry.value = String(value);
    if (entry.expiresAt === null && windowMs !== undefined && windowMs > 0) entry.expiresAt = this.#deadline(windowMs);
    return {
      value,
      ttlMs: entry.expiresAt === null ? Infinity : Math.max(0, Math.ceil(entry.expiresAt - performance.now())),
    };
  }

  async compareAndSet(
    key: string,
    expected: string | null,
    next: string | null,
    options: { ttlMs?: number } = {},
  ): Promise<boolean> {
    const current = this.#entry(key, 'string');
    if ((current?.value ?? null) !== expected) return false;
    if (next === null) this.#entries.delete(key);
    else this.#entries.set(key, { kind: 'string', value: next, expiresAt: this.#deadline(options.ttlMs) });
    return true;
  }

  async hset(key: string, fields: Record<string, string>): Promise<void> {
    const names = Object.keys(fields);
    if (names.length === 0) return void this.#open();
    const hash = this.#entry(key, 'hash', true);
    for (const name of names) hash.value.set(name, fields[name]!);
  }

  async hget(key: string, field: string): Promise<string | null> {
    return this.#entry(key, 'hash')?.value.get(field) ?? null;
  }

  async hgetall(key: string): Promise<Record<string, string>> {
    return Object.fromEntries(this.#entry(key, 'hash')?.value ?? []);
  }

  async hdel(key: string, ...fields: string[]): Promise<number> {
    const hash = this.#entry(key, 'hash');
    if (!hash) return 0;
    let removed = 0;
    for (const field of fields) if (hash.value.delete(field)) removed++;
    if (hash.value.size === 0) this.#entries.delete(key);
    return removed;
  }

  async hincr(key: string, field: string, by = 1): Promise<number> {
    const hash = this.#entry(key, 'hash', true);
    const value = toInteger(hash.value.get(field) ?? '0') + by;
    hash.value.set(field, String(value));
    return value;
  }

  async sadd(key: string, ...members: string[]): Promise<number> {
    if (members.length === 0) return (this.#open(), 0);
    const set = this.#entry(key, 'set', true);
    const before = set.value.size;
    for (const member of members) set.value.add(member);
    return set.value.size - before;
  }

  async srem(key: string, ...members: string[]): Promise<number> {
    const set = this.#entry(key, 'set');
    if (!set) return 0;
    let removed = 0;
    for (const member of members) if (set.value.delete(member)) removed++;
    if (set.value.size === 0) this.#entries.delete(key);
    return removed;
  }

  async smembers(key: string): Promise<string[]> {
    return [...(this.#entry(key, 'set')?.value ?? [])];
  }

  async sismember(key: string, member: string): Promise<boolean> {
    return this.#entry(key, 'set')?.value.has(member) ?? false;
  }

  async scard(key: string): Promise<number> {
    return this.#entry(key, 'set')?.value.size ?? 0;
  }

  async keys(prefix: string): Promise<string[]> {
    this.#open();
    return [...this.#entries.keys()].filter((key) => key.startsWith(prefix) && this.#live(key));
  }

  async publish(channel: string, message: string): Promise<void> {
    this.#open();
    const listeners = this.#listeners.get(channel);
    if (!listeners) return;
    // Delivered later, as over Redis; a listener added or removed meanwhile is honoured at delivery.
    for (const listener of listeners) {
      setImmediate(() => {
        if (this.#closed || !this.#listeners.get(channel)?.has(listener)) return;
        try {
          listener(message, channel);
        } catch {
          // one failing listener must not stop the others
        }
      });
    }
  }

  async subscribe(channel: string, listener: MessageListener): Promise<Unsubscribe> {
    this.#open();
    let listeners = this.#listeners.get(channel);
    if (!listeners) this.#listeners.set(channel, (listeners = new Set()));
    // Each subscription is its own registration, even for the same function.
    const own: MessageListener = (message, ch) => listener(message, ch);
    listeners.add(own);
    return async () => {
      const current = this.#listeners.get(channel);
      if (!current) return;
      current.delete(own);
      if (current.size === 0) this.#listeners.delete(channel);
    };
  }

  async ping(): Promise<boolean> {
    return !this.#closed;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sweep);
    this.#entries.clear();
    this.#listeners.clear();
  }

  #open(): void {
    if (this.#closed) throw new StoreClosedError();
  }

  #deadline(ttlMs: number | undefined): number | null {
    return ttlMs !== undefined && ttlMs > 0 ? performance.now() + ttlMs : null;
  }

  /** The entry if it exists and has not expired (an expired one is dropped). */
  #live(key: string): Entry | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt !== null && entry.expiresAt <= performance.now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry;
  }

  /** The live entry of the given kind; WRONGTYPE for another kind; created (persistent) when `create`. */
  #entry<K extends Entry['kind']>(key: string, kind: K, create: true): Extract<Entry, { kind: K }>;
  #entry<K extends Entry['kind']>(key: string, kind: K, create?: false): Extract<Entry, { kind: K }> | undefined;
  #entry<K extends Entry['kind']>(key: string, kind: K, create = false): Extract<Entry, { kind: K }> | undefined {
    this.#open();
    const entry = this.#live(key);
    if (entry) {
      if (entry.kind !== kind) throw wrongType();
      return entry as Extract<Entry, { kind: K }>;
    }
    if (!create) return undefined;
    const fresh = (
      kind === 'hash'
        ? { kind, value: new Map<string, string>(), expiresAt: null }
        : { kind, value: new Set<string>(), expiresAt: null }
    ) as Extract<Entry, { kind: K }>;
    this.#entries.set(key, fresh);
    return fresh;
  }

  #sweepExpired(): void {
    const now = performance.now();
    for (const [key, entry] of this.#entries)
      if (entry.expiresAt !== null && entry.expiresAt <= now) this.#entries.delete(key);
  }
}
