/**
 * Reactions, counted per second for every API process together:
 * - each process adds up what its sockets tap, and once a second adds its counts to the live's pending hash in the
 *   store (fields `<second>:<reaction>`, the second into the live at which the reaction was tapped);
 * - one process at a time holds the live's lease (a store key with a short TTL): once a second it takes what is
 *   pending (by subtracting what it read, so that what other processes add meanwhile stays for the next turn),
 *   sends it as one `reaction:burst` to the live's audience, and adds it to the database, per second and reaction.
 * So a flood costs the audience one message a second, and the database a few upserts a second, whatever the number
 * of processes. The lease moves to another process if its holder stops (its TTL runs out).
 */
import { randomUUID } from 'node:crypto';
import type { ReactionBurst, ReactionKind } from '../contract/chat.js';
import type { Logger } from '../logger.js';
import type { Store } from '../store/Store.js';

export const TICK_MS = 1000;
const LEASE_TTL_MS = 3 * TICK_MS;
/** A process forgets a live this long after its last local reaction (the lease holder: once nothing is pending). */
const IDLE_MS = 5 * TICK_MS;
const PENDING_TTL_MS = 3600_000;
/** Pending fields of seconds older than this (all taken, at zero) are removed. */
const STALE_FIELD_S = 30;

const pendingKey = (liveId: string) => `rx:${liveId}:pending`;
const leaseKey = (liveId: string) => `rx:${liveId}:lease`;

export interface ReactionSink {
  /** Sends a burst to the live's audience. */
  broadcast(burst: ReactionBurst): void;
  /** Adds counts to the database: `second` into the live, per reaction. */
  persist(liveId: string, rows: Array<{ second: number; reaction: ReactionKind; count: number }>): Promise<void>;
  /** Whether the live is still on air (anywhere). */
  onAir(liveId: string): Promise<boolean>;
}

interface Tracked {
  startedAtMs: number;
  /** Local counts not yet in the store, by `<second>:<reaction>`. */
  local: Map<string, number>;
  lastLocalAt: number;
  /** Consecutive turns as lease holder that found nothing pending. */
  emptyTurns: number;
}

export class ReactionAggregator {
  readonly #store: Store;
  readonly #sink: ReactionSink;
  readonly #log: Logger;
  readonly #id = randomUUID();
  readonly #lives = new Map<string, Tracked>();
  #timer: NodeJS.Timeout | undefined;
  /** Turns, ends and the close run one after the other (one drain at a time in this process). */
  #chain: Promise<unknown> = Promise.resolve();
  #ticking = false;
  #closed = false;

  constructor(store: Store, sink: ReactionSink, log: Logger) {
    this.#store = store;
    this.#sink = sink;
    this.#log = log;
  }

  /** Count one reaction tapped now in a live that started at `startedAtMs`. */
  add(liveId: string, startedAtMs: number, reaction: ReactionKind, now = Date.now()): void {
    if (this.#closed) return;
    let tracked = this.#lives.get(liveId);
    if (!tracked) {
      tracked = { startedAtMs, local: new Map(), lastLocalAt: now, emptyTurns: 0 };
      this.#lives.set(liveId, tracked);
    }
    tracked.lastLocalAt = now;
    const second = Math.max(0, Math.floor((now - startedAtMs) / 1000));
    const field = `${second}:${reaction}`;
    tracked.local.set(field, (tracked.local.get(field) ?? 0) + 1);
    this.#timer ??= setInterval(() => this.#tick(), TICK_MS);
    this.#timer.unref();
  }

  /** The live ended: what is pending goes to the database (by its lease holder), then its keys are removed. */
  liveEnded(liveId: string): Promise<void> {
    return this.#serial(() => this.#ended(liveId));
  }

  async #ended(liveId: string): Promise<void> {
    const tracked = this.#lives.get(liveId);
    if (tracked) await this.#push(liveId, tracked);
    if (await this.#takeLease(liveId)) {
      await this.#drain(liveId, false);
      await this.#store.del(pendingKey(liveId), leaseKey(liveId));
    }
    this.#lives.delete(liveId);
  }

