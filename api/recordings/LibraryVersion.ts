/**
 * The library's version: it changes with every write of recordings or users (through the models) by any API
 * process sharing the Store, so that an answer cached under one version is never served after such a write.
 * A write bumps it as soon as it is made and again once its transaction commits (a reader between the two may
 * have read the old rows under the new version), and the request that wrote only answers after both.
 * Writes must go through the models (instances or Model.update/destroy/bulkCreate): raw SQL is not seen.
 */
import type { Logger } from 'pino';
import type { Model, ModelStatic, Sequelize, Transaction } from 'sequelize';
import type { Store } from '../store/Store.js';

const KEY = 'recordings:version';
const HOOKS = ['afterSave', 'afterDestroy', 'afterBulkCreate', 'afterBulkUpdate', 'afterBulkDestroy', 'afterUpsert'] as const;

let instances = 0;

export class LibraryVersion {
  readonly #store: Store | null;
  readonly #sequelize: Sequelize;
  readonly #log: Logger;
  readonly #hookName = `onair-library-version-${++instances}`;
  /** Bumped by this process's writes, synchronously (before any await). */
  #local = 0;
  #closed = false;

  /** Watches writes of `models` on `sequelize`; without a store, only this process's writes are seen. */
  constructor(sequelize: Sequelize, models: ModelStatic<Model>[], store: Store | null, log: Logger) {
    this.#sequelize = sequelize;
    this.#store = store;
    this.#log = log;
    const watched = new Set<unknown>(models);
    const written = (transaction: Transaction | null) => this.#written(transaction);
    for (const hook of HOOKS) {
      // Universal hooks run with the model as `this`; the last argument holds the options (and the transaction).
      sequelize.addHook(hook, this.#hookName, function (this: unknown, ...args: unknown[]) {
        if (!watched.has(this)) return;
        const options = args[args.length - 1] as { transaction?: Transaction | null } | undefined;
        return written(options?.transaction ?? null);
      });
    }
  }

  /** The current version, or null when the store cannot tell (then nothing may be served from a cache). */
  async current(): Promise<string | null> {
    const local = this.#local;
    if (!this.#store) return `${local}`;
    try {
      return `${(await this.#store.get(KEY)) ?? 0}.${local}`;
    } catch (err) {
      this.#log.warn({ err }, 'reading the library version failed: answering without the cache');
      return null;
    }
  }

  /** Marks a change (also called by the hooks). */
  async bump(): Promise<void> {
    this.#local++;
    if (!this.#store) return;
    try {
      await this.#store.incr(KEY);
    } catch (err) {
      // Other processes see the change when their cached answers expire (RECORDING_TOTAL_TTL_S).
      this.#log.error({ err }, 'bumping the library version failed');
    }
  }

  #written(transaction: Transaction | null): Promise<void> {
    if (transaction) transaction.afterCommit(() => this.bump());
    return this.bump();
  }

  /** Stops watching writes. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const hook of HOOKS) this.#sequelize.removeHook(hook, this.#hookName);
  }
}
