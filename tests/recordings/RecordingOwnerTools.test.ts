/**
 * The owner's tools on a recording (real files, real ffmpeg, MariaDB): download the original, rename, trim (kept
 * as an edit, cut by stream copy, the original kept until confirmed), and a share link that expires. Each is the
 * owner's only.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { access, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { RecordingList, RecordingShare, RecordingView } from '../../api/contract/rest.js';
import { newPublicId, type Recording } from '../../api/db/index.js';
import { UrlSigner } from '../../api/recordings/UrlSigner.js';
import type { SignedInUser } from '../../drivers/http.js';
import { skipUnless } from '../support/services.js';
import { makeWebm, startRecordingsServer, type RecordingsServer } from './helpers/recordingsServer.js';

const run = promisify(execFile);
const exists = (file: string) =>
  access(file).then(
    () => true,
    () => false,
  );

async function durationOf(bytes: Buffer): Promise<number> {
  const file = path.join(tmpdir(), `onair-cut-${newPublicId()}.webm`);
  await writeFile(file, bytes);
  const { stdout } = await run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file]);
  return Number(stdout.trim()) * 1000;
}

describe("a recording's owner tools", { skip: skipUnless('mariadb', 'ffmpeg') }, () => {
  let s: RecordingsServer;
  let owner: SignedInUser;
  let other: SignedInUser;
  let row: Recording;
  let file: string;

  const view = async (who: SignedInUser, id = row.id) => {
    const answer = await who.client.get<RecordingView>(`/api/recordings/${id}`);
    assert.equal(answer.status, 200, answer.text);
    return answer.body;
  };
  const patch = (who: SignedInUser, body: unknown, id = row.id) =>
    who.client.request('PATCH', `/api/recordings/${id}`, { body });
  const bytesOf = async (url: string) => {
    const res = await fetch(new URL(url, s.url));
    return { res, bytes: Buffer.from(await res.arrayBuffer()) };
  };

  before(async () => {
    s = await startRecordingsServer({ db: 'mariadb' });
    owner = await s.register('owner');
    other = await s.register('other');
    const fileName = `${newPublicId()}.webm`;
    file = path.join(s.recordingsDir, fileName);
    await makeWebm(file, { seconds: 8 });
    row = await s.recording(owner.user.id, { fileName, title: 'Rehearsal', durationMs: 8000 });
    assert.equal((await s.recordings.finaliser.enqueue(row.id)).result, 'finalised');
  });

  after(async () => {
    await s?.close();
  });

  it('downloads the original file, as an attachment, for its owner only', async () => {
    const mine = await view(owner);
    assert.ok(mine.downloadUrl);
    const { res, bytes } = await bytesOf(mine.downloadUrl);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-disposition') ?? '', /^attachment; .*filename\*=UTF-8''Rehearsal\.webm$/);
    assert.deepEqual(bytes, await readFile(file));
    assert.equal((await view(other)).downloadUrl, null);
    // A media signature does not open the download route.
    const forged = mine.mediaUrl.replace('/media?', '/download?');
    assert.equal((await bytesOf(forged)).res.status, 403);
  });

  it('renames, and the search follows; others may not', async () => {
    const renamed = await patch(owner, { title: '  周末音乐会 rehearsal ' });
    assert.equal(renamed.status, 200, renamed.text);
    assert.equal(renamed.body.title, '周末音乐会 rehearsal');
    const found = await owner.client.get<RecordingList>(`/api/recordings?q=${encodeURIComponent('音乐会')}`);
    assert.deepEqual(
      found.body.recordings.map((r) => r.id),
      [row.id],
    );
    const refused = await patch(other, { title: 'mine now' });
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error.code, 'recording.forbidden');
    for (const body of [{ title: '   ' }, { title: 'x'.repeat(201) }, { owner: 1 }, {}, { trimStartMs: -1 }, { trimEndMs: 1.5 }]) {
      const answer = await patch(owner, body);
      assert.equal(answer.status, 400, JSON.stringify(body));
      assert.equal(answer.body.error.code, 'request.invalid');
    }
    assert.equal((await view(owner)).title, '周末音乐会 rehearsal');
  });

  it('keeps a trim as an edit, refusing one outside the recording', async () => {
    for (const body of [
      { trimStartMs: 5000, trimEndMs: 5000 },
      { trimStartMs: 6000, trimEndMs: 2000 },
      { trimEndMs: 9000 },
      { trimStartMs: 20_000 },
    ]) {
      const answer = await patch(owner, body);
      assert.equal(answer.status, 400, JSON.stringify(body));
      assert.equal(answer.body.error.code, 'request.invalid');
    }
    const trimmed = await patch(owner, { trimStartMs: 2000, trimEndMs: 5000 });
    assert.equal(trimmed.status, 200, trimmed.text);
    assert.equal(trimmed.body.trimStartMs, 2000);
    assert.equal(trimmed.body.trimEndMs, 5000);
    assert.equal(trimmed.body.cutUrl, null);
    const seen = await view(other);
    assert.deepEqual([seen.trimStartMs, seen.trimEndMs], [2000, 5000], 'everyone plays the trimmed part');
    assert.equal((await other.client.post(`/api/recordings/${row.id}/cut`)).status, 403);
  });

  it('cuts the trim by stream copy, keeps the original until confirmed, then replaces it', async () => {
    const original = await readFile(file);
    const cut = await owner.client.post<RecordingView>(`/api/recordings/${row.id}/cut`);
    assert.equal(cut.status, 200, cut.text);
    assert.ok(cut.body.cutUrl);
    const { res, bytes } = await bytesOf(cut.body.cutUrl);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-disposition') ?? '', /trimmed/);
    const cutMs = await durationOf(bytes);
    // From the keyframe at or before 2 s (one a second in this file) to 5 s: 3 to 4 s.
    assert.ok(cutMs > 2900 && cutMs < 4300, `the cut lasts 3 to 4 s (${cutMs} ms)`);
    assert.deepEqual(await readFile(file), original, 'the original is untouched');
    assert.equal((await other.client.post(`/api/recordings/${row.id}/cut/confirm`)).status, 403);

    const confirmed = await owner.client.post<RecordingView>(`/api/recordings/${row.id}/cut/confirm`);
    assert.equal(confirmed.status, 200, confirmed.text);
    assert.deepEqual([confirmed.body.trimStartMs, confirmed.body.trimEndMs, confirmed.body.cutUrl], [null, null, null]);
    assert.ok(Math.abs(confirmed.body.durationMs! - cutMs) < 100, `${confirmed.body.durationMs} ≈ ${cutMs}`);
    assert.deepEqual(await readFile(file), bytes, 'the file is now the cut');
    const again = await owner.client.post(`/api/recordings/${row.id}/cut/confirm`);
    assert.equal(again.status, 400, 'nothing left to confirm');
  });

  it('drops a cut when the trim changes', async () => {
    await patch(owner, { trimStartMs: 1000 });
    const cut = (await owner.client.post<RecordingView>(`/api/recordings/${row.id}/cut`)).body;
    assert.ok(cut.cutUrl);
    const cutFile = path.join(s.recordingsDir, (await s.db.Recording.findByPk(row.id))!.cutFileName!);
    assert.ok(await exists(cutFile));
    const changed = await patch(owner, { trimStartMs: null, trimEndMs: null });
    assert.equal(changed.body.cutUrl, null);
    assert.equal(await exists(cutFile), false);
    assert.equal((await owner.client.post(`/api/recordings/${row.id}/cut`)).status, 400, 'no trim, nothing to cut');
  });

  it('shares a link that plays without an account and expires', async () => {
    const shared = await owner.client.post<RecordingShare>(`/api/recordings/${row.id}/share`, { expiresInS: 3600 });
    assert.equal(shared.status, 201, shared.text);
    const expires = Date.parse(shared.body.expiresAt) - Date.now();
    assert.ok(expires > 3500_000 && expires <= 3600_000, `${expires}`);
    const { res, bytes } = await bytesOf(shared.body.url);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'video/webm');
    assert.deepEqual(bytes, await readFile(file));
    for (const body of [{ expiresInS: 10 }, { expiresInS: 8 * 24 * 3600 }, { expiresInS: '3600' }, {}]) {
      const answer = await owner.client.post(`/api/recordings/${row.id}/share`, body);
      assert.equal(answer.status, 400, JSON.stringify(body));
    }
    assert.equal((await other.client.post(`/api/recordings/${row.id}/share`, { expiresInS: 3600 })).status, 403);

    // Signed by the same secret, but in the past: expired; a week and more ahead: never signed by the server.
    const signer = new UrlSigner(s.config.signingSecret);
    const past = signer.url('share', row.id, Math.floor(Date.now() / 1000) - 5);
    const expired = await fetch(new URL(past.url, s.url));
    assert.equal(expired.status, 403);
    assert.equal(((await expired.json()) as { error: { code: string } }).error.code, 'recording.expiredSignature');
    const far = signer.url('share', row.id, Math.floor(Date.now() / 1000) + 8 * 24 * 3600);
    assert.equal((await fetch(new URL(far.url, s.url))).status, 403);
  });
});
