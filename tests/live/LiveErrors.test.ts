import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { registerUser, type SignedInUser } from '../../drivers/http.js';
import { pipelineCount } from '../support/media.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { skipUnless } from '../support/services.js';
import { connectSocket, errorCode, makeOffer, request, type ClientSocket } from '../support/signalling.js';
import { waitFor } from '../../drivers/wait.js';

describe('signalling refuses bad input with clear codes and leaks nothing', { skip: skipUnless('mariadb') }, () => {
  let server: TestServer;
  let alice: SignedInUser;
  let bob: SignedInUser;
  let baseline: number;
  const sockets: ClientSocket[] = [];
  const connect = async (token: unknown) => {
    const s = await connectSocket(server.url, token);
    sockets.push(s);
    return s;
  };

  before(async () => {
    server = await startTestServer({ server: { media: {} } });
    alice = await registerUser(server.url);
    bob = await registerUser(server.url);
    baseline = await pipelineCount(server);
  });

  after(async () => {
    for (const s of sockets) s.close();
    await server?.close();
  });

  test('a handshake without a token, with a forged one or with a revoked one is refused with its code', async () => {
    await assert.rejects(
      connectSocket(server.url, null),
      (e: Error & { data?: { code: string } }) => e.data?.code === 'auth.required',
    );
    await assert.rejects(
      connectSocket(server.url, 'forged.token'),
      (e: Error & { data?: { code: string } }) => e.data?.code === 'auth.invalidToken',
    );
    await assert.rejects(
      connectSocket(server.url, { not: 'a string' }),
      (e: Error & { data?: { code: string } }) => e.data?.code === 'auth.required',
    );
    const carol = await registerUser(server.url);
    const socket = await connect(carol.token);
    let ended: string | undefined;
    socket.on('session:ended', (error) => (ended = error.code));
    assert.equal((await carol.client.post('/api/auth/logout')).status, 204);
    // The server closes the socket of a revoked session itself, telling it why.
    await waitFor(() => socket.disconnected, 'the revoked socket to be disconnected');
    assert.equal(ended, 'auth.invalidToken');
  });

  test('unknown and malformed live ids: live.notFound and request.invalid', async () => {
    const socket = await connect(bob.token);
    assert.equal(errorCode(await request(socket, 'viewer:watch', { liveId: 'zzzzzzzzzzzz' })), 'live.notFound');
    assert.equal(errorCode(await request(socket, 'viewer:watch', { liveId: '../../etc/pa' })), 'request.invalid');
    assert.equal(errorCode(await request(socket, 'viewer:watch', { liveId: { $gt: '' } })), 'request.invalid');
    assert.equal(errorCode(await request(socket, 'viewer:watch', 'nope')), 'request.invalid');
    assert.equal(
      errorCode(await request(socket, 'viewer:offer', { liveId: 'zzzzzzzzzzzz', sdpOffer: 'v=0' })),
      'live.notWatching',
    );
    assert.equal((await bob.client.get('/api/lives/zzzzzzzzzzzz')).body.error.code, 'live.notFound');
    assert.equal((await bob.client.get('/api/lives/NOT-AN-ID')).status, 400);
  });

  test('a malformed, non-string or oversized SDP gets sdp.invalid / request.* and the live is released', async () => {
    const socket = await connect(alice.token);
    for (const [sdpOffer, code] of [
      ['garbage', 'sdp.invalid'],
      ['v=0\r\nm=video nine\r\n', 'sdp.invalid'],
      [42, 'request.invalid'],
      ['v=0\r\n' + 'a=x\r\n'.repeat(20_000), 'request.tooLarge'],
    ] as const) {
      const started = await request<{ liveId: string }>(socket, 'presenter:start', { title: 'bad sdp' });
      assert.ok(started.ok, JSON.stringify(started));
      const ack = await request(socket, 'presenter:offer', { liveId: started.liveId, sdpOffer });
      assert.equal(errorCode(ack), code, `offer ${String(sdpOffer).slice(0, 20)}`);
      if (code !== 'sdp.invalid') assert.ok((await request(socket, 'presenter:stop', { liveId: started.liveId })).ok);
      await waitFor(async () => (await pipelineCount(server)) === baseline, 'no pipeline left');
    }
    assert.deepEqual((await alice.client.get('/api/lives')).body.lives, []);
  });

  test('a viewer offer that sends media is refused (sdp.invalid) and its endpoint released', async () => {
    const presenter = await connect(alice.token);
    const started = await request<{ liveId: string }>(presenter, 'presenter:start', { title: 'roles' });
    assert.ok(started.ok);
    assert.ok(
      (await request(presenter, 'presenter:offer', { liveId: started.liveId, sdpOffer: await makeOffer('presenter') }))
        .ok,
    );
    const viewer = await connect(bob.token);
    assert.ok((await request(viewer, 'viewer:watch', { liveId: started.liveId })).ok);
    const ack = await request(viewer, 'viewer:offer', {
      liveId: started.liveId,
      sdpOffer: await makeOffer('presenter'),
    });
    assert.equal(errorCode(ack), 'sdp.invalid');
    assert.equal(server.server.services.media?.server.live(started.liveId)?.viewerCount, 0);

    // Someone else's live: bob can neither stop it nor trickle as its presenter.
    assert.equal(errorCode(await request(viewer, 'presenter:stop', { liveId: started.liveId })), 'live.notPresenter');
    assert.equal(
      errorCode(
        await request(viewer, 'ice:candidate', {
          liveId: started.liveId,
          role: 'presenter',
          candidate: { candidate: 'candidate:1 1 udp 1 127.0.0.1 9 typ host', sdpMid: '0', sdpMLineIndex: 0 },
        }),
      ),
      'live.notPresenter',
    );

    // A second go-live while live, on the same socket or another one of the same user.
    assert.equal(errorCode(await request(presenter, 'presenter:start', { title: 'again' })), 'live.alreadyLive');
    const second = await connect(alice.token);
    assert.equal(errorCode(await request(second, 'presenter:start', { title: 'again' })), 'live.alreadyLive');

    assert.ok((await request(presenter, 'presenter:stop', { liveId: started.liveId })).ok);
    await waitFor(async () => (await pipelineCount(server)) === baseline, 'no pipeline left');
    assert.ok((await request(second, 'presenter:start', { title: 'now it is free' })).ok);
    second.close();
  });

  test('an event flood from one socket is rate limited, and every event still gets its answer', async () => {
    const socket = await connect(alice.token);
    const acks = await Promise.all(
      Array.from({ length: 120 }, (_, i) =>
        request(socket, 'ice:candidate', {
          liveId: 'aaaaaaaaaaaa',
          role: 'viewer',
          candidate: { candidate: `candidate:${i} 1 udp 1 127.0.0.1 9 typ host`, sdpMid: '0', sdpMLineIndex: 0 },
        }),
      ),
    );
    const codes = new Set(acks.map((a) => errorCode(a)));
    assert.deepEqual([...codes].sort(), ['live.notWatching', 'request.rateLimited']);
  });

  test('the presenter dropping mid-setup leaves no pipeline, and a viewer dropping mid-negotiation leaves no endpoint', async () => {
    const presenter = await connect(bob.token);
    const started = await request<{ liveId: string }>(presenter, 'presenter:start', { title: 'drop' });
    assert.ok(started.ok);
    const offer = await makeOffer('presenter');
    // The offer is in flight when the socket goes.
    (presenter.emit as (...a: unknown[]) => void)(
      'presenter:offer',
      { liveId: started.liveId, sdpOffer: offer },
      () => undefined,
    );
    presenter.close();
    await waitFor(async () => (await pipelineCount(server)) === baseline, 'the half-built pipeline to be released');
    assert.equal(await server.server.services.lives.registry.userLive(bob.user.id), null);

    const p2 = await connect(bob.token);
    const live = await waitFor(async () => {
      const s = await request<{ liveId: string }>(p2, 'presenter:start', { title: 'drop 2' });
      return s.ok ? s : null;
    }, 'bob to be free to go live again');
    assert.ok((await request(p2, 'presenter:offer', { liveId: live.liveId, sdpOffer: offer })).ok);
    const viewer = await connect(alice.token);
    assert.ok((await request(viewer, 'viewer:watch', { liveId: live.liveId })).ok);
    (viewer.emit as (...a: unknown[]) => void)(
      'viewer:offer',
      { liveId: live.liveId, sdpOffer: await makeOffer('viewer') },
      () => undefined,
    );
    viewer.close();
    const media = server.server.services.media!.server;
    await waitFor(() => media.live(live.liveId)?.viewerCount === 0, 'the viewer endpoint to be released');
    assert.ok((await request(p2, 'presenter:stop', { liveId: live.liveId })).ok);
    await waitFor(async () => (await pipelineCount(server)) === baseline, 'no pipeline left');
  });
});
