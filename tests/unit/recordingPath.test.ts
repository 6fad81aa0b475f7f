import assert from 'node:assert/strict';
import { mkdtemp, mkdir, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { posterNameFor, realPathInside, resolveInside } from '../../api/recordings/recordingPath.js';

describe('recording paths', () => {
  let root: string;
  let dir: string;

  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'onair-paths-'));
    dir = path.join(root, 'recordings');
    await mkdir(path.join(dir, 'sub'), { recursive: true });
    await writeFile(path.join(dir, 'a.webm'), 'a');
    await writeFile(path.join(dir, 'sub', 'b.webm'), 'b');
    await writeFile(path.join(root, 'secret.txt'), 'secret');
    await symlink(path.join(root, 'secret.txt'), path.join(dir, 'out.webm'));
    await symlink(path.join(dir, 'a.webm'), path.join(dir, 'in.webm'));
  });

  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('resolveInside() resolves names inside the folder', () => {
    assert.equal(resolveInside(dir, 'a.webm'), path.join(dir, 'a.webm'));
    assert.equal(resolveInside(dir, 'sub/b.webm'), path.join(dir, 'sub', 'b.webm'));
    assert.equal(resolveInside(dir, 'sub/../a.webm'), path.join(dir, 'a.webm'));
    assert.equal(
      resolveInside(dir, '..a.webm'),
      path.join(dir, '..a.webm'),
      'a name starting with two dots is still inside',
    );
  });

  it('resolveInside() refuses names that leave the folder, absolute, empty or with a NUL byte', () => {
    for (const name of [
      '',
      '.',
      '..',
      '../x',
      '../../etc/passwd',
      'sub/../../x',
      '/etc/passwd',
      'a\0.webm',
      `../${path.basename(dir)}x/a`,
    ]) {
      assert.equal(resolveInside(dir, name), null, JSON.stringify(name));
    }
  });

  it('realPathInside() follows symbolic links and refuses one that points out', async () => {
    assert.equal(await realPathInside(dir, 'in.webm'), path.join(await realpath(dir), 'a.webm'));
    assert.equal(await realPathInside(dir, 'out.webm'), null);
    assert.equal(await realPathInside(dir, 'missing.webm'), null);
    assert.equal(await realPathInside(dir, '../secret.txt'), null);
  });

  it('posterNameFor() names the poster after the recording', () => {
    assert.equal(posterNameFor('abc.webm'), 'abc.jpg');
    assert.equal(posterNameFor('sub/abc.webm'), 'sub/abc.jpg');
    assert.equal(posterNameFor('noext'), 'noext.jpg');
  });
});
