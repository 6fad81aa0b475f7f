/**
 * Answers of the library's costly queries, kept a short while: the totals (so that 100 000 rows are not counted on
 * every request) and the pages of a text search (a word found in a fifth of the library costs a FULLTEXT scan of
 * all its matches to rank them). Each answer, keyed by its SQL text and bound values, is kept for
 * RECORDING_TOTAL_TTL_S seconds, dropped as soon as this process writes a recording (the Recording model's
 * `generation`), and computed once however many requests ask for it at the same time. Another API process's
 * writes show after the time-to-live at most: list answers say `cached` and since when.
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
  generation: number;
  at: number;
  value: Promise<unknown>;
}

export class QueryCache {
  readonly #entries = new Map<string, Entry>();
  readonly #sequelize: Sequelize;
  readonly #generation: () => number;
  readonly #ttlMs: number;
  readonly #max: number;

  constructor(sequelize: Sequelize, generation: () => number, options: { ttlMs?: number; max?: number } = {}) {
    this.#sequelize = sequelize;
    this.#generation = generation;
    this.#ttlMs = options.ttlMs ?? RECORDING_TOTAL_TTL_S * 1000;
    this.#max = options.max ?? 2000;
  }

  /** The rows of a SELECT. */
  rows<T extends object>(sql: string, params: unknown[]): Promise<Cached<T[]>> {
    return this.#get(sql, params, () => this.#sequelize.query<T>(sql, { replacements: params, type: QueryTypes.SELECT }));
  }

  /** The count of a `SELECT COUNT(*) AS n …`. */
  count(sql: string, params: unknown[]): Promise<Cached<number>> {
    return this.#get(sql, params, async () => {
      const [row] = await this.#sequelize.query<{ n: number | string }>(sql, {
        replacements: params,
        type: QueryTypes.SELECT,
      });
      return Number(row?.n ?? 0);
    });
  }

  async #get<T>(sql: string, params: unknown[], run: () => Promise<T>): Promise<Cached<T>> {
    const key = `${sql}\n${JSON.stringify(params)}`;
    const now = Date.now();
    const generation = this.#generation();
    const entry = this.#entries.get(key);
    if (entry && entry.generation === generation && now - entry.at < this.#ttlMs) {
      return { value: (await entry.value) as T, at: entry.at, fresh: false };
    }
    const value = run();
    const created: Entry = { generation, at: now, value };
    this.#entries.delete(key);
    this.#entries.set(key, created);
    if (this.#entries.size > this.#max) this.#entries.delete(this.#entries.keys().next().value!);
    value.catch(() => this.#entries.get(key) === created && this.#entries.delete(key));
    return { value: await value, at: now, fresh: true };
  }
}
