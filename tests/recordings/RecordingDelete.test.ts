/**
 * Deleting a recording: by its presenter only, row and files together, and a failure on either side leaves no
 * orphan (the files go back when the row cannot be deleted; the row stays when the files cannot be moved).
 */
import assert from 'node:assert/strict';
import { access, copyFile, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RecordingView } from '../../api/contract/rest.js';
import { newPublicId, type Recording } from '../../api/db/index.js';
import { TRASH_DIR } from '../../api/recordings/RecordingLibrary.js';
import type { SignedInUser } from '../../drivers/http.js';
import { skipUnless } from '../support/services.js';
import { makeWebm, startRecordingsServer, type RecordingsServer } from './helpers/recordingsServer.js';

const exists = (file: string) => access(file).then(() => true, () => false);

describe('DELETE /api/recordings/:id', { skip: skipUnless('mariadb', 'ffmpeg') }, () => {
  let s: RecordingsServer;
  let owner: SignedInUser;
  let other: SignedInUser;
  let sample: string;

  before(async () => {
    s = await startRecordingsServer({ db: 'mariadb' });
    owner = await s.register('owner');
    other = await s.register('other');
    sample = path.join(s.recordingsDir, '..', `sample-${newPublicId()}.webm`);
    await makeWebm(sample, { seconds: 2 });
  });

  after(async () => {
    await rm(sample, { force: true });
    await s?.close();
  });

  /** A finalised recording of `userId` (with its file and poster). */
  async function recorded(userId: number, values: Partial<Recording['_creationAttributes']> = {}): Promise<{ row: Recording; media: string; poster: string }> {
    const fileName = `${newPublicId()}.webm`;
    const media = path.join(s.recordingsDir, fileName);
    await copyFile(sample, media);
    const row = await s.recording(userId, { fileName, ...values });
    await s.recordings.finaliser.enqueue(row.id);
    await row.reload();
    assert.ok(row.posterFileName, 'it has a poster');
    return { row, media, poster: path.join(s.recordingsDir, row.posterFileName) };
  }

  async function trashIsEmpty(): Promise<boolean> {
    return (await readdir(path.join(s.recordingsDir, TRASH_DIR)).catch(() => [])).length === 0;
  }

  it('lets the presenter delete a recording: the row, the file and the poster are gone', async () => {
    const { row, media, poster } = await recorded(owner.user.id);
    const view = (await owner.client.get<RecordingView>(`/api/recordings/${row.id}`)).body;
    const answer = await owner.client.delete(`/api/recordings/${row.id}`);
    assert.equal(answer.status, 204);
    assert.equal(await s.db.Recording.findByPk(row.id), null);
    assert.equal(await exists(media), false, 'the file is gone');
    assert.equal(await exists(poster), false, 'the poster is gone');
    assert.ok(await trashIsEmpty());
    assert.equal((await owner.client.get(`/api/recordings/${row.id}`)).status, 404);
    assert.equal((await fetch(new URL(view.mediaUrl, s.url))).status, 404, 'its signed URL stops working');
  });

  it('refuses someone else with recording.forbidden and keeps everything', async () => {
    const { row, media, poster } = await recorded(owner.user.id);
    const answer = await other.client.delete(`/api/recordings/${row.id}`);
    assert.equal(answer.status, 403);
    assert.equal(answer.body.error.code, 'recording.forbidden');
    assert.ok(await s.db.Recording.findByPk(row.id));
    assert.ok((await exists(media)) && (await exists(poster)));
  });

  it('answers 404 recording.notFound the second time', async () => {
    const { row } = await recorded(owner.user.id);
    assert.equal((await owner.client.delete(`/api/recordings/${row.id}`)).status, 204);
    const again = await owner.client.delete(`/api/recordings/${row.id}`);
    assert.equal(again.status, 404);
    assert.equal(again.body.error.code, 'recording.notFound');
  });

  it('deletes once when two deletes race: one 204, one 404, nothing left behind', async () => {
    const { row, media, poster } = await recorded(owner.user.id);
    const answers = await Promise.all([owner.client.delete(`/api/recordings/${row.id}`), owner.client.delete(`/api/recordings/${row.id}`)]);
    assert.deepEqual(answers.map((a) => a.status).sort(), [204, 404]);
    assert.equal(await s.db.Recording.findByPk(row.id), null);
    assert.equal((await exists(media)) || (await exists(poster)), false);
    assert.ok(await trashIsEmpty());
  });

  it('deletes a row whose file is already gone', async () => {
    const row = await s.recording(owner.user.id, { fileName: `${newPublicId()}.webm` });
    assert.equal((await owner.client.delete(`/api/recordings/${row.id}`)).status, 204);
    assert.equal(await s.db.Recording.findByPk(row.id), null);
  });

  it('refuses to delete a recording still going on', async () => {
    const row = await s.recording(owner.user.id, { status: 'recording', endedAt: null });
    const answer = await owner.client.delete(`/api/recordings/${row.id}`);
    assert.equal(answer.status, 403);
    assert.equal(answer.body.error.code, 'recording.forbidden');
    assert.ok(await s.db.Recording.findByPk(row.id));
  });

  it('answers 404 for a call recording of someone else (it is not theirs to see)', async () => {
    const liveId = await s.live(owner.user.id, { kind: 'call' });
    const row = await s.recording(owner.user.id, { liveId });
    const answer = await other.client.delete(`/api/recordings/${row.id}`);
    assert.equal(answer.status, 404);
  });

  it('puts the files back when the row cannot be deleted', async () => {
    const { row, media, poster } = await recorded(owner.user.id);
    const failing = () => {
      throw new Error('the database refused');
    };
    s.db.Recording.addHook('beforeDestroy', 'failing', failing);
    try {
      const answer = await owner.client.delete(`/api/recordings/${row.id}`);
      assert.equal(answer.status, 500);
      assert.equal(answer.body.error.code, 'internal');
    } finally {
      s.db.Recording.removeHook('beforeDestroy', 'failing');
    }
    assert.ok(await s.db.Recording.findByPk(row.id), 'the row is still there');
    assert.ok((await exists(media)) && (await exists(poster)), 'the files are back');
    assert.ok(await trashIsEmpty());
    assert.equal((await owner.client.get(`/api/recordings/${row.id}`)).status, 200);
  });

  it('keeps the row when the files cannot be moved aside', async () => {
    const { row, media } = await recorded(owner.user.id);
    const trash = path.join(s.recordingsDir, TRASH_DIR);
    await rm(trash, { recursive: true, force: true });
    await writeFile(trash, 'a file where the trash folder should be');
    try {
      const answer = await owner.client.delete(`/api/recordings/${row.id}`);
      assert.equal(answer.status, 500);
    } finally {
      await rm(trash, { force: true });
    }
    assert.ok(await s.db.Recording.findByPk(row.id), 'the row is still there');
    assert.ok(await exists(media), 'the file is still there');
  });

  it('answers 400 for an id that is not a number', async () => {
    for (const id of ['abc', '1.5', '-3', '1e2']) {
      const answer = await owner.client.delete(`/api/recordings/${id}`);
      assert.equal(answer.status, 400, id);
      assert.equal(answer.body.error.code, 'request.invalid');
    }
  });
});
