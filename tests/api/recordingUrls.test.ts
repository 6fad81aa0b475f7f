/** A recording's signed media URL dies with the session it was handed to (issue 11). */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { AuthResponse, RecordingList, RecordingView } from '../../api/contract/rest.js';
import { registerUser, type SignedInUser } from '../../drivers/http.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { waitFor } from '../../drivers/wait.js';

describe('signed media URLs follow their session', () => {
  let srv: TestServer;
  let owner: SignedInUser;
  let recordingId: number;
  const bytes = Buffer.from('not really a webm, but served as one'.repeat(10));

  const startServer = async (env: Record<string, string> = {}) => {
    const server = await startTestServer({ db: 'sqlite', env });
    const user = await registerUser(server.url);
    const fileName = 'sessionbound.webm';
    await writeFile(path.join(server.config.recordingsDir, fileName), bytes);
    const row = await server.server.db.Recording.create({
      userId: user.user.id,
      title: 'Bound to a session',
      fileName,
      startedAt: new Date(Date.now() - 60_000),
      endedAt: new Date(),
      durationMs: 6000,
      sizeBytes: bytes.length,
      status: 'ready',
      location: 'Paris, France',
    });
    return { server, user, id: row.id };
  };

  before(async () => {
    ({ server: srv, user: owner, id: recordingId } = await startServer());
  });
  after(async () => {
    await srv?.close();
  });

  test('a media URL works while its session lasts and is refused once it is logged out', async () => {
    const viewer = await registerUser(srv.url);
    const view = (await viewer.client.get<RecordingView>(`/api/recordings/${recordingId}`)).body;
    assert.match(view.mediaUrl, /[?&]sid=[A-Za-z0-9_-]{22}&/);
    const listed = (await viewer.client.get<RecordingList>('/api/recordings')).body.recordings[0]!;
    assert.equal(listed.mediaUrl, view.mediaUrl, 'the list hands out the same link');
    // Without an Authorization header, as a <video> loads it.
    const playing = await srv.http.get(view.mediaUrl, { headers: { range: 'bytes=0-9' } });
    assert.equal(playing.status, 206);

    // A second session of the same account has links of its own, which outlive the first session.
    const second = await srv.http.post<AuthResponse>('/api/auth/login', {
      nickname: viewer.nickname,
      password: viewer.password,
    });
    const otherView = (
      await viewer.client.withToken(second.body.token).get<RecordingView>(`/api/recordings/${recordingId}`)
    ).body;
    assert.notEqual(otherView.mediaUrl, view.mediaUrl);

    assert.equal((await viewer.client.post('/api/auth/logout')).status, 204);
    const refused = await srv.http.get(view.mediaUrl);
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error.code, 'recording.expiredSignature');
    assert.equal((await srv.http.get(otherView.mediaUrl)).status, 200, "the other session's link still plays");
    // Renewal (what the player does when a link fails) works for a signed-in session.
    const renewed = (await owner.client.get<RecordingView>(`/api/recordings/${recordingId}`)).body;
    assert.equal((await srv.http.get(renewed.mediaUrl)).status, 200);
  });

  test('a link whose session id was swapped for another live session is refused as forged', async () => {
    const a = (await owner.client.get<RecordingView>(`/api/recordings/${recordingId}`)).body.mediaUrl;
    const other = await registerUser(srv.url);
    const b = (await other.client.get<RecordingView>(`/api/recordings/${recordingId}`)).body.mediaUrl;
    const sidOf = (url: string) => new URL(url, srv.url).searchParams.get('sid')!;
    const swapped = a.replace(sidOf(a), sidOf(b));
    const res = await srv.http.get(swapped);
    assert.equal(res.status, 403);
    assert.equal(res.body.error.code, 'recording.invalidSignature');
    const stripped = a.replace(`sid=${sidOf(a)}&`, '');
    assert.equal((await srv.http.get(stripped)).body.error.code, 'recording.invalidSignature');
  });

  test('a media URL is refused once its session expires, long before the link itself would', async () => {
    const short = await startServer({ TOKEN_TTL: '2s' });
    try {
      const view = (await short.user.client.get<RecordingView>(`/api/recordings/${short.id}`)).body;
      assert.equal((await short.server.http.get(view.mediaUrl)).status, 200);
      assert.ok(Date.parse(view.urlsExpireAt) - Date.now() > 60_000, 'the link alone would last much longer');
      const refused = await waitFor(async () => {
        const res = await short.server.http.get(view.mediaUrl);
        return res.status === 403 ? res : null;
      }, 'the session to expire');
      assert.equal(refused.body.error.code, 'recording.expiredSignature');
    } finally {
      await short.server.close();
    }
  });
});
