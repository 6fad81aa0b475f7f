import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  accept,
  durationOf,
  end,
  newCallRecord,
  outcomeOf,
  parseCallRecord,
  sideOf,
  viewOf,
  withLive,
} from '../../api/calls/CallRecord.js';
import { OnairError } from '../../api/contract/errors.js';

const t0 = new Date('2026-01-01T10:00:00.000Z');
const at = (s: number) => new Date(t0.getTime() + s * 1000);
const ringing = () =>
  newCallRecord(
    'abcdefghijkl',
    { userId: 1, nickname: 'ann', socketId: 's1', instanceId: 'i1' },
    { userId: 2, nickname: 'bob' },
    t0,
  );

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    if (error instanceof OnairError) return error.code;
    throw error;
  }
  return undefined;
}

test("a new call rings, with the caller's connection and no callee connection yet", () => {
  const call = ringing();
  assert.equal(call.state, 'ringing');
  assert.equal(call.outcome, 'ringing');
  assert.equal(call.callee.socketId, null);
  assert.equal(sideOf(call, 1), 'caller');
  assert.equal(sideOf(call, 2), 'callee');
  assert.equal(sideOf(call, 3), null);
});

test('only the callee accepts, once, and only a ringing call', () => {
  assert.equal(
    code(() => accept(ringing(), 1, 's1', 'i1', at(1))),
    'call.notYours',
  );
  assert.equal(
    code(() => accept(ringing(), 3, 's3', 'i1', at(1))),
    'call.notYours',
  );
  const accepted = accept(ringing(), 2, 's2', 'i2', at(2));
  assert.equal(accepted.state, 'accepted');
  assert.equal(accepted.outcome, 'answered');
  assert.equal(accepted.callee.socketId, 's2');
  assert.equal(
    code(() => accept(accepted, 2, 's2', 'i2', at(3))),
    'call.alreadyAnswered',
  );
  assert.equal(
    code(() => accept(end(ringing(), 'missed', at(30)), 2, 's2', 'i2', at(31))),
    'call.ended',
  );
});

test('the outcome follows from the state the call ends in', () => {
  assert.equal(outcomeOf('ringing', 'rejected'), 'rejected');
  assert.equal(outcomeOf('ringing', 'cancelled'), 'cancelled');
  assert.equal(outcomeOf('ringing', 'missed'), 'missed');
  assert.equal(outcomeOf('ringing', 'busy'), 'busy');
  assert.equal(outcomeOf('ringing', 'disconnected'), 'cancelled');
  assert.equal(outcomeOf('ringing', 'shutdown'), 'failed');
  assert.equal(outcomeOf('accepted', 'hangUp'), 'completed');
  assert.equal(outcomeOf('accepted', 'disconnected'), 'completed');
  assert.equal(outcomeOf('accepted', 'failed'), 'failed');
});

test('an ended call ends once, and its talk time runs from the answer to the end', () => {
  const ended = end(accept(ringing(), 2, 's2', 'i2', at(5)), 'hangUp', at(65));
  assert.equal(ended.outcome, 'completed');
  assert.equal(durationOf(ended), 60_000);
  assert.equal(
    code(() => end(ended, 'hangUp', at(70))),
    'call.ended',
  );
  assert.equal(durationOf(end(ringing(), 'rejected', at(3))), null);
  const view = viewOf(ended, (id) => `/a/${id}`);
  assert.equal(view.durationMs, 60_000);
  assert.deepEqual(view.callee, { id: 2, nickname: 'bob', avatarUrl: '/a/2' });
});

test("a side's live is recorded only while the call is accepted", () => {
  assert.equal(
    code(() => withLive(ringing(), 'caller', 'live00000001', false)),
    'call.notFound',
  );
  const accepted = accept(ringing(), 2, 's2', 'i2', at(1));
  const live = withLive(accepted, 'callee', 'live00000002', true);
  assert.deepEqual([live.callee.liveId, live.callee.onAir, live.caller.liveId], ['live00000002', true, null]);
  assert.equal(
    code(() => withLive(end(accepted, 'hangUp', at(2)), 'caller', 'live00000001', false)),
    'call.ended',
  );
});

test('stored records parse back; anything else is no record', () => {
  const call = ringing();
  assert.deepEqual(parseCallRecord(JSON.stringify(call)), call);
  assert.equal(parseCallRecord(null), null);
  assert.equal(parseCallRecord('not json'), null);
  assert.equal(parseCallRecord('{"x":1}'), null);
  assert.equal(parseCallRecord('null'), null);
});
