/**
 * A fresh database per test file: on MariaDB a new `onair_t_<random>` database (utf8mb4), on SQLite a file in a
 * temporary folder. `drop()` removes it; call it in the file's `after`.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createMariaDatabase } from '../../drivers/mariadb.js';

export type DatabaseKind = 'mariadb' | 'sqlite';

export interface TestDatabase {
  kind: DatabaseKind;
  /** A DATABASE_URL for it. */
  url: string;
  name: string;
  drop(): Promise<void>;
}

/** The MariaDB server tests use (root, no password, as on CI). */
export const TEST_MYSQL_URL = process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';

export async function createTestDatabase(kind: DatabaseKind = 'mariadb'): Promise<TestDatabase> {
  return kind === 'mariadb' ? createMariaTestDatabase() : createSqliteDatabase();
}

async function createMariaTestDatabase(): Promise<TestDatabase> {
  const database = await createMariaDatabase(TEST_MYSQL_URL, `onair_t_${randomBytes(6).toString('hex')}`);
  return { kind: 'mariadb', ...database };
}

async function createSqliteDatabase(): Promise<TestDatabase> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'onair-db-'));
  const file = path.join(dir, 'onair.sqlite');
  return {
    kind: 'sqlite',
    url: `sqlite:${file}`,
    name: file,
    drop: () => rm(dir, { recursive: true, force: true }),
  };
}
