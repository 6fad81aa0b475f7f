/**
 * The decode checks the recording tests rely on (`decode()`, `decodeErrors()`): a file whose frames are unevenly
 * spaced, as a loaded browser's capture times make them, decodes cleanly; a file with two frames at one time does
 * not. Before the checks kept the container's time base, two frames 6 ms apart were reported as one time.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { decodeErrors } from '../support/media.js';
import { skipUnless } from '../support/services.js';
import { decode } from './helpers/webmFiles.js';

const run = promisify(execFile);

/** A 1 s VP8 WebM at 30 fps, in milliseconds, with frame 10 moved `shiftMs` earlier (onto frame 9 at 28 ms). */
async function clipWithFrameMoved(dir: string, name: string, shiftMs: number): Promise<string> {
  const file = path.join(dir, name);
  await run('ffmpeg', [
    ...['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=30', '-t', '1'],
    ...['-vf', `settb=1/1000,setpts='round(N*100/3) - eq(N\\,10)*${shiftMs}'`],
    ...['-fps_mode', 'passthrough', '-enc_time_base:v', '1/1000', '-c:v', 'libvpx', '-b:v', '200k', file],
  ]);
  return file;
}

describe('the recordings decode check', { skip: skipUnless('ffmpeg') }, () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'onair-decode-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('frames closer than a frame interval decode cleanly', async () => {
    const file = await clipWithFrameMoved(dir, 'uneven.webm', 27); // 333 ms, then 306 ms: 6 ms after frame 9
    assert.equal(await decodeErrors(file), '');
    const decoded = await decode(file);
    assert.equal(decoded.code, 0);
    assert.equal(decoded.errors, '');
    assert.equal(decoded.frames, 30);
  });

  test('two frames at one time are reported', async () => {
    const file = await clipWithFrameMoved(dir, 'same.webm', 33); // frame 10 at frame 9's 300 ms
    assert.match(await decodeErrors(file), /non monotonically increasing dts/);
    assert.match((await decode(file)).errors, /non monotonically increasing dts/);
  });
});
