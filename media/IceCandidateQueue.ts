import type { IceCandidateInit } from './kurento.js';

export interface IceCandidateQueueOptions {
  /** Candidates kept per key; more are refused. */
  maxPerKey?: number;
  /** Keys kept at once; a new key beyond this is refused. */
  maxKeys?: number;
  /** A queued candidate older than this is dropped (Janus drops pending trickles after 45 s). */
  ttlMs?: number;
}

interface Pending {
  candidates: IceCandidateInit[];
  expiresAt: number;
}

/**
 * ICE candidates that arrive before their endpoint can take them, kept until it can.
 * Keyed by server-side ids only (socket id, live id, role), bounded per key and in keys, with a time-to-live.
 */
export class IceCandidateQueue {
  readonly #maxPerKey: number;
  readonly #maxKeys: number;
  readonly #ttlMs: number;
  readonly #pending = new Map<string, Pending>();
  #sweeper: NodeJS.Timeout | undefined;

  constructor(options: IceCandidateQueueOptions = {}) {
    this.#maxPerKey = options.maxPerKey ?? 64;
    this.#maxKeys = options.maxKeys ?? 10_000;
    this.#ttlMs = options.ttlMs ?? 45_000;
  }

  /** Number of keys holding candidates. */
  get size(): number {
    return this.#pending.size;
  }

  /** Queue a candidate; false when the queue for this key (or the whole queue) is full. */
  push(key: string, candidate: IceCandidateInit): boolean {
    const now = Date.now();
    let entry = this.#pending.get(key);
    if (entry && entry.expiresAt <= now) {
      this.#pending.delete(key);
      entry = undefined;
    }
    if (!entry) {
      if (this.#pending.size >= this.#maxKeys) this.sweep(now);
      if (this.#pending.size >= this.#maxKeys) return false;
      entry = { candidates: [], expiresAt: now + this.#ttlMs };
      this.#pending.set(key, entry);
      this.#armSweeper();
    }
    if (entry.candidates.length >= this.#maxPerKey) return false;
    entry.candidates.push(candidate);
    return true;
  }

  /** Take (and forget) the live candidates queued for a key, oldest first. */
  take(key: string): IceCandidateInit[] {
    const entry = this.#pending.get(key);
    this.#pending.delete(key);
    this.#disarmIfEmpty();
    if (!entry || entry.expiresAt <= Date.now()) return [];
    return entry.candidates;
  }

  /** Forget a key's candidates. */
  drop(key: string): void {
    this.#pending.delete(key);
    this.#disarmIfEmpty();
  }

  /** Drop every expired key. */
  sweep(now = Date.now()): void {
    for (const [key, entry] of this.#pending) if (entry.expiresAt <= now) this.#pending.delete(key);
    this.#disarmIfEmpty();
  }

  /** Forget everything and stop the sweeper. */
  clear(): void {
    this.#pending.clear();
    this.#disarmIfEmpty();
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
