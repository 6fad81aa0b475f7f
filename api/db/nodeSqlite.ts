/**
 * Node's built-in SQLite (`node:sqlite`, Node ≥ 22.13) behind the part of the `sqlite3` package's API that
 * Sequelize's sqlite dialect calls (`Database` with `run`, `all`, `serialize`, `close`, the open flags, and the
 * `Statement` context of a run's callback). It replaces the native `sqlite3` addon, whose build needs install
 * scripts and a compiler: onair installs with no install script at all (.npmrc `ignore-scripts`), on any npm.
 *
 * Every call runs synchronously on the one connection (Sequelize keeps a pool of one for SQLite), so calls already
 * run in the order they are made and `serialize` only has to call its function. Callbacks are called on a later
 * tick, as sqlite3 does, so no caller sees its callback before its call has returned.
 */
import { EventEmitter } from 'node:events';
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';

export const OPEN_READONLY = 0x1;
export const OPEN_READWRITE = 0x2;
export const OPEN_CREATE = 0x4;
export const OPEN_FULLMUTEX = 0x10000;

/** SQLite's primary result codes by number, as sqlite3 names them in `err.code` (Sequelize switches on it). */
const RESULT_CODES: Record<number, string> = {
  1: 'SQLITE_ERROR',
  2: 'SQLITE_INTERNAL',
  3: 'SQLITE_PERM',
  4: 'SQLITE_ABORT',
  5: 'SQLITE_BUSY',
  6: 'SQLITE_LOCKED',
  7: 'SQLITE_NOMEM',
  8: 'SQLITE_READONLY',
  9: 'SQLITE_INTERRUPT',
  10: 'SQLITE_IOERR',
  11: 'SQLITE_CORRUPT',
  13: 'SQLITE_FULL',
  14: 'SQLITE_CANTOPEN',
  18: 'SQLITE_TOOBIG',
  19: 'SQLITE_CONSTRAINT',
  20: 'SQLITE_MISMATCH',
  21: 'SQLITE_MISUSE',
  23: 'SQLITE_AUTH',
  25: 'SQLITE_RANGE',
  26: 'SQLITE_NOTADB',
};

export interface SqliteError extends Error {
  code: string;
  errno: number;
}

/** node:sqlite's error (`errcode`: the extended result code) as sqlite3 shapes it: `SQLITE_X: message`. */
function toSqlite3Error(error: unknown): SqliteError {
  const source = error instanceof Error ? error : new Error(String(error));
  const extended = (source as { errcode?: unknown }).errcode;
  const errno = typeof extended === 'number' ? extended & 0xff : 1;
  const code = RESULT_CODES[errno] ?? 'SQLITE_ERROR';
  const wrapped = new Error(`${code}: ${source.message}`, { cause: source }) as SqliteError;
  wrapped.code = code;
  wrapped.errno = errno;
  return wrapped;
}

type Params = unknown[] | Record<string, unknown> | undefined;

function toValue(value: unknown): SQLInputValue {
  if (value === undefined || value === null) return null;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'string') return value;
  if (ArrayBuffer.isView(value)) return value as NodeJS.ArrayBufferView;
  return JSON.stringify(value);
}

function bind(statement: StatementSync, params: Params, call: 'run' | 'all'): unknown {
  if (params === undefined || (Array.isArray(params) && params.length === 0)) return statement[call]();
  if (Array.isArray(params)) return statement[call](...params.map(toValue));
  const named: Record<string, SQLInputValue> = {};
  for (const [key, value] of Object.entries(params)) named[key] = toValue(value);
  return statement[call](named);
}

/** A row as sqlite3 gives it: a plain object, blobs as Buffers. */
function toRow(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row)) {
    out[key] = value instanceof Uint8Array ? Buffer.from(value.buffer, value.byteOffset, value.byteLength) : value;
  }
  return out;
}

/** The `this` of a run's callback: Sequelize reads `lastID` and `changes` (and checks the class name). */
export class Statement {
  constructor(
    readonly sql: string,
    readonly lastID: number,
    readonly changes: number,
  ) {}
}

