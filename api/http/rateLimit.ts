/**
 * Rate limits on express-rate-limit, counted in our Store so that every API process sharing Redis shares the
 * counts. Over the limit: 429 `request.rateLimited` with `Retry-After` and the draft-7 `RateLimit` headers.
 */
import { rateLimit, type Options, type Store as RateLimitStore, type IncrementResponse } from 'express-rate-limit';
import type { RequestHandler } from 'express';
import { OnairError } from '../contract/errors.js';
import type { Store } from '../store/Store.js';

/** express-rate-limit's store interface over a Store: fixed windows, one counter key per client. */
export class StoreRateLimitStore implements RateLimitStore {
  readonly localKeys = false;
  readonly prefix: string;
  readonly #store: Store;
  #windowMs = 60_000;

  constructor(store: Store, name: string) {
    this.#store = store;
    this.prefix = `ratelimit:${name}:`;
  }

  init(options: Options): void {
    this.#windowMs = options.windowMs;
  }

  async increment(key: string): Promise<IncrementResponse> {
    const { value, ttlMs } = await this.#store.incr(this.prefix + key, 1, this.#windowMs);
    const resetIn = Number.isFinite(ttlMs) ? ttlMs : this.#windowMs;
    return { totalHits: value, resetTime: new Date(Date.now() + resetIn) };
  }

  async decrement(key: string): Promise<void> {
    await this.#store.incr(this.prefix + key, -1, this.#windowMs);
  }

  async resetKey(key: string): Promise<void> {
    await this.#store.del(this.prefix + key);
  }
}

export interface LimitOptions {
  /** Names the counter family in the store (`ratelimit:<name>:<client>`). */
  name: string;
  /** Requests allowed per window and client. */
  limit: number;
  windowMs: number;
  /** What the 429 message says is limited. */
  what: string;
}

/** A per-client-address limiter answering with the API's error shape. */
export function storeRateLimit(store: Store, options: LimitOptions): RequestHandler {
  return rateLimit({
    windowMs: options.windowMs,
    limit: options.limit,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    store: new StoreRateLimitStore(store, options.name),
    // A store failure must not lock everyone out; the error is logged by the request log.
    passOnStoreError: true,
    handler: (_req, _res, next) => {
      next(new OnairError('request.rateLimited', `too many ${options.what}; try again later`));
    },
  });
}
