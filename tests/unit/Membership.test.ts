import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { Membership, type GoneMember, type MembershipOptions } from '../../api/cluster/Membership.js';
import { createLogger } from '../../api/logger.js';
import { MemoryStore } from '../../api/store/MemoryStore.js';
import { sleep, waitFor } from '../../drivers/wait.js';

const log = createLogger('silent');
let store: MemoryStore;
const members: Membership[] = [];

/** A process: beats every 40 ms, dead 200 ms after its last beat. */
async function join(opts: Partial<MembershipOptions> = {}): Promise<Membership> {
  const m = new Membership({ store, log, heartbeatMs: 40, instanceTtlMs: 200, ...opts });
  members.push(m);
  await m.start();
  return m;
}

/** A process that beats once and then is killed (it never beats again, nor leaves). */
function doomed(): Promise<Membership> {
  return join({ heartbeatMs: 3_600_000 });
}

function record(m: Membership): GoneMember[] {
  const gone: GoneMember[] = [];
  m.onGone('test', async (member) => void gone.push(member));
  return gone;
}

afterEach(async () => {
  for (const m of members.splice(0)) await m.close();
  await store?.close();
});

test('Membership: a process that leaves gracefully is gone at once and taken over by nobody', async () => {
  store = new MemoryStore();
  const survivor = await join();
  const gone = record(survivor);
  const leaving = await join();
  assert.equal(await survivor.isAlive(leaving.instanceId), true);
  assert.deepEqual(await survivor.aliveOthers(), [leaving.instanceId]);
  await leaving.close();
  assert.equal(await survivor.isAlive(leaving.instanceId), false);
  assert.equal(await survivor.isMember(leaving.instanceId), false);
  await sleep(400);
  assert.deepEqual(gone, []);
});

test('Membership: a killed process is taken over by exactly one survivor, with the time of its last beat', async () => {
  store = new MemoryStore();
  const a = await join();
  const b = await join();
  const goneA = record(a);
  const goneB = record(b);
  const before = Date.now();
  const dead = await doomed();
  const after = Date.now();
  assert.equal(await a.isAlive(dead.instanceId), true);
  await waitFor(() => goneA.length + goneB.length > 0, 'the take-over');
  await sleep(300);
  const all = [...goneA, ...goneB];
  assert.equal(all.length, 1, 'one survivor took it over, once');
  assert.equal(all[0]!.instanceId, dead.instanceId);
  const seen = all[0]!.lastSeenAt.getTime();
  assert.ok(seen >= before && seen <= after, 'lastSeenAt is its last heart-beat');
  assert.equal(await a.isMember(dead.instanceId), false, 'forgotten once taken over');
});

test('Membership: a take-over that fails is claimed again once its claim expires', async () => {
  store = new MemoryStore();
  const survivor = await join({ claimTtlMs: 300 });
  let attempts = 0;
  survivor.onGone('flaky', async () => {
    attempts++;
    if (attempts === 1) throw new Error('the store blinked');
  });
  const dead = await doomed();
  await waitFor(() => attempts >= 1, 'the first attempt');
  assert.equal(await survivor.isMember(dead.instanceId), true, 'still to be taken over');
  await waitFor(() => attempts === 2, 'the retry');
  await waitFor(async () => !(await survivor.isMember(dead.instanceId)), 'forgotten after the retry');
});

test('Membership: a quick restart (a new process, a new id) does not hide the death of the old one', async () => {
  store = new MemoryStore();
  const dead = await doomed();
  const restarted = await join();
  assert.notEqual(restarted.instanceId, dead.instanceId);
  const gone = record(restarted);
  await waitFor(() => gone.length === 1, "the restarted process takes over the old one's");
  assert.equal(gone[0]!.instanceId, dead.instanceId);
});
