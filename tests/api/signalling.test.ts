/**
 * Signalling hardening (issue 11): sockets follow their session, long-polling works, caps per account and
 * address, a rate limit per account over its sockets, and every malformed event answers `request.invalid`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ErrorBody } from '../../api/contract/errors.js';
import type { OnlineUsers } from '../../api/contract/rest.js';
import { registerUser, type SignedInUser } from '../../drivers/http.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { skipUnless } from '../support/services.js';
import { connectSocket, errorCode, request, type ClientSocket } from '../support/signalling.js';
import { waitFor } from '../../drivers/wait.js';

type HandshakeError = Error & { data?: ErrorBody };

/** Sockets opened by a test, closed after it. */
function socketPool() {
  const open: ClientSocket[] = [];
  return {
    async connect(url: string, token: unknown, transports?: Array<'polling' | 'websocket'>) {
      const socket = await connectSocket(url, token, transports ? { transports } : {});
      open.push(socket);
      return socket;
    },
    track(socket: ClientSocket) {
      open.push(socket);
    },
    closeAll() {
      for (const s of open.splice(0)) s.close();
    },
  };
}

/** Records `session:ended` and the disconnect of a socket. */
function watchEnd(socket: ClientSocket) {
  const seen: { ended: ErrorBody | null; reason: string | null } = { ended: null, reason: null };
  socket.on('session:ended', (error) => {
    seen.ended = error;
  });
  socket.on('disconnect', (reason) => {
    seen.reason = reason;
  });
  return seen;
}

async function onlineIds(user: SignedInUser): Promise<number[]> {
  const res = await user.client.get<OnlineUsers>('/api/users/online');
  assert.equal(res.status, 200);
  return res.body.users.map((u) => u.id);
}

describe('a socket follows its session', { skip: skipUnless('redis') }, () => {
  let a: TestServer;
  let b: TestServer;
  const pool = socketPool();
  before(async () => {
    a = await startTestServer({ db: 'sqlite', store: 'redis' });
    b = await startTestServer({ shareWith: a });
  });
  after(async () => {
    pool.closeAll();
    await b?.close();
    await a?.close();
  });

  test('a logout on one process disconnects every socket of that session on every process, at once', async () => {
    const alice = await registerUser(a.url);
    const other = await alice.client.post<{ token: string }>('/api/auth/login', {
      nickname: alice.nickname,
      password: alice.password,
    });
    const bob = await registerUser(a.url);
    const bobSocket = await pool.connect(b.url, bob.token);
    const offline: number[] = [];
    bobSocket.on('presence:offline', ({ userId }) => offline.push(userId));

    const onA = await pool.connect(a.url, alice.token);
    const onB = await pool.connect(b.url, alice.token);
    const otherSession = await pool.connect(b.url, other.body.token);
    const seenA = watchEnd(onA);
    const seenB = watchEnd(onB);
    await waitFor(async () => (await onlineIds(bob)).includes(alice.user.id), 'alice to be online');

    assert.equal((await alice.client.post('/api/auth/logout')).status, 204);
    // No event of the socket is needed: the server closes them itself.
    await waitFor(() => seenA.reason && seenB.reason, 'both sockets of the session to be disconnected');
    for (const seen of [seenA, seenB]) {
      assert.equal(seen.ended?.code, 'auth.invalidToken');
      assert.equal(seen.reason, 'io server disconnect');
    }
    assert.ok(otherSession.connected, "the account's other session keeps its socket");
    assert.ok((await onlineIds(bob)).includes(alice.user.id), 'alice is still online through her other session');

    // Her last session ends too: she is no longer listed, and everyone is told once.
    const seenOther = watchEnd(otherSession);
    assert.equal((await alice.client.withToken(other.body.token).post('/api/auth/logout')).status, 204);
    await waitFor(() => seenOther.reason, 'the last socket to be disconnected');
    await waitFor(() => offline.includes(alice.user.id), 'presence:offline for alice');
    assert.ok(!(await onlineIds(bob)).includes(alice.user.id));
  });

  test('a session that expires disconnects its sockets with auth.expiredToken, without any event of theirs', async () => {
    const short = await startTestServer({ db: 'sqlite', env: { TOKEN_TTL: '2s' } });
    try {
      const carol = await registerUser(short.url);
      const dave = await registerUser(short.url);
      const socket = await pool.connect(short.url, carol.token);
      const seen = watchEnd(socket);
      await waitFor(() => seen.reason, 'the socket to be disconnected at expiry', { timeoutMs: 20_000 });
      assert.equal(seen.ended?.code, 'auth.expiredToken');
      assert.equal(seen.reason, 'io server disconnect');
      // Dave's token expired too; a fresh login lists nobody online.
      const fresh = await dave.client.post<{ token: string }>('/api/auth/login', {
        nickname: dave.nickname,
        password: dave.password,
      });
      const ids = await onlineIds({ ...dave, client: dave.client.withToken(fresh.body.token) });
      assert.ok(!ids.includes(carol.user.id), 'an expired socket is not listed online');
    } finally {
      await short.close();
    }
  });
});

