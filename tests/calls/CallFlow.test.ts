import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { CallView } from '../../api/contract/signalling.js';
import { openDatabase } from '../../api/db/index.js';
import { registerUser, type SignedInUser } from '../../drivers/http.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { skipUnless } from '../support/services.js';
import { waitFor } from '../../drivers/wait.js';
import { CallClient, callOf, codeOf } from './helpers/CallClient.js';

/** The call flow over signalling, without media: every transition, its events, its log row, and bad input. */
describe('calls: the flow', { skip: skipUnless('mariadb', 'redis') }, () => {
  let server: TestServer;
  const clients: CallClient[] = [];

  before(async () => {
    // A side that drops mid-call is waited for this long (RESUME_GRACE_MS) before the call ends.
    server = await startTestServer({ store: 'redis', env: { RESUME_GRACE_MS: '1000' } });
  });

  after(async () => {
    for (const c of clients) c.close();
    await server?.close();
  });

  async function user(): Promise<SignedInUser & { connect(): Promise<CallClient> }> {
    const u = await registerUser(server.url);
    return {
      ...u,
      connect: async () => {
        const client = await CallClient.connect(server.url, u.token);
        clients.push(client);
        return client;
      },
    };
  }

  async function pair() {
    const a = await user();
    const b = await user();
    return { a, b, ca: await a.connect(), cb: await b.connect() };
  }

  async function logOf(u: SignedInUser): Promise<CallView[]> {
    const answer = await u.client.get('/api/calls');
    assert.equal(answer.status, 200, answer.text);
    return answer.body.calls;
  }

  test('A calls B: B rings on every tab; B rejects: both are told and the log says rejected', async () => {
    const { a, b, ca, cb } = await pair();
    const cb2 = await b.connect();
    const call = callOf(await ca.invite(b.nickname.toUpperCase()));
    assert.equal(call.state, 'ringing');
    assert.equal(call.caller.nickname, a.nickname);
    assert.equal(call.callee.nickname, b.nickname);
    for (const client of [cb, cb2, ca]) assert.equal((await client.waitState(call.id, 'ringing')).id, call.id);

    const rejected = callOf(await cb2.reject(call.id));
    assert.equal(rejected.state, 'ended');
    assert.equal(rejected.outcome, 'rejected');
    for (const client of [ca, cb, cb2]) assert.equal((await client.waitState(call.id, 'ended')).outcome, 'rejected');

    for (const u of [a, b]) {
      const [logged] = await logOf(u);
      assert.equal(logged?.id, call.id);
      assert.equal(logged?.outcome, 'rejected');
      assert.equal(logged?.answeredAt, null);
      assert.equal(logged?.durationMs, null);
      assert.ok(logged?.endedAt);
    }
    // Both are free again: B can call A.
    const again = callOf(await cb.invite(a.nickname));
    assert.equal(callOf(await cb.cancel(again.id)).outcome, 'cancelled');
  });

  test('A cancels while it rings: B stops ringing and the log says cancelled', async () => {
    const { a, b, ca, cb } = await pair();
    const call = callOf(await ca.invite(b.nickname));
    await cb.waitState(call.id, 'ringing');
    assert.equal(codeOf(await cb.cancel(call.id)), 'call.notYours', 'only the caller cancels');
    assert.equal(codeOf(await ca.reject(call.id)), 'call.notYours', 'only the callee rejects');
    assert.equal(callOf(await ca.cancel(call.id)).outcome, 'cancelled');
    assert.equal((await cb.waitState(call.id, 'ended')).outcome, 'cancelled');
    assert.equal((await logOf(a))[0]?.outcome, 'cancelled');
    assert.equal((await logOf(b))[0]?.outcome, 'cancelled');
  });

  test('B answers, then A hangs up: both end, the log has the talk time, and strangers do not see it', async () => {
    const { a, b, ca, cb } = await pair();
    const call = callOf(await ca.invite(b.nickname));
    await cb.waitState(call.id, 'ringing');
    const accepted = callOf(await cb.accept(call.id));
    assert.equal(accepted.state, 'accepted');
    assert.equal(accepted.outcome, 'answered');
    assert.ok(accepted.answeredAt);
    await ca.waitState(call.id, 'accepted');
    assert.equal((await logOf(a))[0]?.outcome, 'answered');

    const ended = callOf(await ca.hangUp(call.id));
    assert.equal(ended.outcome, 'completed');
    assert.equal(ended.endReason, 'hangUp');
    const told = await cb.waitState(call.id, 'ended');
    assert.equal(told.outcome, 'completed');
    for (const u of [a, b]) {
      const [logged] = await logOf(u);
      assert.equal(logged?.outcome, 'completed');
      assert.equal(logged?.endReason, 'hangUp');
      assert.ok(logged?.answeredAt && logged.endedAt);
      assert.equal(logged?.durationMs, Date.parse(logged.endedAt) - Date.parse(logged.answeredAt));
    }
    const stranger = await user();
    assert.deepEqual(await logOf(stranger), []);
    assert.equal(codeOf(await cb.hangUp(call.id)), 'call.ended', 'hanging up twice');
  });

  test('B is already in a call: A gets call.busy, both are told, and the log says busy', async () => {
    const { ca, b, cb } = await pair();
    const c = await user();
    const cc = await c.connect();
    const first = callOf(await cc.invite(b.nickname));
    callOf(await cb.accept(first.id));

    const busy = await ca.invite(b.nickname);
    assert.equal(codeOf(busy), 'call.busy');
    const told = await ca.waitEvent('call:state', (m) => m.outcome === 'busy');
    assert.equal(told.state, 'ended');
    assert.equal((await cb.waitEvent('call:state', (m) => m.outcome === 'busy')).id, told.id);
    assert.equal((await logOf(b)).find((l) => l.id === told.id)?.outcome, 'busy');
    // A ringing callee is busy too, and so is a caller whose call rings.
    const d = await user();
    const cd = await d.connect();
    const ringing = callOf(await ca.invite(d.nickname));
    assert.equal(codeOf(await cc.invite(d.nickname)), 'call.busy');
    assert.equal(codeOf(await ca.invite(c.nickname)), 'call.busy');
    callOf(await cd.reject(ringing.id));
    callOf(await cc.hangUp(first.id));
  });

  test('the caller disconnects while it rings: cancelled; the callee goes offline while it rings: missed', async () => {
    const { b, ca, cb } = await pair();
    const call = callOf(await ca.invite(b.nickname));
    await cb.waitState(call.id, 'ringing');
    ca.close();
    const cancelled = await cb.waitState(call.id, 'ended');
    assert.equal(cancelled.outcome, 'cancelled');
    assert.equal(cancelled.endReason, 'disconnected');

    const { b: b2, ca: ca2, cb: cb2 } = await pair();
    const second = callOf(await ca2.invite(b2.nickname));
    await cb2.waitState(second.id, 'ringing');
    cb2.close();
    const missed = await ca2.waitState(second.id, 'ended');
    assert.equal(missed.outcome, 'missed');
  });

  test('a side disconnects mid-call and does not resume within the grace period: the other is told, both are free', async () => {
    const { a, b, ca, cb } = await pair();
    const call = callOf(await ca.invite(b.nickname));
    callOf(await cb.accept(call.id));
    cb.close();
    const ended = await ca.waitState(call.id, 'ended');
    assert.equal(ended.outcome, 'completed');
    assert.equal(ended.endReason, 'disconnected');
    assert.equal((await logOf(a))[0]?.endReason, 'disconnected');
    const cb2 = await b.connect();
    await waitFor(
      async () => (await a.client.get('/api/users/online')).body.users.some((u: { id: number }) => u.id === b.user.id),
      'B back online',
    );
    const again = callOf(await cb2.invite(a.nickname));
    callOf(await ca.reject(again.id));
  });

  test("bad input: yourself, unknown and offline users, someone else's call, after the end, replays, bad ids", async () => {
    const { a, b, ca, cb } = await pair();
    const c = await user();
    const cc = await c.connect();
    const offline = await user();

    assert.equal(codeOf(await ca.invite(a.nickname)), 'call.self');
    assert.equal(codeOf(await ca.invite(a.nickname.toUpperCase())), 'call.self');
    assert.equal(codeOf(await ca.invite('nobody_by_that_name')), 'call.userNotFound');
    assert.equal(codeOf(await ca.invite(offline.nickname)), 'call.userOffline');
    assert.equal(codeOf(await ca.request('call:invite', { nickname: '' })), 'request.invalid');
    assert.equal(codeOf(await ca.request('call:invite', { nickname: { $ne: 1 } })), 'request.invalid');
    assert.equal(codeOf(await ca.request('call:invite', { nickname: b.nickname, extra: 1 })), 'request.invalid');
    assert.equal(codeOf(await ca.request('call:accept', { callId: '../../etc' })), 'request.invalid');
    assert.equal(codeOf(await ca.accept('abcdefabcdef')), 'call.notFound');

    const call = callOf(await ca.invite(b.nickname));
    assert.equal(codeOf(await cc.accept(call.id)), 'call.notYours', 'a stranger answers');
    assert.equal(codeOf(await ca.accept(call.id)), 'call.notYours', 'the caller answers');
    assert.equal(codeOf(await cc.hangUp(call.id)), 'call.notYours', 'a stranger hangs up');
    assert.equal(codeOf(await cc.request('call:watch', { callId: call.id })), 'call.notYours');
    assert.equal(
      codeOf(await cb.request('call:present', { callId: call.id })),
      'call.notFound',
      'presenting before the answer',
    );

    const [first, replay] = await Promise.all([cb.accept(call.id), cb.accept(call.id)]);
    assert.deepEqual([first.ok, replay.ok].sort(), [false, true], 'of two racing accepts one wins');
    assert.equal(codeOf(first.ok ? replay : first), 'call.alreadyAnswered');
    assert.equal(codeOf(await cb.accept(call.id)), 'call.alreadyAnswered', 'a replayed accept');
    assert.equal(codeOf(await cb.reject(call.id)), 'call.alreadyAnswered', 'rejecting an answered call');
    assert.equal(
      codeOf(await cb.request('call:watch', { callId: call.id })),
      'live.notFound',
      'the caller is not on air yet',
    );

    callOf(await ca.hangUp(call.id));
    assert.equal(codeOf(await cb.accept(call.id)), 'call.ended', 'accepting after the end');
    assert.equal(codeOf(await cb.request('call:present', { callId: call.id })), 'call.ended');
    assert.equal(codeOf(await ca.cancel(call.id)), 'call.ended');
    // Still known once the store forgot it: the log says it is over.
    await server.server.store.del(`call:${call.id}`);
    assert.equal(codeOf(await cb.accept(call.id)), 'call.ended', 'accepting a call only the log remembers');
  });

  test('an invite flood is rate limited', async () => {
    const { ca } = await pair();
    const offline = await user();
    const codes: Array<string | undefined> = [];
    for (let i = 0; i < 12; i++) codes.push(codeOf(await ca.invite(offline.nickname)));
    assert.deepEqual(codes.slice(0, 10), Array(10).fill('call.userOffline'));
    assert.deepEqual(codes.slice(10), ['request.rateLimited', 'request.rateLimited']);
  });

  test('GET /api/calls: signed-in only, newest first, limit validated', async () => {
    const { a, b, ca } = await pair();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const call = callOf(await ca.invite(b.nickname));
      ids.push(call.id);
      callOf(await ca.cancel(call.id));
    }
    assert.deepEqual(
      (await logOf(a)).map((c) => c.id),
      ids.reverse(),
    );
    assert.deepEqual(
      (await a.client.get('/api/calls?limit=2')).body.calls.map((c: CallView) => c.id),
      ids.slice(0, 2),
    );
    assert.equal((await a.client.get('/api/calls?limit=0')).status, 400);
    assert.equal((await a.client.get('/api/calls?limit=abc')).status, 400);
    assert.equal((await a.client.get('/api/calls?order=id')).body.error.code, 'request.invalid');
    assert.equal((await server.http.get('/api/calls')).status, 401);
    assert.equal((await server.http.get('/api/users/online')).status, 401);
  });
});

