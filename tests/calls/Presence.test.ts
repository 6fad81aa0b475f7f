import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { UserSummary } from '../../api/contract/signalling.js';
import { registerUser, type SignedInUser } from '../../drivers/http.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { skipUnless } from '../support/services.js';
import { waitFor } from '../../drivers/wait.js';
import { CallClient, callOf } from './helpers/CallClient.js';
import { startChildServer, type ChildServer } from './helpers/childServer.js';

const PRESENCE_MS = 300;

/** Presence with two API processes on one Redis: one in this process, one in a child process that can crash. */
describe('presence across API processes', { skip: skipUnless('mariadb', 'redis') }, () => {
  let first: TestServer;
  let second: TestServer;
  const clients: CallClient[] = [];
  const children: ChildServer[] = [];

  before(async () => {
    const cluster = { heartbeatMs: PRESENCE_MS, instanceTtlMs: PRESENCE_MS * 3 };
    first = await startTestServer({ store: 'redis', server: { cluster } });
    second = await startTestServer({ shareWith: first, server: { cluster } });
  });

  after(async () => {
    for (const c of clients) c.close();
    for (const child of children) await child.kill();
    await second?.close();
    await first?.close();
  });

  async function connect(url: string, u: SignedInUser): Promise<CallClient> {
    const client = await CallClient.connect(url, u.token);
    clients.push(client);
    return client;
  }

  async function onlineFor(u: SignedInUser, server: { url: string }): Promise<number[]> {
    const answer = await u.client.withToken(u.token).request('GET', new URL('/api/users/online', server.url).href);
    assert.equal(answer.status, 200, answer.text);
    return answer.body.users.map((x: UserSummary) => x.id);
  }

  test('a user on either process is online for both, and presence events cross processes', async () => {
    const a = await registerUser(first.url);
    const b = await registerUser(first.url);
    const ca = await connect(first.url, a);
    await waitFor(
      async () => (await onlineFor(b, second)).includes(a.user.id),
      'A online as seen from the second process',
    );

    const cb = await connect(second.url, b);
    const online = await ca.waitEvent('presence:online', (m) => m.user.id === b.user.id, 'B online at A');
    assert.equal(online.user.nickname, b.nickname);
    assert.match(online.user.avatarUrl, /^\/api\/users\/\d+\/avatar\.svg$/);
    assert.ok((await onlineFor(a, first)).includes(b.user.id));
    assert.ok(!(await onlineFor(a, first)).includes(a.user.id), 'nobody is listed to themselves');
    assert.ok((await onlineFor(b, second)).includes(a.user.id));

    // Two tabs on two processes count once: closing one keeps B online, closing the last does not.
    const cb2 = await connect(first.url, b);
    cb.close();
    const secondCounts = `presence:users:${second.server.services.calls.presence.instanceId}`;
    await waitFor(
      async () => !(String(b.user.id) in (await first.server.store.hgetall(secondCounts))),
      'the second process to count B out',
    );
    assert.ok((await onlineFor(a, second)).includes(b.user.id), 'the other tab keeps B online');
    assert.ok(!ca.events.some(([e]) => e === 'presence:offline'), 'no offline event while a tab is left');
    cb2.close();
    const offline = await ca.waitEvent('presence:offline', (m) => m.userId === b.user.id, 'B offline at A');
    assert.equal(offline.userId, b.user.id);
    assert.equal(
      ca.events.filter(([e, m]) => e === 'presence:offline' && m.userId === b.user.id).length,
      1,
      'one offline event',
    );
    await waitFor(async () => !(await onlineFor(a, first)).includes(b.user.id), 'B gone from the list');
  });

  test('a process that crashes: its users go offline elsewhere and their calls end for the other side', async () => {
    const child = await startChildServer(first, PRESENCE_MS);
    children.push(child);
    const a = await registerUser(first.url);
    const b = await registerUser(first.url);
    const ca = await connect(first.url, a);
    const cb = await connect(child.url, b);
    await ca.waitEvent('presence:online', (m) => m.user.id === b.user.id, 'B (on the child process) online at A');

    const call = callOf(await ca.invite(b.nickname));
    await cb.waitState(call.id, 'ringing');
    callOf(await cb.accept(call.id));
    await ca.waitState(call.id, 'accepted');

    await child.kill();
    const ended = await ca.waitState(call.id, 'ended', 'the call to end at A');
    assert.equal(ended.outcome, 'completed');
    assert.equal(ended.endReason, 'disconnected');
    await ca.waitEvent('presence:offline', (m) => m.userId === b.user.id, 'B offline at A');
    assert.ok(!(await onlineFor(a, first)).includes(b.user.id));
    assert.equal((await a.client.get('/api/calls')).body.calls[0].endReason, 'disconnected');
    // A is free to call again.
    const c = await registerUser(first.url);
    await connect(second.url, c);
    await waitFor(async () => (await onlineFor(a, first)).includes(c.user.id), 'C online');
    const next = callOf(await ca.invite(c.nickname));
    callOf(await ca.cancel(next.id));
  });
});
