/**
 * Answers of the library kept a short while: whole list answers (the rows of a page as one viewer sees them), the
 * totals (so that 100 000 rows are not counted on every request) and the candidates of a text search (a word
 * found in a fifth of the library costs a FULLTEXT scan of all its matches to rank them). Each answer is kept for
 * RECORDING_TOTAL_TTL_S seconds under the library's version (LibraryVersion: it changes with every write of any API
 * process sharing the store, so an answer is never served after a change), and computed once however many requests
 * ask for it at the same time. List answers say `cached` and since when. An answer asked for in the last part of
 * its life is computed again in the background while the kept one still answers, so a busy answer never expires
 * under its askers (who would all wait for the recount at once). The least recently asked answers go first.
 */
import { QueryTypes, type Sequelize } from 'sequelize';
import { RECORDING_TOTAL_TTL_S } from '../contract/rest.js';

export interface Cached<T> {
  value: T;
  /** When it was computed (ms since the epoch). */
  at: number;
  /** Computed for this request. */
  fresh: boolean;
}

interface Entry {
  version: string;
  at: number;
  value: Promise<unknown>;
  /** Being computed again (refresh ahead). */
  refreshing?: boolean;
}

/** An answer asked for once it has lived this share of its TTL is computed again ahead of its expiry. */
const REFRESH_AHEAD = 0.75;

export class QueryCache {
  readonly #entries = new Map<string, Entry>();
  readonly #sequelize: Sequelize;
  readonly #ttlMs: number;
  readonly #max: number;

  constructor(sequelize: Sequelize, options: { ttlMs?: number; max?: number } = {}) {
    this.#sequelize = sequelize;
    this.#ttlMs = options.ttlMs ?? RECORDING_TOTAL_TTL_S * 1000;
    this.#max = options.max ?? 4000;
  }

  /** The rows of a SELECT. */
  rows<T extends object>(sql: string, params: unknown[], version: string | null): Promise<Cached<T[]>> {
    return this.get(`${sql}\n${JSON.stringify(params)}`, version, () =>
      this.#sequelize.query<T>(sql, { replacements: params, type: QueryTypes.SELECT }),
    );
  }

  /** The count of a `SELECT COUNT(*) AS n …`. */
  count(sql: string, params: unknown[], version: string | null): Promise<Cached<number>> {
    return this.get(`${sql}\n${JSON.stringify(params)}`, version, async () => {
      const [row] = await this.#sequelize.query<{ n: number | string }>(sql, {
        replacements: params,
        type: QueryTypes.SELECT,
      });
      return Number(row?.n ?? 0);
    });
  }

  /** The count of `userId` in a `SELECT userId, COUNT(*) AS n … GROUP BY userId` (kept once for every user). */
  async countOf(sql: string, params: unknown[], userId: number, version: string | null): Promise<Cached<number>> {
    const counts = await this.get(`${sql}\n${JSON.stringify(params)}`, version, async () => {
      const rows = await this.#sequelize.query<{ userId: number | string; n: number | string }>(sql, {
        replacements: params,
        type: QueryTypes.SELECT,
      });
      return new Map(rows.map((row) => [Number(row.userId), Number(row.n)]));
    });
    return { ...counts, value: counts.value.get(userId) ?? 0 };
  }

  /**
   * Values by id (`fetch` reads those not kept, in one go): each kept under its id at `version`. An id `fetch`
   * does not answer is absent from the map (and not kept).
   */
  async byId<T>(ids: number[], version: string | null, fetch: (ids: number[]) => Promise<Map<number, T>>): Promise<Map<number, T>> {
    const now = Date.now();
    const out = new Map<number, T>();
    if (version === null) return fetch(ids);
    const waiting: Array<[number, Promise<unknown>]> = [];
    const missing: number[] = [];
    for (const id of ids) {
      const entry = this.#entries.get(`${id}`);
      if (entry && entry.version === version && now - entry.at < this.#ttlMs) {
        this.#set(`${id}`, entry);
        waiting.push([id, entry.value]);
      } else missing.push(id);
    }
    if (missing.length) {
      const fetched = fetch(missing);
      for (const id of missing) {
        const key = `${id}`;
        const value = fetched.then((m) => {
          if (!m.has(id)) throw new Error('not found');
          return m.get(id);
        });
        const created: Entry = { version, at: now, value };
        this.#set(key, created);
        value.catch(() => this.#entries.get(key) === created && this.#entries.delete(key));
        waiting.push([id, value.catch(() => undefined)]);
      }
      // A failed read fails the caller (not a missing row).
      await fetched;
    }
    for (const [id, value] of waiting) {
      const v = (await value) as T | undefined;
      if (v !== undefined) out.set(id, v);
    }
    return out;
  }

  #set(key: string, entry: Entry): void {
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    if (this.#entries.size > this.#max) this.#entries.delete(this.#entries.keys().next().value!);
  }

  /**
   * The answer kept under `key` at `version`, else `run()`'s (a null version: always `run()`, nothing kept).
   * `asOf` tells when an answer built from other kept answers is as of (their oldest `at`): it expires with them.
   */
  async get<T>(key: string, version: string | null, run: () => Promise<T>, asOf?: (value: T) => number): Promise<Cached<T>> {
    const now = Date.now();
    if (version === null) return { value: await run(), at: now, fresh: true };
    const entry = this.#entries.get(key);
    if (entry && entry.version === version && now - entry.at < this.#ttlMs) {
      this.#set(key, entry); // the most recently asked now
      if (!entry.refreshing && now - entry.at >= this.#ttlMs * REFRESH_AHEAD) this.#refresh(key, entry, run, asOf);
      return { value: (await entry.value) as T, at: entry.at, fresh: false };
    }
    const value = run();
    const created: Entry = { version, at: now, value };
    this.#set(key, created);
    value.then(
      (v) => {
        if (asOf) created.at = Math.min(created.at, asOf(v));
      },
      () => this.#entries.get(key) === created && this.#entries.delete(key),
    );
    return { value: await value, at: now, fresh: true };
  }

  /** Compute `entry`'s answer again; it replaces `entry` once ready, if nothing replaced it meanwhile. */
  #refresh<T>(key: string, entry: Entry, run: () => Promise<T>, asOf?: (value: T) => number): void {
    entry.refreshing = true;
    const started = Date.now();
    run().then(
      (value) => {
        const at = asOf ? Math.min(started, asOf(value)) : started;
        if (this.#entries.get(key) === entry) this.#set(key, { version: entry.version, at, value: Promise.resolve(value) });
      },
      () => {
        entry.refreshing = false; // the kept answer stands until its expiry; a later ask tries again
      },
    );
  }
}
