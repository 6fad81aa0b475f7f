import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = (name: string) => fileURLToPath(new URL(`../../node_modules/.bin/${name}`, import.meta.url));

async function check(command: string, args: string[]): Promise<string> {
  try {
    await run(bin(command), args, { cwd: root, maxBuffer: 16 * 1024 * 1024 });
    return '';
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    return `${e.stdout ?? ''}${e.stderr ?? ''}`.trim() || e.message;
  }
}

test(
  'the server, media, engine, tests and benchmarks type-check under strict TypeScript',
  { timeout: 300_000 },
  async () => {
    assert.equal(await check('tsc', ['-p', 'tsconfig.json', '--noEmit']), '');
  },
);

test('the front end type-checks under strict TypeScript (vue-tsc)', { timeout: 300_000 }, async () => {
  assert.equal(await check('vue-tsc', ['-p', 'front/tsconfig.json', '--noEmit']), '');
});
