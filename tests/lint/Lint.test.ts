/**
 * The code style is part of the build: Prettier's formatting and typescript-eslint's type-aware rules (floating
 * promises above all) over the whole tree. A finding fails `npm test`; `npm run format` and `npx eslint --fix .`
 * repair most of them.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';

const root = path.resolve(import.meta.dirname, '..', '..');
const bin = (name: string) => path.join(root, 'node_modules', '.bin', name);

function run(cmd: string, args: string[]): { status: number | null; out: string } {
  const res = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return { status: res.status, out: `${res.stdout}\n${res.stderr}` };
}

test('every file is formatted by Prettier', { timeout: 300_000 }, () => {
  const res = run(bin('prettier'), ['--check', '.']);
  assert.equal(res.status, 0, `prettier --check found unformatted files:\n${res.out.slice(-6000)}`);
});

test('ESLint (typescript-eslint, type-aware) finds nothing', { timeout: 600_000 }, () => {
  const res = run(bin('eslint'), ['--max-warnings', '0', '.']);
  assert.equal(res.status, 0, `eslint found problems:\n${res.out.slice(-8000)}`);
});