describe('socket.io long-polling', () => {
  let srv: TestServer;
  const pool = socketPool();
  const unhandled: unknown[] = [];
  const onError = (error: unknown) => unhandled.push(error);
  before(async () => {
    process.on('uncaughtException', onError);
    srv = await startTestServer({ db: 'sqlite' });
  });
  after(async () => {
    pool.closeAll();
    await srv?.close();
    process.off('uncaughtException', onError);
  });

  test('a polling-only client signs in, gets acks and pushes, and express stays out of its requests', async () => {
    const user = await registerUser(srv.url);
    const friend = await registerUser(srv.url);
    const socket = await pool.connect(srv.url, user.token, ['polling']);
    assert.equal(socket.io.engine.transport.name, 'polling');
    const online: number[] = [];
    socket.on('presence:online', ({ user: u }) => online.push(u.id));
    for (let i = 0; i < 3; i++) {
      assert.equal(errorCode(await request(socket, 'viewer:watch', { liveId: 'zzzzzzzzzzzz' })), 'live.notFound');
    }
    await pool.connect(srv.url, friend.token, ['polling']);
    await waitFor(() => online.includes(friend.user.id), 'a push over long-polling');
    assert.equal(socket.io.engine.transport.name, 'polling');
    assert.deepEqual(unhandled, []);
    // Express still answers its own paths next to the engine's.
    assert.equal((await srv.http.get('/socket.io/webrtc')).status, 404);
  });
});

