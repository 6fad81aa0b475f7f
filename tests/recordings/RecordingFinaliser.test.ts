/**
 * Finalisation: a WebM without duration or index (as a real KMS writes it) becomes seekable, its true duration
 * is recorded and a poster is taken; without ffmpeg the file is kept as recorded. The end of a live hands its
 * recording to the finaliser through the live archive.
 */
import assert from 'node:assert/strict';
import { readFile, readdir, stat, truncate } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { newPublicId } from '../../api/db/index.js';
import { SequelizeLiveArchive } from '../../api/live/SequelizeLiveArchive.js';
import { MediaTools } from '../../api/recordings/MediaTools.js';
import { RecordingFinaliser } from '../../api/recordings/RecordingFinaliser.js';
import { isSeekable, webmInfo } from '../../api/recordings/webmInfo.js';
import type { SignedInUser } from '../../drivers/http.js';
import { skipUnless } from '../support/services.js';
import { makeWebm, startRecordingsServer, type RecordingsServer } from './helpers/recordingsServer.js';

/** Close enough to the encoded length (container timestamps are rounded to frames and Opus packets). */
function assertAbout(actual: number | null, expected: number, slackMs = 150): void {
  assert.ok(actual !== null && Math.abs(actual - expected) <= slackMs, `${actual} ms is about ${expected} ms`);
}

