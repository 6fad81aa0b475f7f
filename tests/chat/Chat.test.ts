/**
 * Chat and reactions of a live, on two API processes sharing MariaDB and Redis, with real socket.io clients on
 * both: delivery (once each), history, limits, moderation, and reactions counted per second.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CHAT_MAX_CHARS, type ChatMessage, type ReactionBurst } from '../../api/contract/chat.js';
import { registerUser, type SignedInUser } from '../../drivers/http.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { skipUnless } from '../support/services.js';
import { connectSocket, errorCode, makeOffer, request, type ClientSocket } from '../support/signalling.js';
import { waitFor } from '../../drivers/wait.js';

/** A socket with what it heard. */
interface Member {
  user: SignedInUser;
  socket: ClientSocket;
  messages: ChatMessage[];
  deleted: number[];
  bursts: ReactionBurst[];
  events: Array<[string, unknown]>;
}

describe('chat and reactions across two API processes', { skip: skipUnless('mariadb', 'redis') }, () => {
  let a: TestServer;
  let b: TestServer;
  const sockets: ClientSocket[] = [];

  const join = async (server: TestServer, user: SignedInUser): Promise<Member> => {
    const socket = await connectSocket(server.url, user.token);
    sockets.push(socket);
    const member: Member = { user, socket, messages: [], deleted: [], bursts: [], events: [] };
    socket.on('chat:message', (m) => member.messages.push(m));
    socket.on('chat:deleted', (m) => member.deleted.push(m.messageId));
    socket.on('reaction:burst', (m) => member.bursts.push(m));
    socket.onAny((event: string, payload: unknown) => member.events.push([event, payload]));
    return member;
  };

  /** A live on air on process A, its presenter in the chat. */
  const goLive = async (title = 'chatty live') => {
    const presenterUser = await registerUser(a.url);
    const presenter = await join(a, presenterUser);
    const started = await request<{ liveId: string }>(presenter.socket, 'presenter:start', { title });
    assert.ok(started.ok, JSON.stringify(started));
    const offered = await request(presenter.socket, 'presenter:offer', {
      liveId: started.liveId,
      sdpOffer: await makeOffer('presenter'),
    });
    assert.ok(offered.ok, JSON.stringify(offered));
    const state = await request<{ moderator: boolean }>(presenter.socket, 'chat:join', { liveId: started.liveId });
    assert.ok(state.ok && state.moderator, JSON.stringify(state));
    return { liveId: started.liveId, presenter };
  };

  /** A viewer on `server` watching the live, in its chat. */
  const watch = async (server: TestServer, liveId: string, user?: SignedInUser) => {
    const member = await join(server, user ?? (await registerUser(server.url)));
    assert.ok((await request(member.socket, 'viewer:watch', { liveId })).ok);
    const state = await request(member.socket, 'chat:join', { liveId });
    assert.ok(state.ok, JSON.stringify(state));
    return { member, state };
  };

  const say = async (member: Member, liveId: string, text: string) => {
    const ack = await request<{ message: ChatMessage }>(member.socket, 'chat:send', { liveId, text });
    assert.ok(ack.ok, `${text}: ${JSON.stringify(ack)}`);
    return ack.message;
  };

  /** The store keys of a live's chat and reactions. */
  const liveKeys = async (liveId: string) => [
    ...(await a.server.store.keys(`chat:${liveId}:`)),
    ...(await a.server.store.keys(`rx:${liveId}:`)),
  ];

  before(async () => {
    a = await startTestServer({ store: 'redis', server: { media: {} } });
    b = await startTestServer({ shareWith: a });
  });

  after(async () => {
    for (const s of sockets) s.close();
    await b?.close();
    await a?.close();
  });

  test('every message reaches the presenter and every viewer, on both processes, exactly once', async () => {
    const { liveId, presenter } = await goLive();
    const viewers = [(await watch(a, liveId)).member, (await watch(b, liveId)).member, (await watch(b, liveId)).member];
    const everyone = [presenter, ...viewers];
    const sent: ChatMessage[] = [];
    for (const [i, member] of everyone.entries()) sent.push(await say(member, liveId, `hello ${i} 👋`));
    // A last message: once everybody has it, an earlier duplicate would have come too.
    sent.push(await say(presenter, liveId, 'last one'));
    for (const member of everyone) {
      await waitFor(() => member.messages.some((m) => m.text === 'last one'), `${member.user.nickname} to hear all`);
      assert.deepEqual(
        member.messages.map((m) => m.id),
        sent.map((m) => m.id),
        `${member.user.nickname} got each message once, in order`,
      );
    }
    const first = presenter.messages[0]!;
    assert.equal(first.user.nickname, presenter.user.nickname);
    assert.equal(first.text, 'hello 0 👋');
    assert.ok(first.offsetMs >= 0 && first.offsetMs < 60_000, `offset ${first.offsetMs}`);
    assert.ok(presenter.messages.every((m, i, all) => i === 0 || m.offsetMs >= all[i - 1]!.offsetMs));
  });

  test('a viewer who joins gets the last 50 messages, oldest first, with their offsets', async () => {
    const { liveId, presenter } = await goLive('history');
    const talkers = await Promise.all(Array.from({ length: 7 }, () => watch(a, liveId)));
    const sent: ChatMessage[] = [];
    for (let i = 0; i < 56; i++) sent.push(await say(talkers[i % 7]!.member, liveId, `message ${i}`));
    const { state } = await watch(b, liveId);
    assert.ok(state.ok);
    const history = (state as unknown as { messages: ChatMessage[] }).messages;
    assert.deepEqual(
      history.map((m) => m.text),
      sent.slice(-50).map((m) => m.text),
    );
    assert.deepEqual(
      history.map((m) => m.offsetMs),
      sent.slice(-50).map((m) => m.offsetMs),
    );
    assert.ok(history.every((m) => m.user.nickname !== '' && m.liveId === liveId));
    void presenter;
  });

  test('bad input gets its code: too long, flooding, not watching, ended live; HTML is kept as inert text', async () => {
    const { liveId, presenter } = await goLive('limits');
    const { member: viewer } = await watch(b, liveId);

    // Length: characters, not bytes (500 emoji are fine, 501 are not).
    await say(viewer, liveId, '🎉'.repeat(CHAT_MAX_CHARS));
    const long = await request(viewer.socket, 'chat:send', { liveId, text: 'a'.repeat(CHAT_MAX_CHARS + 1) });
    assert.equal(errorCode(long), 'chat.tooLong');
    assert.equal(errorCode(await request(viewer.socket, 'chat:send', { liveId, text: ' \n\t ' })), 'request.invalid');
    assert.equal(errorCode(await request(viewer.socket, 'chat:send', { liveId, text: 42 })), 'request.invalid');
    assert.equal(
      errorCode(await request(viewer.socket, 'chat:send', { liveId, text: 'x'.repeat(100_000) })),
      'request.tooLarge',
    );

    // HTML is text: stored and delivered as typed (the page renders it as text); spoofing controls are removed.
    const html = await say(viewer, liveId, '<script>alert(1)</script><img src=x onerror=alert(2)>\u202egnp.exe');
    assert.equal(html.text, '<script>alert(1)</script><img src=x onerror=alert(2)>gnp.exe');

    // Flooding: 8 messages per 10 s per account (2 were sent above), whichever process it goes through.
    const second = await join(a, viewer.user);
    assert.ok((await request(second.socket, 'viewer:watch', { liveId })).ok);
    const acks = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        request(i % 2 ? second.socket : viewer.socket, 'chat:send', { liveId, text: `flood ${i}` }),
      ),
    );
    assert.equal(acks.filter((ack) => ack.ok).length, 6);
    assert.deepEqual(new Set(acks.filter((ack) => !ack.ok).map(errorCode)), new Set(['chat.rateLimited']));

    // Not in the live's audience: no chat.
    const outsider = await join(b, await registerUser(b.url));
    assert.equal(errorCode(await request(outsider.socket, 'chat:send', { liveId, text: 'hi' })), 'live.notWatching');
    assert.equal(errorCode(await request(outsider.socket, 'chat:join', { liveId })), 'live.notWatching');
    assert.equal(errorCode(await request(outsider.socket, 'chat:join', { liveId: 'zzzzzzzzzzzz' })), 'live.notFound');

    // An ended live.
    assert.ok((await request(presenter.socket, 'presenter:stop', { liveId })).ok);
    assert.equal(errorCode(await request(second.socket, 'chat:send', { liveId, text: 'too late' })), 'live.ended');
    assert.equal(errorCode(await request(second.socket, 'reaction:send', { liveId, reaction: 'heart' })), 'live.ended');
  });

  test('the presenter deletes a message for everybody (history included), mutes an account, sets slow mode', async () => {
    const { liveId, presenter } = await goLive('moderated');
    const { member: rude } = await watch(b, liveId);
    const { member: other } = await watch(a, liveId);
    const bad = await say(rude, liveId, 'something rude');
    await say(other, liveId, 'something kind');

    // Only the presenter moderates.
    for (const [event, payload] of [
      ['chat:delete', { liveId, messageId: bad.id }],
      ['chat:mute', { liveId, userId: rude.user.user.id, muted: true }],
      ['chat:slowMode', { liveId, seconds: 10 }],
    ] as const) {
      assert.equal(errorCode(await request(other.socket, event, payload)), 'live.notPresenter', event);
    }

    assert.ok((await request(presenter.socket, 'chat:delete', { liveId, messageId: bad.id })).ok);
    for (const member of [presenter, rude, other])
      await waitFor(() => member.deleted.includes(bad.id), `${member.user.nickname} told of the deletion`);
    assert.equal(
      errorCode(await request(presenter.socket, 'chat:delete', { liveId, messageId: bad.id })),
      'chat.messageNotFound',
    );
    const { state } = await watch(b, liveId);
    assert.deepEqual(
      (state as unknown as { messages: ChatMessage[] }).messages.map((m) => m.text),
      ['something kind'],
    );

    // Mute, by account: every connection of that account, on any process.
    assert.ok((await request(presenter.socket, 'chat:mute', { liveId, userId: rude.user.user.id, muted: true })).ok);
    await waitFor(() => rude.events.some(([e]) => e === 'chat:muted'), 'the muted viewer told');
    assert.equal(errorCode(await request(rude.socket, 'chat:send', { liveId, text: 'still here' })), 'chat.muted');
    const rudeElsewhere = await join(a, rude.user);
    assert.ok((await request(rudeElsewhere.socket, 'viewer:watch', { liveId })).ok);
    const rejoined = await request<{ muted: boolean }>(rudeElsewhere.socket, 'chat:join', { liveId });
    assert.ok(rejoined.ok && rejoined.muted);
    assert.equal(errorCode(await request(rudeElsewhere.socket, 'chat:send', { liveId, text: 'x' })), 'chat.muted');
    const presenterView = await request<{ mutedUserIds: number[] }>(presenter.socket, 'chat:join', { liveId });
    assert.ok(presenterView.ok);
    assert.deepEqual(presenterView.mutedUserIds, [rude.user.user.id]);
    assert.ok((await request(presenter.socket, 'chat:mute', { liveId, userId: rude.user.user.id, muted: false })).ok);
    await say(rude, liveId, 'sorry');

    // Slow mode: one message per viewer every 10 s; the presenter is not held back.
    assert.ok((await request(presenter.socket, 'chat:slowMode', { liveId, seconds: 10 })).ok);
    await waitFor(() => other.events.some(([e]) => e === 'chat:settings'), 'viewers told of slow mode');
    await say(other, liveId, 'one');
    assert.equal(errorCode(await request(other.socket, 'chat:send', { liveId, text: 'two' })), 'chat.slowMode');
    await say(presenter, liveId, 'presenter one');
    await say(presenter, liveId, 'presenter two');
    assert.ok((await request(presenter.socket, 'chat:slowMode', { liveId, seconds: 0 })).ok);
    await say(other, liveId, 'two, now');
    assert.equal(
      errorCode(await request(presenter.socket, 'chat:slowMode', { liveId, seconds: 100_000 })),
      'request.invalid',
    );

    // The live's chat state in the store goes with it.
    assert.ok((await request(presenter.socket, 'chat:slowMode', { liveId, seconds: 30 })).ok);
    await say(rude, liveId, 'before the end');
    assert.ok((await request(presenter.socket, 'chat:mute', { liveId, userId: rude.user.user.id, muted: true })).ok);
    assert.ok((await liveKeys(liveId)).length >= 3, 'settings, mutes and a slow-mode wait are kept while live');
    assert.ok((await request(presenter.socket, 'presenter:stop', { liveId })).ok);
    await waitFor(async () => (await liveKeys(liveId)).length === 0, 'no chat key of the live left');
  });

  test('reactions from both processes: everyone gets each counted once, a flood costs one message a second', async () => {
    const { liveId, presenter } = await goLive('reactions');
    const fans = [
      (await watch(a, liveId)).member,
      (await watch(a, liveId)).member,
      (await watch(b, liveId)).member,
      (await watch(b, liveId)).member,
    ];
    const everyone = [presenter, ...fans];
    const startedAt = Date.now();
    // Each fan taps 8 hearts and 2 fires at once (within the 10 per second each account may count).
    const acks = await Promise.all(
      fans.flatMap((fan) =>
        Array.from({ length: 10 }, (_, i) =>
          request(fan.socket, 'reaction:send', { liveId, reaction: i < 8 ? 'heart' : 'fire' }),
        ),
      ),
    );
    assert.ok(
      acks.every((ack) => ack.ok),
      JSON.stringify(acks.find((ack) => !ack.ok)),
    );
    const total = (member: Member, kind: 'heart' | 'fire') =>
      member.bursts.reduce((sum, burst) => sum + (burst.counts[kind] ?? 0), 0);
    for (const member of everyone) {
      await waitFor(() => total(member, 'heart') >= 32 && total(member, 'fire') >= 8, 'all the reactions', {
        timeoutMs: 20_000,
      });
    }
    // A flood: one account taps far more than it may; what is over the limit is refused.
    const flood = await Promise.all(
      Array.from({ length: 30 }, () => request(fans[2]!.socket, 'reaction:send', { liveId, reaction: 'laugh' })),
    );
    const counted = flood.filter((ack) => ack.ok).length;
    assert.ok(counted >= 10 && counted < 30, `${counted} of the flood counted`);
    assert.ok(flood.filter((ack) => !ack.ok).every((ack) => errorCode(ack) === 'chat.rateLimited'));
    const laughs = (member: Member) => member.bursts.reduce((sum, burst) => sum + (burst.counts.laugh ?? 0), 0);
    for (const member of everyone) await waitFor(() => laughs(member) >= counted, 'the flood to be heard');
    // An unknown reaction is refused.
    assert.equal(
      errorCode(await request(fans[0]!.socket, 'reaction:send', { liveId, reaction: 'poop' })),
      'request.invalid',
    );
    // Once everything arrived: the exact counts, and at most one burst a second for everybody.
    const elapsedS = (Date.now() - startedAt) / 1000;
    for (const member of everyone) {
      assert.equal(total(member, 'heart'), 32);
      assert.equal(total(member, 'fire'), 8);
      assert.equal(laughs(member), counted);
      assert.ok(member.bursts.length <= Math.ceil(elapsedS) + 1, `${member.bursts.length} bursts in ${elapsedS} s`);
      assert.deepEqual(member.bursts, presenter.bursts, 'everybody got the same bursts');
    }
    // In the database, per second and reaction.
    const counts = async () => {
      const [rows] = await a.server.db.sequelize.query(
        'SELECT reaction, SUM(count) AS n FROM live_reactions WHERE liveId = ? GROUP BY reaction ORDER BY reaction',
        { replacements: [liveId] },
      );
      return Object.fromEntries((rows as Array<{ reaction: string; n: string }>).map((r) => [r.reaction, Number(r.n)]));
    };
    await waitFor(async () => (await counts()).laugh === counted, 'the counts to be stored');
    assert.deepEqual(await counts(), { fire: 8, heart: 32, laugh: counted });
    assert.ok((await request(presenter.socket, 'presenter:stop', { liveId })).ok);
    await waitFor(async () => (await liveKeys(liveId)).length === 0, 'no reaction key of the live left');
    assert.deepEqual(await counts(), { fire: 8, heart: 32, laugh: counted }, 'nothing counted twice at the end');
  });

  test('calls have no chat: chat.unavailable', async () => {
    const caller = await join(a, await registerUser(a.url));
    const callee = await join(b, await registerUser(b.url));
    const invited = await request<{ call: { id: string } }>(caller.socket, 'call:invite', {
      nickname: callee.user.nickname,
    });
    assert.ok(invited.ok, JSON.stringify(invited));
    const callId = invited.call.id;
    await waitFor(() => callee.events.some(([e]) => e === 'call:state'), 'the callee to ring');
    assert.ok((await request(callee.socket, 'call:accept', { callId })).ok);
    const present = await request<{ liveId: string }>(caller.socket, 'call:present', { callId });
    assert.ok(present.ok, JSON.stringify(present));
    const offered = await request(caller.socket, 'call:offer', {
      callId,
      liveId: present.liveId,
      sdpOffer: await makeOffer('presenter'),
    });
    assert.ok(offered.ok, JSON.stringify(offered));
    for (const [event, payload] of [
      ['chat:join', { liveId: present.liveId }],
      ['chat:send', { liveId: present.liveId, text: 'hi' }],
      ['reaction:send', { liveId: present.liveId, reaction: 'heart' }],
    ] as const) {
      assert.equal(errorCode(await request(caller.socket, event, payload)), 'chat.unavailable', event);
    }
    // Presenter controls do apply to calls: the other side is told and can ask.
    assert.ok((await request(callee.socket, 'call:watch', { callId })).ok);
    const media = { liveId: present.liveId, camera: false, microphone: true, screen: false };
    assert.ok((await request(caller.socket, 'presenter:media', media)).ok);
    await waitFor(() => callee.events.some(([e, m]) => e === 'live:media' && !(m as typeof media).camera), 'told');
    const state = await request<{ media: typeof media }>(callee.socket, 'live:mediaState', { liveId: present.liveId });
    assert.ok(state.ok && state.media.camera === false && state.media.microphone);
    assert.ok((await request(caller.socket, 'call:hangUp', { callId })).ok);
  });

  test('presenter controls: the presenter says what it sends, viewers on both processes are told, late ones ask', async () => {
    const { liveId, presenter } = await goLive('controls');
    const { member: viewer } = await watch(b, liveId);
    const fresh = await request<{ media: object }>(viewer.socket, 'live:mediaState', { liveId });
    assert.ok(fresh.ok);
    assert.deepEqual(fresh.media, { camera: true, microphone: true, screen: false });
    const off = { liveId, camera: false, microphone: false, screen: false };
    assert.equal(errorCode(await request(viewer.socket, 'presenter:media', off)), 'live.notPresenter');
    assert.equal(errorCode(await request(presenter.socket, 'presenter:media', { liveId })), 'request.invalid');
    assert.ok((await request(presenter.socket, 'presenter:media', off)).ok);
    await waitFor(() => viewer.events.some(([e]) => e === 'live:media'), 'the viewer told');
    const { member: late } = await watch(a, liveId);
    const later = await request<{ media: object }>(late.socket, 'live:mediaState', { liveId });
    assert.ok(later.ok);
    assert.deepEqual(later.media, { camera: false, microphone: false, screen: false });
    const outsider = await join(b, await registerUser(b.url));
    assert.equal(errorCode(await request(outsider.socket, 'live:mediaState', { liveId })), 'live.notWatching');
    assert.ok((await request(presenter.socket, 'presenter:stop', { liveId })).ok);
    await waitFor(async () => (await liveKeys(liveId)).length === 0, 'no key of the live left');
  });

  test("a recording's chat: signed in, a valid id, a recording the library shows", async () => {
    const viewer = await registerUser(a.url);
    assert.equal((await a.http.get('/api/recordings/1/chat')).body.error.code, 'auth.required');
    assert.equal((await viewer.client.get('/api/recordings/0/chat')).body.error.code, 'request.invalid');
    assert.equal((await viewer.client.get('/api/recordings/999999/chat')).body.error.code, 'recording.notFound');
  });
});
