/**
 * The database: Sequelize from DATABASE_URL (MySQL/MariaDB through mysql2, or SQLite), with the models
 * bound to it. Same behaviour on both: UTC dates with milliseconds, utf8mb4 text, foreign keys enforced.
 */
import path from 'node:path';
import type { Logger } from 'pino';
import { Sequelize, type Options } from 'sequelize';
import { defineCall, type Call } from './Call.js';
import { defineLive, type Live } from './Live.js';
import { migrateDown, migrateUp } from './migrator.js';
import { defineRecording, type Recording } from './Recording.js';
import { defineStreamKey, type StreamKey } from './StreamKey.js';
import { defineUser, type User } from './User.js';
import nodeSqlite from './nodeSqlite.js';

export { User } from './User.js';
export { Live } from './Live.js';
export { Recording } from './Recording.js';
export { Call } from './Call.js';
export { StreamKey } from './StreamKey.js';
export { newPublicId, isPublicId, PUBLIC_ID_PATTERN } from './ids.js';

export interface Models {
  User: typeof User;
  Live: typeof Live;
  Recording: typeof Recording;
  Call: typeof Call;
  StreamKey: typeof StreamKey;
}

export interface Database extends Models {
  readonly sequelize: Sequelize;
  readonly dialect: 'mysql' | 'sqlite';
  /** Applies pending migrations; resolves their names. */
  migrate(): Promise<string[]>;
  /** Reverts migrations (the last one by default). */
  migrateDown(steps?: number | 'all'): Promise<string[]>;
  /** True when the database answers. Never rejects. */
  ping(): Promise<boolean>;
  /** Closes every connection; idempotent. */
  close(): Promise<void>;
}

export interface DatabaseOptions {
  log?: Logger;
  /** Base for a relative SQLite path (default: the working directory). */
  cwd?: string;
  pool?: { max?: number };
}

/** Sequelize options for a DATABASE_URL (`sqlite:<file>`, `sqlite::memory:`, `mysql://…`, `mariadb://…`). */
export function sequelizeOptions(databaseUrl: string, options: DatabaseOptions = {}): Options & { url?: string } {
  const log = options.log;
  const common: Options = {
    logging: log?.isLevelEnabled('trace') ? (sql: string) => log.trace({ sql }, 'sql') : false,
    timezone: '+00:00',
    define: { charset: 'utf8mb4', collate: 'utf8mb4_unicode_ci' },
  };
  if (databaseUrl.startsWith('sqlite:')) {
    const file = databaseUrl.slice('sqlite:'.length);
    const storage = file === ':memory:' ? ':memory:' : path.resolve(options.cwd ?? process.cwd(), file);
    return { ...common, dialect: 'sqlite', dialectModule: nodeSqlite, storage, pool: { max: 1, min: 0, idle: 10_000 } };
  }
  if (/^(mysql|mariadb):\/\//.test(databaseUrl)) {
    return {
      ...common,
      url: databaseUrl.replace(/^mariadb:/, 'mysql:'),
      dialect: 'mysql',
      dialectOptions: { charset: 'utf8mb4', connectTimeout: 10_000 },
      pool: { max: options.pool?.max ?? 10, min: 0, idle: 10_000, acquire: 30_000 },
    };
  }
  throw new Error(`unsupported DATABASE_URL scheme: ${databaseUrl.split(':')[0]}`);
}

/** Connects (and checks the connection) and binds the models. Migrations are not run here: call `migrate()`. */
export async function openDatabase(databaseUrl: string, options: DatabaseOptions = {}): Promise<Database> {
  const { url, ...sequelizeOpts } = sequelizeOptions(databaseUrl, options);
  const sequelize = url ? new Sequelize(url, sequelizeOpts) : new Sequelize(sequelizeOpts);
  const dialect = sequelize.getDialect() as 'mysql' | 'sqlite';
  if (dialect === 'sqlite') {
    sequelize.addHook('afterConnect', async (connection: unknown) => {
      const db = connection as {
        configure(option: 'busyTimeout', ms: number): void;
        exec(sql: string, cb: (err: Error | null) => void): void;
      };
      db.configure('busyTimeout', 5000);
      // WAL lets readers and a writer work together on a file; an in-memory database ignores it.
      await new Promise<void>((resolve, reject) =>
        db.exec('PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON;', (err) => (err ? reject(err) : resolve())),
      );
    });
  }
  try {
    await sequelize.authenticate();
  } catch (err) {
    await sequelize.close().catch(() => undefined);
    throw new Error(`cannot open the database (${dialect}): ${(err as Error).message}`, { cause: err });
  }

  const models: Models = {
    User: defineUser(sequelize),
    Live: defineLive(sequelize),
    Recording: defineRecording(sequelize),
    Call: defineCall(sequelize),
    StreamKey: defineStreamKey(sequelize),
  };
  associate(models);

  let closing: Promise<void> | null = null;
  return {
    ...models,
    sequelize,
    dialect,
    migrate: () => migrateUp(sequelize, options.log),
    migrateDown: (steps = 1) => migrateDown(sequelize, steps, options.log),
    async ping() {
      if (closing) return false;
      try {
        await sequelize.query('SELECT 1');
        return true;
      } catch {
        return false;
      }
    },
    close() {
      closing ??= sequelize.close().catch((err: Error) => options.log?.warn({ err }, 'closing the database failed'));
      return closing;
    },
  };
}

function associate({ User, Live, Recording, Call, StreamKey }: Models): void {
  // Foreign keys and their ON DELETE rules live in the migrations; `constraints: false` keeps Sequelize from
  // inventing its own.
  const noConstraints = { constraints: false } as const;
  Live.belongsTo(User, { as: 'user', foreignKey: 'userId', ...noConstraints });
  User.hasMany(Live, { as: 'lives', foreignKey: 'userId', ...noConstraints });
  Recording.belongsTo(User, { as: 'owner', foreignKey: 'userId', ...noConstraints });
  Recording.belongsTo(Live, { as: 'live', foreignKey: 'liveId', ...noConstraints });
  User.hasMany(Recording, { as: 'recordings', foreignKey: 'userId', ...noConstraints });
  Call.belongsTo(User, { as: 'caller', foreignKey: 'callerId', ...noConstraints });
  Call.belongsTo(User, { as: 'callee', foreignKey: 'calleeId', ...noConstraints });
  StreamKey.belongsTo(User, { as: 'owner', foreignKey: 'userId', ...noConstraints });
}
