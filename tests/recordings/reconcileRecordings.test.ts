/**
 * Start-up reconciliation after a crash: rows left `recording`, files without a row, finished recordings never
 * finalised, deletes cut short, temporary files; and what may be another process's work in progress is left alone.
 */
import assert from 'node:assert/strict';
import { access, mkdir, readdir, rename, stat, truncate, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Recording } from '../../api/db/index.js';
import { newPublicId } from '../../api/db/index.js';
import { MANIFEST, TRASH_DIR } from '../../api/recordings/RecordingLibrary.js';
import type { ReconcileReport } from '../../api/recordings/reconcileRecordings.js';
import { isSeekable, webmInfo } from '../../api/recordings/webmInfo.js';
import type { SignedInUser } from '../../drivers/http.js';
import { skipUnless } from '../support/services.js';
import { makeWebm, startRecordingsServer, type RecordingsServer } from './helpers/recordingsServer.js';

const exists = (file: string) => access(file).then(() => true, () => false);
const HOUR_AGO = new Date(Date.now() - 3600_000);

describe('reconcileRecordings at start-up', { skip: skipUnless('mariadb', 'ffmpeg') }, () => {
  let s: RecordingsServer;
  let ann: SignedInUser;
  let bob: SignedInUser;
  let report: ReconcileReport;
  const file = (name: string) => path.join(s.recordingsDir, name);

  // The scene a crash left behind.
  let interrupted: Recording;
  let interruptedStart: Date;
  let empty: Recording;
  let onAir: Recording;
  let lostLiveId: string;
  const strangerFile = 'holiday-video.webm';
  const unknownLiveFile = `${newPublicId()}.webm`;
  let unfinalised: Recording;
  let restorable: Recording;
  let restorableTrash: string;
  let purgedTrash: string;
  let youngTrash: string;
  const oldTemp = '.onair-tmp-0123456789ab-old.webm';
  const youngTemp = '.onair-tmp-ba9876543210-young.webm';

  before(async () => {
    s = await startRecordingsServer({ db: 'mariadb' });
    ann = await s.register('ann');
    bob = await s.register('bob');

    // A live cut short: its file has no index, and stops half-way.
    interruptedStart = new Date(Date.now() - 60_000);
    const interruptedLive = await s.live(ann.user.id, { startedAt: interruptedStart });
    await makeWebm(file(`${interruptedLive}.webm`), { seconds: 6, seekable: false });
    await truncate(file(`${interruptedLive}.webm`), Math.floor((await stat(file(`${interruptedLive}.webm`))).size / 2));
    interrupted = await s.recording(ann.user.id, { liveId: interruptedLive, fileName: `${interruptedLive}.webm`, status: 'recording', startedAt: interruptedStart, endedAt: null, durationMs: null, sizeBytes: null });

    // A live that wrote nothing.
    const emptyLive = await s.live(ann.user.id);
    empty = await s.recording(ann.user.id, { liveId: emptyLive, fileName: `${emptyLive}.webm`, status: 'recording', endedAt: null, durationMs: null });

    // A live on air in another process.
    const onAirLive = await s.live(bob.user.id);
    await makeWebm(file(`${onAirLive}.webm`), { seconds: 1, seekable: false });
    onAir = await s.recording(bob.user.id, { liveId: onAirLive, fileName: `${onAirLive}.webm`, status: 'recording', endedAt: null, durationMs: null });

    // A file whose row was never written, named after its live.
    lostLiveId = await s.live(bob.user.id, { title: 'Lost live', startedAt: new Date(Date.now() - 30_000) });
    await makeWebm(file(`${lostLiveId}.webm`), { seconds: 2, seekable: false });

    // Files nobody can be attributed to.
    await makeWebm(file(strangerFile), { seconds: 1 });
    await makeWebm(file(unknownLiveFile), { seconds: 1 });

    // A finished recording that was never finalised (a stop right after its live ended).
    const unfinalisedName = `${newPublicId()}.webm`;
    await makeWebm(file(unfinalisedName), { seconds: 2, seekable: false });
    unfinalised = await s.recording(ann.user.id, { fileName: unfinalisedName, durationMs: 2500 });

    // Deletes cut short: before the row went (files go back), after it went (files go), and one in progress.
    const restorableName = `${newPublicId()}.webm`;
    await makeWebm(file(restorableName), { seconds: 1 });
    restorable = await s.recording(ann.user.id, { fileName: restorableName, posterFileName: restorableName.replace('.webm', '.jpg') });
    restorableTrash = await trashOf(restorable.id, [restorableName, restorableName.replace('.webm', '.jpg')], HOUR_AGO);
    purgedTrash = await trashOf(2_000_000_001, [`${newPublicId()}.webm`], HOUR_AGO);
    youngTrash = await trashOf(2_000_000_002, [`${newPublicId()}.webm`], new Date());

    // Temporary files of a finalisation: one abandoned, one maybe still being written by another process.
    await writeFile(file(oldTemp), 'half a remux');
    await utimes(file(oldTemp), HOUR_AGO, HOUR_AGO);
    await writeFile(file(youngTemp), 'a remux in progress');

    report = (await s.recordings.reconcile({ isOnAir: async (liveId) => liveId === onAirLive }))!;
    assert.ok(report, 'reconciliation ran');
  });

  after(async () => {
    await s?.close();
  });

  /** Moves `names` into a trash folder as a delete does, its time set to `at`. */
  async function trashOf(recordingId: number, names: string[], at: Date): Promise<string> {
    const trash = path.join(s.recordingsDir, TRASH_DIR, `${recordingId}-${newPublicId()}`);
    await mkdir(trash, { recursive: true });
    const files = names.map((from, i) => ({ from, to: `${i}-${from}` }));
    for (const f of files) {
      const source = file(f.from);
      if (await exists(source)) await rename(source, path.join(trash, f.to));
      else await writeFile(path.join(trash, f.to), 'bytes');
    }
    await writeFile(path.join(trash, MANIFEST), JSON.stringify({ recordingId, files }));
    await utimes(trash, at, at);
    return trash;
  }

  it('keeps a recording cut short: finalised, incomplete, with its readable length', async () => {
    assert.ok(report.interrupted.includes(interrupted.id));
    await interrupted.reload();
    assert.equal(interrupted.status, 'incomplete');
    assert.ok(isSeekable(await webmInfo(file(interrupted.fileName))), 'its file is seekable now');
    assert.ok(interrupted.durationMs! > 1000 && interrupted.durationMs! < 5000, `${interrupted.durationMs} ms readable of 6000 recorded`);
    assert.equal(interrupted.endedAt!.getTime(), interruptedStart.getTime() + interrupted.durationMs!, 'it ends where its media ends');
    assert.equal(interrupted.sizeBytes, (await stat(file(interrupted.fileName))).size);
    assert.ok(interrupted.posterFileName);
  });

  it('marks a recording that wrote nothing as failed', async () => {
    assert.deepEqual(report.failed, [empty.id]);
    await empty.reload();
    assert.equal(empty.status, 'failed');
    assert.ok(empty.endedAt);
  });

  it('leaves alone the recording of a live still on air', async () => {
    await onAir.reload();
    assert.equal(onAir.status, 'recording');
    assert.equal(onAir.endedAt, null);
    assert.deepEqual(await webmInfo(file(onAir.fileName)), { durationMs: null, cues: false }, 'its file is untouched');
  });

  it('adopts a file without a row from its live: owner, title, start; incomplete and finalised', async () => {
    const row = await s.db.Recording.findOne({ where: { fileName: `${lostLiveId}.webm` } });
    assert.ok(row, 'a row was created');
    assert.deepEqual(report.adopted, [row.id]);
    assert.equal(row.userId, bob.user.id);
    assert.equal(row.title, 'Lost live');
    assert.equal(row.liveId, lostLiveId);
    assert.equal(row.status, 'incomplete');
    assert.ok(Math.abs(row.durationMs! - 2000) < 150, `${row.durationMs} ms`);
    assert.ok(isSeekable(await webmInfo(file(row.fileName))));
    const listed = await bob.client.get(`/api/recordings/${row.id}`);
    assert.equal(listed.status, 200, 'it is in the library');
  });

  it('keeps files nobody can be attributed to, untouched and without a row', async () => {
    assert.deepEqual([...report.unattributed].sort(), [strangerFile, unknownLiveFile].sort());
    for (const name of [strangerFile, unknownLiveFile]) {
      assert.ok(await exists(file(name)), `${name} is kept`);
      assert.equal(await s.db.Recording.count({ where: { fileName: name } }), 0);
    }
  });

  it('finalises a finished recording that never was', async () => {
    assert.ok(report.refinalised.includes(unfinalised.id));
    await unfinalised.reload();
    assert.ok(isSeekable(await webmInfo(file(unfinalised.fileName))));
    assert.ok(unfinalised.posterFileName);
    assert.ok(Math.abs(unfinalised.durationMs! - 2000) < 150);
  });

  it('puts back the files of a delete cut short before its row went, and removes those whose row is gone', async () => {
    assert.deepEqual(report.restored, [restorable.id]);
    assert.ok(await exists(file(restorable.fileName)));
    assert.ok(await exists(file(restorable.posterFileName!)));
    assert.equal(await exists(restorableTrash), false);
    assert.deepEqual(report.purged, [2_000_000_001]);
    assert.equal(await exists(purgedTrash), false);
    assert.ok(await exists(youngTrash), 'a delete that may be in progress elsewhere is left alone');
  });

  it('removes abandoned temporary files but not one that may still be written', async () => {
    assert.equal(report.removedTemps, 1);
    assert.equal(await exists(file(oldTemp)), false);
    assert.ok(await exists(file(youngTemp)));
  });

  it('has nothing left to do when run again', async () => {
    const again = (await s.recordings.reconcile({ isOnAir: async (liveId) => liveId === onAir.liveId }))!;
    assert.deepEqual(
      { ...again, unattributed: [] },
      { interrupted: [], failed: [], adopted: [], unattributed: [], refinalised: [], restored: [], purged: [], removedTemps: 0 },
    );
    assert.ok((await readdir(s.recordingsDir)).includes(strangerFile));
  });
});