type RunCallback = (this: Statement, err: SqliteError | null) => void;
type AllCallback = (this: Statement, err: SqliteError | null, rows?: Array<Record<string, unknown>>) => void;

export class Database extends EventEmitter {
  readonly filename: string;
  #db: DatabaseSync | null = null;

  constructor(
    filename: string,
    mode?: number | ((err: SqliteError | null) => void),
    callback?: (err: SqliteError | null) => void,
  ) {
    super();
    const done = typeof mode === 'function' ? mode : callback;
    const flags = typeof mode === 'number' ? mode : OPEN_READWRITE | OPEN_CREATE;
    this.filename = filename;
    let failure: SqliteError | null = null;
    try {
      this.#db = new DatabaseSync(filename, { readOnly: (flags & OPEN_READWRITE) === 0 });
    } catch (error) {
      failure = toSqlite3Error(error);
    }
    setImmediate(() => {
      if (done) done(failure);
      else if (failure) this.emit('error', failure);
      else this.emit('open');
    });
  }

  /** sqlite3's `configure('busyTimeout', ms)`: how long a statement waits for another connection's lock. */
  configure(option: 'busyTimeout', ms: number): void {
    if (option === 'busyTimeout') this.#open().exec(`PRAGMA busy_timeout = ${Math.max(0, Math.floor(ms))}`);
  }

  serialize(fn?: () => void): void {
    fn?.();
  }

  run(sql: string, params?: Params | RunCallback, callback?: RunCallback): this {
    const [args, cb] = typeof params === 'function' ? [undefined, params] : [params, callback];
    let context = new Statement(sql, 0, 0);
    let failure: SqliteError | null = null;
    try {
      const result = bind(this.#open().prepare(sql), args, 'run') as {
        changes: number | bigint;
        lastInsertRowid: number | bigint;
      };
      context = new Statement(sql, Number(result.lastInsertRowid), Number(result.changes));
    } catch (error) {
      failure = toSqlite3Error(error);
    }
    this.#callBack(failure, cb ? () => cb.call(context, failure) : undefined);
    return this;
  }

  all(sql: string, params?: Params | AllCallback, callback?: AllCallback): this {
    const [args, cb] = typeof params === 'function' ? [undefined, params] : [params, callback];
    const context = new Statement(sql, 0, 0);
    let rows: Array<Record<string, unknown>> | undefined;
    let failure: SqliteError | null = null;
    try {
      rows = (bind(this.#open().prepare(sql), args, 'all') as Array<Record<string, unknown>>).map(toRow);
    } catch (error) {
      failure = toSqlite3Error(error);
    }
    this.#callBack(failure, cb ? () => cb.call(context, failure, rows) : undefined);
    return this;
  }

  exec(sql: string, callback?: (err: SqliteError | null) => void): this {
    let failure: SqliteError | null = null;
    try {
      this.#open().exec(sql);
    } catch (error) {
      failure = toSqlite3Error(error);
    }
    this.#callBack(failure, callback ? () => callback(failure) : undefined);
    return this;
  }

  close(callback?: (err: SqliteError | null) => void): void {
    let failure: SqliteError | null = null;
    try {
      this.#db?.close();
    } catch (error) {
      failure = toSqlite3Error(error);
    }
    this.#db = null;
    this.#callBack(failure, callback ? () => callback(failure) : undefined);
  }

  #open(): DatabaseSync {
    if (!this.#db) throw Object.assign(new Error('the database is closed'), { errcode: 21 });
    return this.#db;
  }

  /** Calls back on a later tick; a failure nobody takes a callback for is an `error` event, as in sqlite3. */
  #callBack(failure: SqliteError | null, call: (() => void) | undefined): void {
    setImmediate(() => {
      if (call) call();
      else if (failure) this.emit('error', failure);
    });
  }
}

export default { Database, Statement, OPEN_READONLY, OPEN_READWRITE, OPEN_CREATE, OPEN_FULLMUTEX };