describe('socket caps and the per-account event limit', { skip: skipUnless('redis') }, () => {
  let a: TestServer;
  let b: TestServer;
  const pool = socketPool();
  const env = { SOCKETS_PER_ACCOUNT: '3', SOCKETS_PER_ADDRESS: '5', ACCOUNT_EVENTS_PER_SECOND: '10' };
  before(async () => {
    a = await startTestServer({ db: 'sqlite', store: 'redis', env });
    b = await startTestServer({ shareWith: a, env });
  });
  after(async () => {
    pool.closeAll();
    await b?.close();
    await a?.close();
  });

  /** Both servers hold no socket (the previous test's closes have landed). */
  const settled = () =>
    waitFor(async () => {
      const counts = await Promise.all([a, b].map((s) => s.server.services.signalling.io.local.fetchSockets()));
      return counts.every((c) => c.length === 0);
    }, 'the sockets of the previous test to be gone');

  const refused = (code: string) => (e: HandshakeError) => {
    assert.equal(e.data?.code, code);
    assert.match(e.data?.message ?? '', /\w/);
    return true;
  };

  test('an account holds at most SOCKETS_PER_ACCOUNT sockets over every process', async () => {
    const user = await registerUser(a.url);
    const first = await connectSocket(a.url, user.token);
    await pool.connect(b.url, user.token);
    // Two handshakes racing for the last place: one is admitted.
    const racing = await Promise.allSettled([connectSocket(a.url, user.token), connectSocket(a.url, user.token)]);
    const admitted = racing.filter((r) => r.status === 'fulfilled').map((r) => r.value);
    assert.equal(admitted.length, 1, 'one of two racing handshakes is admitted');
    for (const s of admitted) pool.track(s);
    const [lost] = racing.filter((r) => r.status === 'rejected');
    refused('request.tooManyConnections')((lost as PromiseRejectedResult).reason as HandshakeError);
    // Full on both processes.
    await assert.rejects(connectSocket(b.url, user.token), refused('request.tooManyConnections'));
    await assert.rejects(connectSocket(a.url, user.token), refused('request.tooManyConnections'));
    // Another account is not concerned.
    const other = await registerUser(a.url);
    await pool.connect(a.url, other.token);
    // A closed socket frees its place.
    first.close();
    const again = await waitFor(
      () => connectSocket(b.url, user.token).catch(() => null),
      'the closed socket to leave the count',
    );
    pool.track(again);
    pool.closeAll();
  });

  test('an address holds at most SOCKETS_PER_ADDRESS sockets, whatever the accounts', async () => {
    await settled();
    const users = await Promise.all([1, 2, 3].map(() => registerUser(a.url)));
    for (const [i, user] of users.entries()) {
      await pool.connect(i % 2 ? b.url : a.url, user.token);
      if (i < 2) await pool.connect(i % 2 ? a.url : b.url, user.token);
    }
    const seventh = await registerUser(a.url);
    await assert.rejects(connectSocket(a.url, seventh.token), refused('request.tooManyConnections'));
    pool.closeAll();
    await waitFor(async () => {
      try {
        (await connectSocket(a.url, seventh.token)).close();
        return true;
      } catch {
        return false;
      }
    }, 'the address to be admitted again once its sockets are closed');
  });

  test('the event rate limit counts an account over all its sockets and processes', async () => {
    await settled();
    const user = await registerUser(a.url);
    const sockets = [
      await pool.connect(a.url, user.token),
      await pool.connect(b.url, user.token),
      await pool.connect(a.url, user.token),
    ];
    // 36 events in one burst, 12 per socket: far under the per-socket limit, over the account's 10 a second.
    const acks = await Promise.all(
      sockets.flatMap((s) => Array.from({ length: 12 }, () => request(s, 'viewer:watch', { liveId: 'zzzzzzzzzzzz' }))),
    );
    const codes = acks.map(errorCode);
    assert.ok(codes.includes('request.rateLimited'), `some events are limited: ${codes.join(',')}`);
    assert.ok(codes.includes('live.notFound'), 'the others are handled');
    // Another account is not limited by this one.
    const other = await registerUser(a.url);
    const otherSocket = await pool.connect(a.url, other.token);
    assert.equal(errorCode(await request(otherSocket, 'viewer:watch', { liveId: 'zzzzzzzzzzzz' })), 'live.notFound');
    pool.closeAll();
  });
});

/** Values no event accepts. */
function deeplyNested(depth: number): unknown {
  let value: unknown = 'x';
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
}

const BAD_PAYLOADS: Array<[string, unknown]> = [
  ['null', null],
  ['a number', 42],
  ['a string', 'nope'],
  ['an array', [1, 2]],
  ['an empty object', {}],
  ['an unknown key', { nope: true }],
  ['a prototype key', JSON.parse('{"__proto__": {"polluted": true}}')],
  ['32 levels deep', deeplyNested(32)],
];

/** Payloads too deep for socket.io-client's (recursive) encoder: sent as raw packet text, as an attacker would. */
const DEEP_TEXTS: Array<[string, string]> = [
  ['20 000 nested objects', '{"a":'.repeat(20_000) + '1' + '}'.repeat(20_000)],
  ['50 000 nested arrays', '['.repeat(50_000) + ']'.repeat(50_000)],
];