describe('calls: nobody answers', { skip: skipUnless('mariadb', 'redis') }, () => {
  let server: TestServer;
  const clients: CallClient[] = [];

  before(async () => {
    server = await startTestServer({ env: { CALL_RING_TIMEOUT_MS: '1000' } });
  });

  after(async () => {
    for (const c of clients) c.close();
    await server?.close();
  });

  test('a call that is not answered within CALL_RING_TIMEOUT_MS is missed, for both, in the log', async () => {
    const a = await registerUser(server.url);
    const b = await registerUser(server.url);
    const ca = await CallClient.connect(server.url, a.token);
    const cb = await CallClient.connect(server.url, b.token);
    clients.push(ca, cb);
    const call = callOf(await ca.invite(b.nickname));
    const missed = await ca.waitState(call.id, 'ended');
    assert.equal(missed.outcome, 'missed');
    assert.equal((await cb.waitState(call.id, 'ended')).outcome, 'missed');
    assert.equal(codeOf(await cb.accept(call.id)), 'call.ended', 'answering too late');
    assert.equal((await b.client.get('/api/calls')).body.calls[0].outcome, 'missed');
  });
});

describe('calls: the server shuts down', { skip: skipUnless('mariadb', 'redis') }, () => {
  test('a call going on when the server stops ends for both (shutdown), and the log says so', async () => {
    const server = await startTestServer();
    const clients: CallClient[] = [];
    try {
      const a = await registerUser(server.url);
      const b = await registerUser(server.url);
      const ca = await CallClient.connect(server.url, a.token);
      const cb = await CallClient.connect(server.url, b.token);
      clients.push(ca, cb);
      const call = callOf(await ca.invite(b.nickname));
      callOf(await cb.accept(call.id));
      const stopping = server.server.close();
      for (const client of [ca, cb]) {
        const ended = await client.waitState(call.id, 'ended');
        assert.equal(ended.endReason, 'shutdown');
        assert.equal(ended.outcome, 'completed');
      }
      await stopping;
      const db = await openDatabase(server.env.DATABASE_URL!);
      try {
        const row = await db.Call.findByPk(call.id);
        assert.equal(row?.outcome, 'completed');
        assert.equal(row?.endReason, 'shutdown');
      } finally {
        await db.close();
      }
    } finally {
      for (const c of clients) c.close();
      await server.close();
    }
  });
});
