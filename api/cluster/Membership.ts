/**
 * Which API processes sharing the store are alive: one heart-beat per process, and the take-over of a dead one.
 *
 * Each process is a member (`cluster:members`) with a heart-beat key (`cluster:alive:<id>`, TTL `instanceTtlMs`)
 * and the time of its last beat (`cluster:seen:<id>`, kept long after). A member whose heart-beat expired (a
 * crash, a kill -9) is claimed by exactly one survivor (`cluster:takeover:<id>`, set only if absent), which runs
 * every `onGone` handler in order and then forgets the member. A claim has a TTL: when the survivor dies or a
 * handler fails mid-way, another survivor claims the member again later (so handlers are idempotent).
 *
 * A process that stops gracefully leaves at once (`close()`). A restarted process has a new id, so the death of
 * the old one is noticed all the same, within the TTL.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '../logger.js';
import type { Store } from '../store/Store.js';

export interface MembershipOptions {
  store: Store;
  log: Logger;
  instanceId?: string;
  /** A process silent for this long is dead (INSTANCE_TTL_MS). */
  instanceTtlMs?: number;
  /** How often this process says it is alive and looks for dead ones (default: a third of the TTL). */
  heartbeatMs?: number;
  /** How long a survivor's claim on a dead member holds before another may retry (default max(60 s, 4 TTLs)). */
  claimTtlMs?: number;
}

/** A member that stopped heart-beating. */
export interface GoneMember {
  instanceId: string;
  /** Its last heart-beat: the last time it was known alive. */
  lastSeenAt: Date;
}

export type GoneHandler = (member: GoneMember) => Promise<void>;

export const DEFAULT_INSTANCE_TTL_MS = 15_000;
const MEMBERS = 'cluster:members';
const aliveKey = (id: string) => `cluster:alive:${id}`;
const seenKey = (id: string) => `cluster:seen:${id}`;
const takeoverKey = (id: string) => `cluster:takeover:${id}`;
/** How long the last beat of a member is remembered (for its take-over, however late). */
const SEEN_TTL_MS = 7 * 24 * 3600_000;

export class Membership {
  readonly instanceId: string;
  readonly instanceTtlMs: number;
  readonly heartbeatMs: number;
  readonly #claimTtlMs: number;
  readonly #store: Store;
  readonly #log: Logger;
  readonly #handlers: Array<{ name: string; handler: GoneHandler }> = [];
  #timer: NodeJS.Timeout | undefined;
  #sweeping: Promise<void> | undefined;
  #closed = false;

  constructor(opts: MembershipOptions) {
    this.#store = opts.store;
    this.#log = opts.log;
    this.instanceId = opts.instanceId ?? randomUUID();
    this.instanceTtlMs = opts.instanceTtlMs ?? DEFAULT_INSTANCE_TTL_MS;
    this.heartbeatMs = opts.heartbeatMs ?? Math.max(100, Math.floor(this.instanceTtlMs / 3));
    this.#claimTtlMs = opts.claimTtlMs ?? Math.max(60_000, this.instanceTtlMs * 4);
  }

  /** What a survivor does for a dead member (handlers run in the order they were added). */
  onGone(name: string, handler: GoneHandler): void {
    this.#handlers.push({ name, handler });
  }

  /** Join: beat now, then beat and sweep on a timer until close(). */
  async start(): Promise<void> {
    if (this.#closed || this.#timer) return;
    await this.#beat();
    this.#timer = setInterval(() => {
      void this.#beat()
        .then(() => this.sweep())
        .catch((error: unknown) => this.#log.warn({ err: error }, 'cluster heart-beat failed'));
    }, this.heartbeatMs);
    this.#timer.unref();
  }

  /** Leave at once (a graceful stop): the others do not wait for the TTL, nor take anything over. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#sweeping;
    try {
      await this.#store.del(aliveKey(this.instanceId), seenKey(this.instanceId));
      await this.#store.srem(MEMBERS, this.instanceId);
    } catch (error) {
      this.#log.warn({ err: error }, 'could not leave the cluster');
    }
  }

  /** Whether a process is alive (this one always is). */
  async isAlive(instanceId: string): Promise<boolean> {
    if (instanceId === this.instanceId) return true;
    return instanceId !== '' && (await this.#store.get(aliveKey(instanceId))) !== null;
  }

  /** Whether a process is alive, or dead but not taken over yet (what it held is still going to be handled). */
  async isMember(instanceId: string): Promise<boolean> {
    return (await this.isAlive(instanceId)) || (await this.#store.sismember(MEMBERS, instanceId));
  }

  /** The other processes that are alive. */
  async aliveOthers(): Promise<string[]> {
    const others = (await this.#store.smembers(MEMBERS)).filter((id) => id !== this.instanceId);
    const alive = await Promise.all(others.map((id) => this.isAlive(id)));
    return others.filter((_, i) => alive[i]);
  }

  /** Take over the members whose heart-beat expired. Concurrent calls share one round; never rejects. */
  sweep(): Promise<void> {
    this.#sweeping ??= this.#sweepRound()
      .catch((error: unknown) => this.#log.warn({ err: error }, 'cluster sweep failed'))
      .finally(() => (this.#sweeping = undefined));
    return this.#sweeping;
  }

  async #sweepRound(): Promise<void> {
    for (const instanceId of await this.#store.smembers(MEMBERS)) {
      if (this.#closed) return;
      if (await this.isAlive(instanceId)) continue;
      const claim = { nx: true, ttlMs: this.#claimTtlMs };
      if (!(await this.#store.set(takeoverKey(instanceId), this.instanceId, claim))) continue;
      const seen = Number(await this.#store.get(seenKey(instanceId)));
      const member: GoneMember = { instanceId, lastSeenAt: new Date(seen > 0 ? seen : Date.now()) };
      this.#log.warn(
        { instanceId, lastSeenAt: member.lastSeenAt.toISOString() },
        'an API process stopped heart-beating: taking over what it held',
      );
      let done = true;
      for (const { name, handler } of this.#handlers) {
        try {
          await handler(member);
        } catch (error) {
          done = false;
          this.#log.error({ instanceId, step: name, err: error }, 'taking over a dead API process failed');
        }
      }
      // Left claimed when a step failed: another round (of any survivor) retries once the claim expires.
      if (!done) continue;
      await this.#store.srem(MEMBERS, instanceId);
      await this.#store.del(seenKey(instanceId), takeoverKey(instanceId));
    }
  }

  async #beat(): Promise<void> {
    if (this.#closed) return;
    const now = String(Date.now());
    await this.#store.set(aliveKey(this.instanceId), now, { ttlMs: this.instanceTtlMs });
    await this.#store.set(seenKey(this.instanceId), now, { ttlMs: SEEN_TTL_MS });
    await this.#store.sadd(MEMBERS, this.instanceId);
  }
}