let rawAckId = 90_000;
/** Emits `event` with a payload given as JSON text, straight on the engine.io transport; resolves the ack. */
function emitText(socket: ClientSocket, event: string, payloadJson: string): Promise<unknown> {
  const id = rawAckId++;
  const engine = socket.io.engine;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      engine.off('data', onData);
      reject(new Error(`${event}: no ack for raw packet ${id}`));
    }, 10_000);
    const onData = (data: unknown) => {
      if (typeof data !== 'string' || !data.startsWith(`3${id}[`)) return;
      clearTimeout(timer);
      engine.off('data', onData);
      resolve((JSON.parse(data.slice(`3${id}`.length)) as unknown[])[0]);
    };
    engine.on('data', onData);
    engine.write(`2${id}[${JSON.stringify(event)},${payloadJson}]`);
  });
}

/** Emits `event` with these arguments and the ack last; resolves the ack. */
function emitRaw(socket: ClientSocket, event: string, ...args: unknown[]): Promise<unknown> {
  return new Promise((resolve, reject) => {
    (socket.timeout(10_000).emit as (...a: unknown[]) => void)(event, ...args, (err: Error | null, res: unknown) =>
      err ? reject(new Error(`${event}: no ack (${err.message})`)) : resolve(res),
    );
  });
}

describe('every malformed event answers request.invalid and the socket stays usable', () => {
  let srv: TestServer;
  let user: SignedInUser;
  const pool = socketPool();
  const CLIENT_EVENTS = [
    'presenter:start',
    'presenter:offer',
    'presenter:resume',
    'presenter:stop',
    'viewer:watch',
    'viewer:offer',
    'viewer:leave',
    'ice:candidate',
    'call:invite',
    'call:accept',
    'call:reject',
    'call:cancel',
    'call:hangUp',
    'call:present',
    'call:offer',
    'call:watch',
    'call:resume',
  ];
  before(async () => {
    // One account sends them all, quickly: its own event limit is not what this tests.
    srv = await startTestServer({ db: 'sqlite', env: { ACCOUNT_EVENTS_PER_SECOND: '100000' } });
    user = await registerUser(srv.url);
  });
  after(async () => {
    pool.closeAll();
    await srv?.close();
  });

  for (const event of CLIENT_EVENTS) {
    test(`${event}: no payload, wrong shapes, deep nesting`, async () => {
      // One socket per event keeps each under the per-socket rate limit.
      const socket = await pool.connect(srv.url, user.token);
      const invalid = (ack: unknown, what: string) =>
        assert.deepEqual(
          { ok: (ack as { ok: boolean }).ok, code: (ack as { error?: ErrorBody }).error?.code },
          { ok: false, code: 'request.invalid' },
          `${event} with ${what}`,
        );
      invalid(await emitRaw(socket, event), 'no payload at all');
      for (const [what, payload] of BAD_PAYLOADS) invalid(await emitRaw(socket, event, payload), what);
      for (const [what, text] of DEEP_TEXTS) invalid(await emitText(socket, event, text), what);
      invalid(await emitRaw(socket, event, { liveId: 'zzzzzzzzzzzz' }, 'a second argument'), 'two arguments');
      assert.ok(socket.connected, 'the socket stays connected');
      assert.equal(errorCode(await request(socket, 'viewer:watch', { liveId: 'zzzzzzzzzzzz' })), 'live.notFound');
    });
  }

  test('an unknown event with an ack answers request.invalid', async () => {
    const socket = await pool.connect(srv.url, user.token);
    const ack = (await emitRaw(socket, 'admin:dropTables', {})) as { ok: boolean; error?: ErrorBody };
    assert.equal(ack.error?.code, 'request.invalid');
    assert.equal(errorCode(await request(socket, 'viewer:watch', { liveId: 'zzzzzzzzzzzz' })), 'live.notFound');
  });
});
