/**
 * A fresh database per test file: on MariaDB a new `onair_t_<random>` database (utf8mb4), on SQLite a file in a
 * temporary folder. `drop()` removes it; call it in the file's `after`.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';

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
  return kind === 'mariadb' ? createMariaDatabase() : createSqliteDatabase();
}

async function createMariaDatabase(): Promise<TestDatabase> {
  const name = `onair_t_${randomBytes(6).toString('hex')}`;
  const admin = new URL(TEST_MYSQL_URL);
  const connect = () =>
    mysql.createConnection({
      host: admin.hostname,
      port: Number(admin.port || 3306),
      user: decodeURIComponent(admin.username || 'root'),
      password: decodeURIComponent(admin.password),
    });
  const conn = await connect();
  try {
    await conn.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  } finally {
    await conn.end();
  }
  const url = new URL(TEST_MYSQL_URL);
  url.pathname = `/${name}`;
  let dropped = false;
  return {
    kind: 'mariadb',
    url: url.toString(),
    name,
    async drop() {
      if (dropped) return;
      dropped = true;
      const c = await connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS \`${name}\``);
      } finally {
        await c.end();
      }
    },
  };
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