  /** Stops: local counts go to the store, a lease held is released. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#serial(() => this.#release());
  }

  async #release(): Promise<void> {
    for (const [liveId, tracked] of this.#lives) {
      await this.#push(liveId, tracked).catch(() => undefined);
      if (await this.#holdsLease(liveId).catch(() => false)) {
        await this.#drain(liveId, true).catch(() => undefined);
        await this.#store.compareAndSet(leaseKey(liveId), this.#id, null).catch(() => false);
      }
    }
    this.#lives.clear();
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#chain.then(work);
    this.#chain = next.catch(() => undefined);
    return next;
  }

  #tick(): void {
    if (this.#ticking || this.#closed) return;
    this.#ticking = true;
    void this.#serial(() => this.#turn())
      .catch((error: unknown) => this.#log.warn({ err: error }, 'reaction aggregation failed'))
      .finally(() => {
        this.#ticking = false;
        if (this.#lives.size === 0) {
          clearInterval(this.#timer);
          this.#timer = undefined;
        }
      });
  }

  async #turn(): Promise<void> {
    const now = Date.now();
    for (const [liveId, tracked] of [...this.#lives]) {
      await this.#push(liveId, tracked);
      const idle = now - tracked.lastLocalAt >= IDLE_MS;
      if (await this.#takeLease(liveId)) {
        if (!(await this.#sink.onAir(liveId))) {
          await this.#drain(liveId, false);
          await this.#store.del(pendingKey(liveId), leaseKey(liveId));
          this.#lives.delete(liveId);
          continue;
        }
        const found = await this.#drain(liveId, true);
        tracked.emptyTurns = found ? 0 : tracked.emptyTurns + 1;
        if (idle && tracked.emptyTurns >= 3) {
          await this.#store.compareAndSet(leaseKey(liveId), this.#id, null);
          this.#lives.delete(liveId);
        }
      } else if (idle) {
        // Another process holds the lease: it takes what this one pushed.
        this.#lives.delete(liveId);
      }
    }
  }

  /** Local counts into the live's pending hash. */
  async #push(liveId: string, tracked: Tracked): Promise<void> {
    if (tracked.local.size === 0) return;
    const entries = [...tracked.local];
    tracked.local.clear();
    for (const [field, count] of entries) await this.#store.hincr(pendingKey(liveId), field, count);
    await this.#store.expire(pendingKey(liveId), PENDING_TTL_MS);
  }

  async #takeLease(liveId: string): Promise<boolean> {
    const key = leaseKey(liveId);
    if (await this.#store.compareAndSet(key, this.#id, this.#id, { ttlMs: LEASE_TTL_MS })) return true;
    return this.#store.set(key, this.#id, { nx: true, ttlMs: LEASE_TTL_MS });
  }

  async #holdsLease(liveId: string): Promise<boolean> {
    return (await this.#store.get(leaseKey(liveId))) === this.#id;
  }

  /** Takes what is pending (lease holder only); resolves whether there was anything. */
  async #drain(liveId: string, broadcast: boolean): Promise<boolean> {
    const key = pendingKey(liveId);
    const pending = await this.#store.hgetall(key);
    const rows: Array<{ second: number; reaction: ReactionKind; count: number }> = [];
    const stale: string[] = [];
    let newest = -1;
    for (const [field, value] of Object.entries(pending)) {
      const count = Number(value);
      const [secondText, reaction] = field.split(':') as [string, ReactionKind];
      const second = Number(secondText);
      newest = Math.max(newest, second);
      if (count > 0) rows.push({ second, reaction, count });
      else stale.push(field);
    }
    for (const row of rows) await this.#store.hincr(key, `${row.second}:${row.reaction}`, -row.count);
    const recent = newest - STALE_FIELD_S;
    const old = stale.filter((field) => Number(field.split(':')[0]) < recent);
    if (old.length) await this.#store.hdel(key, ...old);
    if (rows.length === 0) return false;
    if (broadcast) {
      const counts: ReactionBurst['counts'] = {};
      for (const row of rows) counts[row.reaction] = (counts[row.reaction] ?? 0) + row.count;
      const latest = Math.max(...rows.map((r) => r.second));
      this.#sink.broadcast({ liveId, offsetMs: latest * 1000, counts });
    }
    try {
      await this.#sink.persist(liveId, rows);
    } catch (error) {
      this.#log.error({ liveId, err: error }, 'could not store reaction counts');
    }
    return true;
  }
}
