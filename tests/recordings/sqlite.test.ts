/**
 * The library on SQLite (the default database of `npm start`): listing with filters, a range request, finalising
 * and deleting work the same as on MariaDB.
 */
import assert from 'node:assert/strict';
import { access } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RecordingList, RecordingView } from '../../api/contract/rest.js';
import { newPublicId } from '../../api/db/index.js';
import { isSeekable, webmInfo } from '../../api/recordings/webmInfo.js';
import type { SignedInUser } from '../../drivers/http.js';
import { skipUnless } from '../support/services.js';
import { makeWebm, startRecordingsServer, type RecordingsServer } from './helpers/recordingsServer.js';

describe('the recordings library on SQLite', { skip: skipUnless('ffmpeg') }, () => {
  let s: RecordingsServer;
  let ann: SignedInUser;
  let bob: SignedInUser;

  before(async () => {
    s = await startRecordingsServer({ db: 'sqlite' });
    ann = await s.register('ann');
    bob = await s.register('bob');
  });

  after(async () => {
    await s?.close();
  });

  it('lists, filters text case-insensitively, sorts, and hides other people\'s call recordings', async () => {
    await s.recording(ann.user.id, { fileName: `${newPublicId()}.webm`, title: 'Morning CONCERT', location: '100% Live_Studio', durationMs: 1000 });
    await s.recording(bob.user.id, { fileName: `${newPublicId()}.webm`, title: 'Evening talk', location: 'Paris, France', durationMs: 3000 });
    const callLive = await s.live(ann.user.id, { kind: 'call' });
    await s.recording(ann.user.id, { fileName: `${newPublicId()}.webm`, title: 'A call', liveId: callLive });
    const byBob = await bob.client.get<RecordingList>('/api/recordings?sort=durationMs&order=asc');
    assert.equal(byBob.status, 200, byBob.text);
    assert.deepEqual(byBob.body.recordings.map((r) => r.title), ['Morning CONCERT', 'Evening talk']);
    assert.equal(byBob.body.total, 2);
    assert.equal((await ann.client.get<RecordingList>('/api/recordings')).body.total, 3, 'ann sees her call');
    const concert = await bob.client.get<RecordingList>('/api/recordings?q=concert&location=_STUDIO');
    assert.deepEqual(concert.body.recordings.map((r) => r.title), ['Morning CONCERT']);
    assert.equal((await bob.client.get<RecordingList>('/api/recordings?location=e_s')).body.total, 1, '_ is a plain character');
    assert.equal((await bob.client.get<RecordingList>('/api/recordings?sort=location&order=desc')).status, 200);
  });

  it('finalises, serves ranges and deletes', async () => {
    const fileName = `${newPublicId()}.webm`;
    await makeWebm(path.join(s.recordingsDir, fileName), { seconds: 2, seekable: false });
    const row = await s.recording(ann.user.id, { fileName });
    assert.equal((await s.recordings.finaliser.enqueue(row.id)).result, 'finalised');
    assert.ok(isSeekable(await webmInfo(path.join(s.recordingsDir, fileName))));
    const view = (await ann.client.get<RecordingView>(`/api/recordings/${row.id}`)).body;
    const range = await fetch(new URL(view.mediaUrl, s.url), { headers: { range: 'bytes=0-9' } });
    assert.equal(range.status, 206);
    assert.equal((await range.arrayBuffer()).byteLength, 10);
    assert.equal((await bob.client.delete(`/api/recordings/${row.id}`)).status, 403);
    assert.equal((await ann.client.delete(`/api/recordings/${row.id}`)).status, 204);
    assert.equal(await access(path.join(s.recordingsDir, fileName)).then(() => true, () => false), false);
    assert.equal(await s.db.Recording.findByPk(row.id), null);
  });
});