describe('RecordingFinaliser', { skip: skipUnless('mariadb', 'ffmpeg') }, () => {
  let s: RecordingsServer;
  let owner: SignedInUser;

  before(async () => {
    s = await startRecordingsServer({ db: 'mariadb' });
    owner = await s.register('fin');
  });

  after(async () => {
    await s?.close();
  });

  const fileOf = (name: string) => path.join(s.recordingsDir, name);
  const temps = async () => (await readdir(s.recordingsDir)).filter((n) => n.startsWith('.onair-tmp-'));

  it('makes an unseekable WebM seekable, records its true duration and size, and takes a poster', async () => {
    const fileName = `${newPublicId()}.webm`;
    await makeWebm(fileOf(fileName), { seconds: 5, seekable: false });
    assert.deepEqual(await webmInfo(fileOf(fileName)), { durationMs: null, cues: false }, 'it starts without duration or index');
    const row = await s.recording(owner.user.id, { fileName, durationMs: 60_000 });

    const outcome = await s.recordings.finaliser.enqueue(row.id);
    assert.equal(outcome.result, 'finalised');
    assert.equal(outcome.remuxed, true);

    const info = await webmInfo(fileOf(fileName));
    assert.ok(isSeekable(info), 'duration and cues are written');
    assertAbout(info.durationMs, 5000);
    await row.reload();
    assertAbout(row.durationMs, 5000);
    assert.equal(row.sizeBytes, (await stat(fileOf(fileName))).size);
    assert.equal(row.posterFileName, fileName.replace(/\.webm$/, '.jpg'));
    const poster = await readFile(fileOf(row.posterFileName));
    assert.deepEqual([...poster.subarray(0, 3)], [0xff, 0xd8, 0xff], 'the poster is a JPEG');
    assert.deepEqual(await temps(), [], 'no temporary file is left');
  });

  it('keeps a file that is already seekable as it is, measuring it and taking a poster', async () => {
    const fileName = `${newPublicId()}.webm`;
    await makeWebm(fileOf(fileName), { seconds: 3 });
    const before = await readFile(fileOf(fileName));
    const row = await s.recording(owner.user.id, { fileName });
    const outcome = await s.recordings.finaliser.enqueue(row.id);
    assert.equal(outcome.result, 'finalised');
    assert.equal(outcome.remuxed, false);
    assert.ok((await readFile(fileOf(fileName))).equals(before), 'the file is untouched');
    await row.reload();
    assertAbout(row.durationMs, 3000);
    assert.ok(row.posterFileName);
  });

  it('finalises a file cut short to its readable length', async () => {
    const fileName = `${newPublicId()}.webm`;
    await makeWebm(fileOf(fileName), { seconds: 6, seekable: false });
    await truncate(fileOf(fileName), Math.floor((await stat(fileOf(fileName))).size / 2));
    const row = await s.recording(owner.user.id, { fileName, durationMs: 6000 });
    const outcome = await s.recordings.finaliser.enqueue(row.id);
    assert.equal(outcome.result, 'finalised');
    assert.ok(isSeekable(await webmInfo(fileOf(fileName))));
    await row.reload();
    assert.ok(row.durationMs! > 1000 && row.durationMs! < 5000, `${row.durationMs} ms: about half`);
  });

  it('gives an audio-only recording its duration and no poster', async () => {
    const fileName = `${newPublicId()}.webm`;
    await makeWebm(fileOf(fileName), { seconds: 2, seekable: false, video: false });
    const row = await s.recording(owner.user.id, { fileName });
    const outcome = await s.recordings.finaliser.enqueue(row.id);
    assert.equal(outcome.result, 'finalised');
    await row.reload();
    assertAbout(row.durationMs, 2000);
    assert.equal(row.posterFileName, null);
  });

  it('runs a recording queued twice once, and tells a missing row or file apart', async () => {
    const fileName = `${newPublicId()}.webm`;
    await makeWebm(fileOf(fileName), { seconds: 1, seekable: false });
    const row = await s.recording(owner.user.id, { fileName });
    const first = s.recordings.finaliser.enqueue(row.id);
    assert.equal(s.recordings.finaliser.enqueue(row.id), first);
    assert.equal((await first).result, 'finalised');
    assert.equal((await s.recordings.finaliser.enqueue(2_000_000_000)).result, 'gone');
    const noFile = await s.recording(owner.user.id, { fileName: `${newPublicId()}.webm` });
    assert.equal((await s.recordings.finaliser.enqueue(noFile.id)).result, 'missing');
    const liveFile = `${newPublicId()}.webm`;
    await makeWebm(fileOf(liveFile), { seconds: 1, seekable: false });
    const live = await s.recording(owner.user.id, { fileName: liveFile, status: 'recording' });
    assert.equal((await s.recordings.finaliser.enqueue(live.id)).result, 'skipped', 'a recording still going on is left alone');
  });

  it('does not bring back the file of a recording deleted while it was being finalised', async () => {
    const fileName = `${newPublicId()}.webm`;
    await makeWebm(fileOf(fileName), { seconds: 1, seekable: false });
    const row = await s.recording(owner.user.id, { fileName });
    const tools = await MediaTools.detect();
    const deleting = new (class extends MediaTools {
      override async remux(src: string, dst: string, signal?: AbortSignal): Promise<void> {
        await super.remux(src, dst, signal);
        await owner.client.delete(`/api/recordings/${row.id}`);
      }
    })(tools.ffmpeg, tools.ffprobe);
    const finaliser = new RecordingFinaliser({ db: s.db, recordingsDir: s.recordingsDir, tools: deleting, log: pino({ level: 'silent' }) });
    try {
      assert.equal((await finaliser.enqueue(row.id)).result, 'gone');
    } finally {
      await finaliser.close();
    }
    assert.equal(await stat(fileOf(fileName)).then(() => true, () => false), false, 'the deleted file stays deleted');
    assert.deepEqual(await temps(), []);
  });

  it('keeps the file as recorded without ffmpeg, and says so once in the log', async () => {
    const lines: string[] = [];
    const log = pino({ level: 'warn' }, { write: (line: string) => lines.push(line) });
    const finaliser = new RecordingFinaliser({ db: s.db, recordingsDir: s.recordingsDir, tools: new MediaTools(null, null), log });
    try {
      for (let i = 0; i < 2; i++) {
        const fileName = `${newPublicId()}.webm`;
        await makeWebm(fileOf(fileName), { seconds: 1, seekable: false });
        const before = await readFile(fileOf(fileName));
        const row = await s.recording(owner.user.id, { fileName, durationMs: 1234 });
        const outcome = await finaliser.enqueue(row.id);
        assert.equal(outcome.remuxed, false);
        assert.ok((await readFile(fileOf(fileName))).equals(before), 'the file is kept as recorded');
        await row.reload();
        assert.equal(row.durationMs, 1234, 'the duration stays what the live layer measured');
        assert.equal(row.posterFileName, null);
      }
    } finally {
      await finaliser.close();
    }
    assert.equal(lines.filter((l) => l.includes('ffmpeg is not installed')).length, 1);
  });

  it('finalises the recording of a live once the live archive stores its end', async () => {
    const liveId = newPublicId();
    const archive = new SequelizeLiveArchive(s.db, s.recordingsDir, (id) => s.recordings.finaliser.enqueue(id));
    const startedAt = new Date(Date.now() - 4000);
    await archive.liveStarted({ id: liveId, userId: owner.user.id, title: 'Archived', kind: 'broadcast', startedAt, recording: { fileName: `${liveId}.webm`, location: 'Paris, France' } });
    await makeWebm(fileOf(`${liveId}.webm`), { seconds: 2, seekable: false });
    const id = await archive.liveEnded({ id: liveId, startedAt, endedAt: new Date(), reason: 'stopped', peakViewers: 0, totalViewers: 0, recordingStopped: true });
    assert.ok(id);
    await s.recordings.finaliser.idle();
    const row = await s.db.Recording.findByPk(id);
    assert.equal(row?.status, 'ready');
    assertAbout(row.durationMs, 2000);
    assert.ok(row.posterFileName);
    assert.ok(isSeekable(await webmInfo(fileOf(`${liveId}.webm`))));
  });
});
