import assert from 'node:assert/strict';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { registerUser, type SignedInUser } from '../../drivers/http.js';
import { decodeErrors, pipelineCount, probe } from '../support/media.js';
import { useWhipServer } from '../support/whipServer.js';
import { skipUnless } from '../support/services.js';
import { waitFor } from '../../drivers/wait.js';
import { makeH264Clip, WhipPeer, type H264Clip } from '../../drivers/whip.js';

describe('WHIP ingest and WHEP playback', { skip: skipUnless('ffmpeg', 'mariadb') }, () => {
  const whip = useWhipServer({ TURN_URLS: 'turn:127.0.0.1:3478', TURN_SECRET: 'whip-test-secret' });
  const { peers } = whip;
  let presenter: SignedInUser;
  let viewer: SignedInUser;
  let h264: H264Clip;
  let baseline: number;

  before(async () => {
    h264 = await makeH264Clip(whip.clipDir);
    presenter = await registerUser(whip.server.url);
    viewer = await registerUser(whip.server.url);
    baseline = await pipelineCount(whip.server);
  });

  const newKey = async (user: SignedInUser, name: string): Promise<string> => {
    const created = await user.client.post('/api/stream-keys', { name });
    assert.equal(created.status, 201, created.text);
    return created.body.key as string;
  };

  test('an encoder goes live over WHIP, a WHEP player watches, DELETE ends the live and stores the recording', async () => {
    const key = await newKey(presenter, 'Evening stream');
    const publisher = WhipPeer.publisher(whip.clip);
    peers.push(publisher);
    const published = await publisher.connect(`${whip.server.url}/whip`, key);
    assert.equal(published.status, 201, published.text);
    assert.equal(published.headers.get('content-type'), 'application/sdp; charset=utf-8');
    assert.match(published.location ?? '', /\/whip\/sessions\/[A-Za-z0-9_-]{22}$/);
    assert.match(published.headers.get('etag') ?? '', /^"[0-9a-f]+"$/);
    assert.equal(published.headers.get('access-control-allow-origin'), '*');
    // Gathered: the answer carries the media server's candidates, and says it has them all.
    assert.match(published.text, /^a=candidate:/m);
    assert.match(published.text, /^a=end-of-candidates/m);
    assert.doesNotMatch(published.text, /^a=sendrecv/m, 'the encoder gets no loopback');
    // TURN with time-limited credentials (coturn's use-auth-secret), one Link per URL.
    const link = published.headers.get('link') ?? '';
    assert.match(link, /^<turn:127\.0\.0\.1:3478>; rel="ice-server"; username="\d+:\d+"; credential="[^"]+"/);

    const lives = await waitFor(async () => {
      const listed = (await viewer.client.get('/api/lives')).body.lives as Array<{ id: string; title: string }>;
      return listed.length === 1 ? listed : null;
    }, 'the WHIP live to be listed');
    const liveId = lives[0]!.id;
    assert.equal(lives[0]!.title, 'Evening stream', 'the title is the key name');
    assert.equal(await pipelineCount(whip.server), baseline + 1);

    const player = WhipPeer.player();
    peers.push(player);
    const played = await player.connect(`${whip.server.url}/whep/${liveId}`, viewer.token);
    assert.equal(played.status, 201, played.text);
    assert.match(played.location ?? '', /\/whep\/sessions\/[A-Za-z0-9_-]{22}$/);
    assert.match(played.text, /^a=candidate:/m);
    await waitFor(() => player.received.keyframe, 'a whole VP8 keyframe at the WHEP player', { timeoutMs: 30_000 });
    assert.equal(player.received.keyframe!.width, whip.clip.width);
    assert.ok(player.received.audio > 0, 'audio reaches the WHEP player');
    // Counted like any viewer.
    const counted = await viewer.client.get(`/api/lives/${liveId}`);
    assert.equal(counted.body.live.viewerCount, 1);

    const flowingAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 3000));
    assert.equal(await player.hangUp(), 200);
    assert.equal((await viewer.client.get(`/api/lives/${liveId}`)).body.live.viewerCount, 0);
    assert.equal(await publisher.hangUp(), 200);
    const stoppedAt = Date.now();
    assert.equal(await publisher.hangUp(), 404, 'the session is gone');
    await waitFor(async () => (await pipelineCount(whip.server)) === baseline, 'the pipeline to be released');
    assert.deepEqual((await viewer.client.get('/api/lives')).body.lives, []);

    const { Recording, Live } = whip.server.server.db;
    const recording = await waitFor(async () => {
      const row = await Recording.findOne({ where: { liveId } });
      return row?.status === 'ready' ? row : null;
    }, 'the recording to be ready');
    assert.equal(recording.userId, presenter.user.id);
    const live = await Live.findByPk(liveId);
    assert.equal(live?.status, 'ended');
    assert.equal(live?.endReason, 'stopped');
    assert.equal(live?.totalViewers, 1);
    const library = await viewer.client.get('/api/recordings');
    assert.ok(
      library.body.recordings.some((r: { liveId: string }) => r.liveId === liveId),
      'the recording is in the library',
    );
    const file = path.join(whip.server.config.recordingsDir, recording.fileName);
    const probed = await probe(file);
    assert.deepEqual(probed.codecs, ['opus', 'vp8']);
    const flowedS = (stoppedAt - flowingAt) / 1000;
    assert.ok(probed.durationS > flowedS - 1.5, `duration ${probed.durationS} s for at least ${flowedS} s of media`);
    assert.ok(probed.seekable, 'the recording is seekable');
    assert.equal(await decodeErrors(file), '');
  });

  test('H.264 + Opus (OBS) is forwarded as is to an H.264 player and recorded without transcoding in Matroska', async () => {
    const key = await newKey(presenter, 'x264');
    const publisher = WhipPeer.publisher(h264);
    peers.push(publisher);
    const published = await publisher.connect(`${whip.server.url}/whip`, key);
    assert.equal(published.status, 201, published.text);
    assert.match(published.text, /^a=rtpmap:\d+ H264\/90000/m, 'the answer keeps H.264');
    assert.doesNotMatch(published.text, /VP8/);
    const liveId = await waitFor(
      async () => (await viewer.client.get('/api/lives')).body.lives[0]?.id as string | undefined,
      'the H.264 live on air',
    );

    const player = WhipPeer.player('H264');
    peers.push(player);
    const played = await player.connect(`${whip.server.url}/whep/${liveId}`, viewer.token);
    assert.equal(played.status, 201, played.text);
    assert.match(played.text, /^a=rtpmap:\d+ H264\/90000/m);
    await waitFor(() => player.idrReceived, 'an H.264 IDR picture at the WHEP player', { timeoutMs: 30_000 });
    assert.ok(player.received.audio > 0, 'audio reaches the WHEP player');

    const flowingAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 3000));
    assert.equal(await player.hangUp(), 200);
    assert.equal(await publisher.hangUp(), 200);
    const stoppedAt = Date.now();
    await waitFor(async () => (await pipelineCount(whip.server)) === baseline, 'the pipeline to be released');

    const { Recording } = whip.server.server.db;
    const recording = await waitFor(
      async () => {
        const row = await Recording.findOne({ where: { liveId } });
        return row?.status === 'ready' && row.posterFileName ? row : null;
      },
      'the recording to be ready with a poster',
      { timeoutMs: 30_000 },
    );
    assert.match(recording.fileName, /\.mkv$/);
    assert.equal(recording.mimeType, 'video/x-matroska');
    const file = path.join(whip.server.config.recordingsDir, recording.fileName);
    const probed = await probe(file);
    assert.deepEqual(probed.codecs, ['h264', 'opus'], 'recorded as sent: no transcoding');
    const flowedS = (stoppedAt - flowingAt) / 1000;
    assert.ok(probed.durationS > flowedS - 1.5, `duration ${probed.durationS} s for at least ${flowedS} s of media`);
    assert.ok(probed.seekable, 'the recording has a duration and cues (seekable)');
    assert.equal(await decodeErrors(file), '');
    const listed = await viewer.client.get(`/api/recordings/${recording.id}`);
    assert.equal(listed.status, 200);
    const view = listed.body.recording ?? listed.body;
    assert.equal(view.mimeType, 'video/x-matroska');
    assert.ok(view.posterUrl, 'the library has a poster for it');
    const media = await fetch(new URL(view.mediaUrl, whip.server.url), { headers: { range: 'bytes=0-99' } });
    assert.equal(media.status, 206);
    assert.equal(media.headers.get('content-type'), 'video/x-matroska');
  });
});
