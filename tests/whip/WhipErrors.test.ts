import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { before, describe, test } from 'node:test';
import { hashToken } from '../../api/auth/Sessions.js';
import { registerUser, type SignedInUser } from '../../drivers/http.js';
import { pipelineCount } from '../support/media.js';
import { useWhipServer } from '../support/whipServer.js';
import { skipUnless } from '../support/services.js';
import { waitFor } from '../../drivers/wait.js';
import { WhipPeer } from '../../drivers/whip.js';

describe('stream keys and bad WHIP/WHEP input', { skip: skipUnless('ffmpeg', 'mariadb') }, () => {
  const whip = useWhipServer();
  const { peers } = whip;
  let alice: SignedInUser;
  let bob: SignedInUser;
  let baseline: number;

  before(async () => {
    alice = await registerUser(whip.server.url);
    bob = await registerUser(whip.server.url);
    baseline = await pipelineCount(whip.server);
  });

  const post = (url: string, init: { token?: string; type?: string; body?: string }) =>
    fetch(new URL(url, whip.server.url), {
      method: 'POST',
      headers: {
        ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
        ...(init.type ? { 'content-type': init.type } : {}),
      },
      ...(init.body !== undefined ? { body: init.body } : {}),
    });
  const errorOf = async (response: Response) => ((await response.json()) as { error: { code: string } }).error.code;
  const offer = async (kind: 'publisher' | 'player') => {
    const peer = kind === 'publisher' ? WhipPeer.publisher(whip.clip) : WhipPeer.player();
    peers.push(peer);
    return peer.gatheredOffer();
  };

  test('a stream key is shown once, stored hashed, listed, renamed and revoked by its owner only', async () => {
    const created = await alice.client.post('/api/stream-keys', { name: 'OBS at home' });
    assert.equal(created.status, 201);
    const key = created.body.key as string;
    assert.match(key, /^sk_[A-Za-z0-9_-]{43}$/);
    assert.equal(created.body.streamKey.name, 'OBS at home');
    assert.equal(created.body.streamKey.hint, key.slice(0, 7));
    const row = await whip.server.server.db.StreamKey.findByPk(created.body.streamKey.id);
    assert.equal(row?.keyHash, hashToken(key));
    assert.ok(!JSON.stringify(row?.toJSON()).includes(key.slice(3)), 'the key itself is not stored');

    const listed = await alice.client.get('/api/stream-keys');
    assert.equal(listed.status, 200);
    assert.deepEqual(
      listed.body.streamKeys.map((k: { name: string }) => k.name),
      ['OBS at home'],
    );
    assert.ok(!listed.text.includes(key), 'the list never shows the key');
    assert.deepEqual((await bob.client.get('/api/stream-keys')).body.streamKeys, []);

    const id = created.body.streamKey.id as number;
    const renamed = await alice.client.request('PATCH', `/api/stream-keys/${id}`, { body: { name: 'Studio' } });
    assert.equal(renamed.status, 200);
    assert.equal(renamed.body.name, 'Studio');
    assert.equal((await bob.client.delete(`/api/stream-keys/${id}`)).body.error.code, 'whip.keyNotFound');
    assert.equal((await alice.client.post('/api/stream-keys', { name: '' })).status, 400);
    assert.equal((await alice.client.post('/api/stream-keys', { name: 'x'.repeat(65) })).status, 400);
    assert.equal((await http401()).status, 401);

    assert.equal((await alice.client.delete(`/api/stream-keys/${id}`)).status, 204);
    assert.deepEqual((await alice.client.get('/api/stream-keys')).body.streamKeys, []);
    assert.equal((await alice.client.delete(`/api/stream-keys/${id}`)).status, 404);

    // A revoked key publishes nothing.
    const refused = await post('/whip', { token: key, type: 'application/sdp', body: await offer('publisher') });
    assert.equal(refused.status, 401);
    assert.equal(await errorOf(refused), 'auth.invalidToken');
  });

  const http401 = () => whip.server.http.get('/api/stream-keys');

  test('POST /whip refuses a missing or wrong key (401), another type (415), garbage (400), too much (413)', async () => {
    const key = (await alice.client.post('/api/stream-keys', { name: 'k' })).body.key as string;
    const sdp = await offer('publisher');
    const cases: Array<[string, Parameters<typeof post>[1], number, string]> = [
      ['no key', { type: 'application/sdp', body: sdp }, 401, 'auth.required'],
      [
        'a wrong key',
        { token: `sk_${randomBytes(32).toString('base64url')}`, type: 'application/sdp', body: sdp },
        401,
        'auth.invalidToken',
      ],
      ['an account token', { token: alice.token, type: 'application/sdp', body: sdp }, 401, 'auth.invalidToken'],
      ['JSON', { token: key, type: 'application/json', body: JSON.stringify({ sdp }) }, 415, 'request.unsupportedType'],
      ['no body type', { token: key, body: sdp }, 415, 'request.unsupportedType'],
      ['garbage SDP', { token: key, type: 'application/sdp', body: 'v=0\r\nthis is not SDP\r\n' }, 400, 'sdp.invalid'],
      [
        'a receive-only offer',
        { token: key, type: 'application/sdp', body: await offer('player') },
        400,
        'sdp.invalid',
      ],
      [
        'an oversized body',
        { token: key, type: 'application/sdp', body: `${sdp}a=x:${'y'.repeat(40_000)}\r\n` },
        413,
        'request.tooLarge',
      ],
    ];
    for (const [what, init, status, code] of cases) {
      const response = await post('/whip', init);
      assert.equal(response.status, status, what);
      assert.equal(await errorOf(response), code, what);
      assert.equal(response.headers.get('access-control-allow-origin'), '*', `${what}: CORS on errors too`);
    }
    assert.equal(await pipelineCount(whip.server), baseline, 'nothing was created on the media server');
    assert.deepEqual((await alice.client.get('/api/lives')).body.lives, []);
  });

  test('OPTIONS answers the CORS preflight of browser WHIP clients', async () => {
    const response = await fetch(new URL('/whip', whip.server.url), {
      method: 'OPTIONS',
      headers: { origin: 'https://player.example', 'access-control-request-method': 'POST' },
    });
    assert.equal(response.status, 204);
    assert.equal(response.headers.get('access-control-allow-origin'), '*');
    assert.match(response.headers.get('access-control-allow-methods') ?? '', /POST/);
    assert.match(response.headers.get('access-control-allow-headers') ?? '', /Authorization/);
    assert.equal(response.headers.get('accept-post'), 'application/sdp');
  });

  test('a second session on a key already on air is 409; PATCH trickles, refuses restarts (422) and stale ETags (412); unknown sessions are 404', async () => {
    const key = (await alice.client.post('/api/stream-keys', { name: 'Twice' })).body.key as string;
    const first = WhipPeer.publisher(whip.clip);
    peers.push(first);
    const published = await first.connect(new URL('/whip', whip.server.url).href, key);
    assert.equal(published.status, 201, published.text);
    await waitFor(async () => (await alice.client.get('/api/lives')).body.lives.length === 1, 'the live on air');

    const second = await post('/whip', { token: key, type: 'application/sdp', body: await offer('publisher') });
    assert.equal(second.status, 409);
    assert.equal(await errorOf(second), 'live.alreadyLive');
    assert.equal((await alice.client.get('/api/lives')).body.lives.length, 1, 'the first live goes on');
    assert.equal(await pipelineCount(whip.server), baseline + 1);

    const location = published.location!;
    const etag = published.headers.get('etag')!;
    const ufrag = /^a=ice-ufrag:(\S+)/m.exec(first.pc.localDescription!.sdp)![1]!;
    const patch = (body: string, headers: Record<string, string>) =>
      fetch(location, {
        method: 'PATCH',
        headers: { 'content-type': 'application/trickle-ice-sdpfrag', ...headers },
        body,
      });
    const fragment = (u: string) =>
      `a=ice-ufrag:${u}\r\na=ice-pwd:${'p'.repeat(24)}\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n` +
      'a=candidate:1 1 udp 2130706431 127.0.0.1 9 typ host\r\n';
    assert.equal((await patch(fragment(ufrag), { 'if-match': etag })).status, 204);
    const stale = await patch(fragment(ufrag), { 'if-match': '"00"' });
    assert.equal(stale.status, 412);
    assert.equal(await errorOf(stale), 'request.preconditionFailed');
    const restart = await patch(fragment('another'), { 'if-match': '*' });
    assert.equal(restart.status, 422);
    assert.equal(await errorOf(restart), 'ice.restartUnsupported');
    const wrongType = await fetch(location, { method: 'PATCH', headers: { 'content-type': 'text/plain' }, body: 'x' });
    assert.equal(wrongType.status, 415);

    const unknown = new URL(`/whip/sessions/${randomBytes(16).toString('base64url')}`, whip.server.url);
    const gone = await fetch(unknown, { method: 'DELETE' });
    assert.equal(gone.status, 404);
    assert.equal(await errorOf(gone), 'request.notFound');
    assert.equal((await fetch(new URL('/whip/sessions/nope', whip.server.url), { method: 'DELETE' })).status, 404);
    const unknownPatch = await fetch(unknown, {
      method: 'PATCH',
      headers: { 'content-type': 'application/trickle-ice-sdpfrag' },
      body: fragment(ufrag),
    });
    assert.equal(unknownPatch.status, 404);

    // WHEP: an account token is needed, the live must exist, and the offer must receive only.
    const liveId = (await alice.client.get('/api/lives')).body.lives[0].id as string;
    const playerOffer = await offer('player');
    const anonymous = await post(`/whep/${liveId}`, { type: 'application/sdp', body: playerOffer });
    assert.equal(anonymous.status, 401);
    const withKey = await post(`/whep/${liveId}`, { token: key, type: 'application/sdp', body: playerOffer });
    assert.equal(withKey.status, 401, 'a stream key is not an account token');
    const noLive = await post('/whep/aaaaaaaaaaaa', { token: bob.token, type: 'application/sdp', body: playerOffer });
    assert.equal(noLive.status, 404);
    assert.equal(await errorOf(noLive), 'live.notFound');
    const sending = await post(`/whep/${liveId}`, {
      token: bob.token,
      type: 'application/sdp',
      body: await offer('publisher'),
    });
    assert.equal(sending.status, 400);
    assert.equal(await errorOf(sending), 'sdp.invalid');
    assert.equal((await bob.client.get(`/api/lives/${liveId}`)).body.live.viewerCount, 0);

    assert.equal(await first.hangUp(), 200);
    await waitFor(async () => (await pipelineCount(whip.server)) === baseline, 'the pipeline to be released');
  });
});
