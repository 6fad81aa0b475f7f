/**
 * Schema migrations: the files of migrations/ (`NNNN-name.ts`, exporting `up` and `down` on the QueryInterface),
 * applied in name order by umzug, which records them in the `SequelizeMeta` table.
 * On MySQL a named lock serialises processes that start together; SQLite files are one process's own.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Logger } from 'pino';
import type { QueryInterface, Sequelize } from 'sequelize';
import { SequelizeStorage, Umzug, type MigrationFn } from 'umzug';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));

const MIGRATION_FILE = /^(\d{4,}-[A-Za-z0-9_-]+)\.(ts|js)$/;
const LOCK_NAME = 'onair_migrations';
const LOCK_TIMEOUT_S = 120;

interface MigrationModule {
  up: MigrationFn<QueryInterface>;
  down?: MigrationFn<QueryInterface>;
}

export type Migrator = Umzug<QueryInterface>;

/** An umzug instance over migrations/ for this database. */
export function createMigrator(sequelize: Sequelize, log?: Logger, dir = MIGRATIONS_DIR): Migrator {
  const load = async (file: string): Promise<MigrationModule> =>
    (await import(pathToFileURL(path.join(dir, file)).href)) as MigrationModule;
  return new Umzug<QueryInterface>({
    migrations: () =>
      readdirSync(dir)
        .filter((file) => MIGRATION_FILE.test(file) && !file.endsWith('.d.ts'))
        .sort()
        .map((file) => ({
          name: MIGRATION_FILE.exec(file)![1]!,
          path: path.join(dir, file),
          up: async ({ context }) => (await load(file)).up({ name: file, context }),
          down: async ({ context }) => (await load(file)).down?.({ name: file, context }),
        })),
    context: sequelize.getQueryInterface(),
    storage: new SequelizeStorage({ sequelize, tableName: 'SequelizeMeta' }),
    logger: log
      ? {
          info: (m) => log.info(m, 'migration'),
          warn: (m) => log.warn(m, 'migration'),
          error: (m) => log.error(m, 'migration'),
          debug: (m) => log.debug(m, 'migration'),
        }
      : undefined,
  });
}

/**
 * Runs `work` while holding the migration lock (MySQL: GET_LOCK on a connection kept aside for the purpose,
 * so the migrations themselves may use any pooled connection).
 */
export async function withMigrationLock<T>(sequelize: Sequelize, work: () => Promise<T>): Promise<T> {
  if (sequelize.getDialect() !== 'mysql') return work();
  const manager = sequelize.connectionManager as unknown as {
    getConnection(
      options?: object,
    ): Promise<{ query: (sql: string, values: unknown[], cb: (err: Error | null, rows: unknown) => void) => void }>;
    releaseConnection(connection: unknown): Promise<void>;
  };
  const connection = await manager.getConnection({ type: 'write' });
  const query = (sql: string, values: unknown[]) =>
    new Promise<Array<Record<string, unknown>>>((resolve, reject) =>
      connection.query(sql, values, (err, rows) =>
        err ? reject(err) : resolve(rows as Array<Record<string, unknown>>),
      ),
    );
  try {
    const [row] = await query('SELECT GET_LOCK(?, ?) AS locked', [LOCK_NAME, LOCK_TIMEOUT_S]);
    if (Number(row?.locked) !== 1) throw new Error(`could not take the migration lock within ${LOCK_TIMEOUT_S} s`);
    try {
      return await work();
    } finally {
      await query('SELECT RELEASE_LOCK(?)', [LOCK_NAME]).catch(() => undefined);
    }
  } finally {
    await manager.releaseConnection(connection);
  }
}

/** Applies every pending migration; resolves the names applied. */
export async function migrateUp(sequelize: Sequelize, log?: Logger): Promise<string[]> {
  return withMigrationLock(sequelize, async () => (await createMigrator(sequelize, log).up()).map((m) => m.name));
}

/** Reverts the last `steps` migrations (all with `steps: 'all'`); resolves the names reverted. */
export async function migrateDown(sequelize: Sequelize, steps: number | 'all' = 1, log?: Logger): Promise<string[]> {
  return withMigrationLock(sequelize, async () => {
    const migrator = createMigrator(sequelize, log);
    const reverted = steps === 'all' ? await migrator.down({ to: 0 }) : await migrator.down({ step: steps });
    return reverted.map((m) => m.name);
  });
}
