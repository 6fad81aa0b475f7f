/**
 * The README's first command, `npm ci`, as a new user runs it: in a folder holding only package.json,
 * package-lock.json and .npmrc, with npm 10 (bundled with Node 22) and npm 11. It must install without an install
 * script (kurento-client 7.3.0 declares a postinstall missing from its tarball), and what it installs must load:
 * kurento-client, SQLite through node:sqlite behind Sequelize, werift and tsx.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { skipUnless } from '../support/services.js';

const root = path.resolve(import.meta.dirname, '..', '..');

function run(cmd: string, args: string[], cwd: string): { status: number | null; out: string } {
  const res = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_yes: 'true' } });
  return { status: res.status, out: `${res.stdout}\n${res.stderr}` };
}

for (const npm of ['10', '11']) {
  test(`npm ci with npm ${npm} installs a tree that loads`, { skip: skipUnless('registry'), timeout: 600_000 }, () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), `onair-npm${npm}-`));
    try {
      for (const file of ['package.json', 'package-lock.json', '.npmrc']) {
        copyFileSync(path.join(root, file), path.join(dir, file));
      }
      const version = run('npx', ['-y', `npm@${npm}`, '--version'], dir);
      assert.equal(version.status, 0, version.out);
      assert.match(version.out.trim(), new RegExp(`^${npm}\\.`));
      const ci = run('npx', ['-y', `npm@${npm}`, 'ci', '--prefer-offline', '--no-audit', '--no-fund'], dir);
      assert.equal(ci.status, 0, `npm ${npm} ci failed:\n${ci.out.slice(-4000)}`);
      writeFileSync(
        path.join(dir, 'check.mjs'),
        [
          "import kurento from 'kurento-client';",
          "import { Sequelize } from 'sequelize';",
          "import 'werift';",
          "if (typeof kurento !== 'function') throw new Error('kurento-client did not load');",
          `const { default: nodeSqlite } = await import(${JSON.stringify(path.join(root, 'api/db/nodeSqlite.ts'))});`,
          "const db = new Sequelize({ dialect: 'sqlite', dialectModule: nodeSqlite, storage: ':memory:', logging: false });",
          "const [rows] = await db.query('SELECT 1 + 1 AS two');",
          "if (rows[0].two !== 2) throw new Error('SQLite answered ' + JSON.stringify(rows));",
          'await db.close();',
          "console.log('loaded');",
        ].join('\n'),
      );
      const check = run(process.execPath, ['--import', 'tsx', 'check.mjs'], dir);
      assert.equal(check.status, 0, check.out);
      assert.match(check.out, /loaded/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
