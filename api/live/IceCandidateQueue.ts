import type { IceCandidateInit } from '../contract/signalling.js';

export interface IceCandidateQueueOptions {
  /** Candidates kept per key; more are refused. */
  maxPerKey?: number;
  /** Keys kept at once. */
  maxKeys?: number;
  /** Bytes (estimated, see `candidateBytes`) kept at once over every owner. */
  maxBytes?: number;
  /** Bytes one owner (an account) may have queued at once; its further candidates are refused. */
  maxBytesPerOwner?: number;
  /** A queued candidate older than this is dropped (Janus drops pending trickles after 45 s). */
  ttlMs?: number;
}

interface Pending {
  owner: string;
  candidates: IceCandidateInit[];
  bytes: number;
  expiresAt: number;
}

interface Owner {
  bytes: number;
  /** This owner's keys, oldest first. */
  keys: Set<string>;
}

/** What a parked candidate costs in memory, estimated: its strings (UTF-16) and the objects around them. */
export function candidateBytes(candidate: IceCandidateInit): number {
  return 256 + 2 * (candidate.candidate.length + (candidate.sdpMid?.length ?? 0));
}

/**
 * ICE candidates that arrive before their endpoint can take them, kept until it can.
 * Keyed by server-side ids only (socket id, live id, role), with a time-to-live, and bounded: per key (candidates),
 * per owner (bytes: one account cannot hold more than its share) and overall (keys and bytes). When the whole queue
 * is full, room for an owner is made by dropping the oldest key of the owner holding the most, as long as that
 * owner holds more than the one asking: so one account filling the queue never stops another's candidates.
 */
export class IceCandidateQueue {
  readonly #maxPerKey: number;
  readonly #maxKeys: number;
  readonly #maxBytes: number;
  readonly #maxBytesPerOwner: number;
  readonly #ttlMs: number;
  readonly #pending = new Map<string, Pending>();
  readonly #owners = new Map<string, Owner>();
  #bytes = 0;
  #sweeper: NodeJS.Timeout | undefined;

  constructor(options: IceCandidateQueueOptions = {}) {
    this.#maxPerKey = options.maxPerKey ?? 64;
    this.#maxKeys = options.maxKeys ?? 10_000;
    this.#maxBytes = options.maxBytes ?? 16 * 1024 * 1024;
    this.#maxBytesPerOwner = options.maxBytesPerOwner ?? 128 * 1024;
    this.#ttlMs = options.ttlMs ?? 45_000;
  }

  /** Number of keys holding candidates. */
  get size(): number {
    return this.#pending.size;
  }

  /** Estimated bytes held, overall or by one owner. */
  bytes(owner?: string): number {
    return owner === undefined ? this.#bytes : (this.#owners.get(owner)?.bytes ?? 0);
  }

  /**
   * Queue a candidate for `key`, on behalf of `owner` (default: the key itself); false when refused: the key is
   * full, the owner has used its share, or the queue is full of owners holding no more than this one.
   */
  push(key: string, candidate: IceCandidateInit, owner: string = key): boolean {
    const now = Date.now();
    const size = candidateBytes(candidate);
    let entry = this.#pending.get(key);
    if (entry && (entry.expiresAt <= now || entry.owner !== owner)) {
      this.#remove(key);
      entry = undefined;
    }
    if (entry && entry.candidates.length >= this.#maxPerKey) return false;
    if (this.bytes(owner) + size > this.#maxBytesPerOwner) return false;
    const newKey = entry ? 0 : 1;
    if (!this.#makeRoom(owner, size, newKey, now)) return false;
    if (!entry) {
      entry = { owner, candidates: [], bytes: 0, expiresAt: now + this.#ttlMs };
      this.#pending.set(key, entry);
      let held = this.#owners.get(owner);
      if (!held) this.#owners.set(owner, (held = { bytes: 0, keys: new Set() }));
      held.keys.add(key);
      this.#armSweeper();
    }
    entry.candidates.push(candidate);
    entry.bytes += size;
    this.#owners.get(owner)!.bytes += size;
    this.#bytes += size;
    return true;
  }

  /** Take (and forget) the live candidates queued for a key, oldest first. */
  take(key: string): IceCandidateInit[] {
    const entry = this.#remove(key);
    this.#disarmIfEmpty();
    if (!entry || entry.expiresAt <= Date.now()) return [];
    return entry.candidates;
  }

  /** Forget a key's candidates. */
  drop(key: string): void {
    this.#remove(key);
    this.#disarmIfEmpty();
  }

  /** Drop every expired key. */
  sweep(now = Date.now()): void {
    for (const [key, entry] of this.#pending) if (entry.expiresAt <= now) this.#remove(key);
    this.#disarmIfEmpty();
  }

  /** Forget everything and stop the sweeper. */
  clear(): void {
    this.#pending.clear();
    this.#owners.clear();
    this.#bytes = 0;
    this.#disarmIfEmpty();
  }

  /** Whether `size` more bytes (and `newKeys` more keys) fit, after expired keys and fair evictions. */
  #makeRoom(owner: string, size: number, newKeys: number, now: number): boolean {
    const fits = () => this.#bytes + size <= this.#maxBytes && this.#pending.size + newKeys <= this.#maxKeys;
    if (fits()) return true;
    this.sweep(now);
    while (!fits()) {
      let biggest: [string, Owner] | undefined;
      for (const held of this.#owners) if (!biggest || held[1].bytes > biggest[1].bytes) biggest = held;
      // Only an owner holding more than the asker (once it got this candidate) gives way.
      if (!biggest || biggest[0] === owner || biggest[1].bytes <= this.bytes(owner) + size) return false;
      const oldest = biggest[1].keys.values().next().value;
      if (oldest === undefined) return false;
      this.#remove(oldest);
    }
    return true;
  }

  #remove(key: string): Pending | undefined {
    const entry = this.#pending.get(key);
    if (!entry) return undefined;
    this.#pending.delete(key);
    this.#bytes -= entry.bytes;
    const held = this.#owners.get(entry.owner);
    if (held) {
      held.bytes -= entry.bytes;
      held.keys.delete(key);
      if (held.keys.size === 0) this.#owners.delete(entry.owner);
    }
    return entry;
  }

  #armSweeper(): void {
    if (this.#sweeper) return;
    this.#sweeper = setInterval(() => this.sweep(), Math.max(1000, Math.floor(this.#ttlMs / 2)));
    this.#sweeper.unref();
  }

  #disarmIfEmpty(): void {
    if (this.#pending.size === 0 && this.#sweeper) {
      clearInterval(this.#sweeper);
      this.#sweeper = undefined;
    }
  }
}
