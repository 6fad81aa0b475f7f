/**
 * A throw-away MariaDB database (utf8mb4) for tests and benchmarks, on a server given by URL (its path is ignored).
 * `drop()` removes it, once however often it is called; its owner calls it when done.
 */
import mysql from 'mysql2/promise';

export interface MariaDatabase {
  name: string;
  /** A DATABASE_URL for it. */
  url: string;
  drop(): Promise<void>;
}

export async function createMariaDatabase(serverUrl: string, name: string): Promise<MariaDatabase> {
  if (!/^\w+$/.test(name)) throw new Error(`not a plain database name: ${name}`);
  const admin = new URL(serverUrl);
  const query = async (sql: string) => {
    const conn = await mysql.createConnection({
      host: admin.hostname,
      port: Number(admin.port || 3306),
      user: decodeURIComponent(admin.username || 'root'),
      password: decodeURIComponent(admin.password),
    });
    try {
      await conn.query(sql);
    } finally {
      await conn.end();
    }
  };
  await query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  let dropping: Promise<void> | undefined;
  return {
    name,
    url: url.toString(),
    drop: () => (dropping ??= query(`DROP DATABASE IF EXISTS \`${name}\``)),
  };
}
