import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { CallView } from '../../api/contract/signalling.js';
import { pipelineCount } from '../support/media.js';
import { skipUnless } from '../support/services.js';
import { useCallSuite } from './helpers/callPair.js';
import { waitFor } from '../../drivers/wait.js';

/** Calls with real media: two Chromium contexts, the embedded media engine, each side a live the other watches. */
describe('calls: media', { skip: skipUnless('chromium', 'mariadb') }, () => {
  // A side that drops mid-call is waited for this long (RESUME_GRACE_MS) before the call ends.
  const suite = useCallSuite({ graceMs: 1000 });
  const { side, stateOf, establish } = suite;

  test('A calls B, B accepts: both decode each other; A hangs up: both end, the log is right, no pipeline is left', async () => {
    const { a, b, callId, liveA, liveB } = await establish();
    assert.equal(await pipelineCount(suite.server), suite.baseline + 2, 'one pipeline per side');
    assert.deepEqual((await a.user.client.get('/api/lives')).body.lives, [], 'calls are not listed in Live now');
    assert.equal((await a.user.client.get(`/api/lives/${liveB}`)).status, 404, 'nor found as lives');
    assert.equal(
      await b.page.callRequest('me', 'call:present', { callId }).then((r) => r.error?.code),
      'live.alreadyLive',
      'presenting twice',
    );

    const hungUp = await a.page.callRequest('me', 'call:hangUp', { callId });
    assert.ok(hungUp.ok, JSON.stringify(hungUp));
    for (const me of [a, b]) {
      const ended = await stateOf(me.page, callId, 'ended');
      assert.equal(ended.outcome, 'completed');
      assert.equal(ended.endReason, 'hangUp');
    }
    await waitFor(async () => (await pipelineCount(suite.server)) === suite.baseline, 'every pipeline released');
    await waitFor(
      async () => (await b.page.callEvents('me')).some(([e, m]) => e === 'live:ended' && m.liveId === liveA),
      "B told A's live ended",
    );

    for (const me of [a, b]) {
      const [logged] = (await me.user.client.get('/api/calls')).body.calls as CallView[];
      assert.equal(logged?.id, callId);
      assert.equal(logged?.outcome, 'completed');
      assert.ok((logged?.durationMs ?? 0) > 0, 'talk time counted');
      assert.equal(logged?.caller.id, a.user.user.id);
      assert.equal(logged?.callee.id, b.user.user.id);
    }
    const { Live, Recording } = suite.server.server.db;
    const lives = await Live.findAll({ where: { id: [liveA, liveB] } });
    assert.deepEqual(
      lives.map((l) => [l.kind, l.status]),
      [
        ['call', 'ended'],
        ['call', 'ended'],
      ],
    );
    assert.equal(await Recording.count({ where: { liveId: [liveA, liveB] } }), 0, 'calls are not recorded by default');
  });

  test("B's browser closes mid-call and does not come back: A is told, and the media are released", async () => {
    const { a, b, callId, liveB } = await establish();
    await b.context.close();
    const ended = await stateOf(a.page, callId, 'ended');
    assert.equal(ended.outcome, 'completed');
    assert.equal(ended.endReason, 'disconnected');
    await waitFor(
      async () => (await a.page.callEvents('me')).some(([e, m]) => e === 'live:ended' && m.liveId === liveB),
      "A told B's live ended",
    );
    await waitFor(async () => (await pipelineCount(suite.server)) === suite.baseline, 'every pipeline released');
    assert.equal((await a.user.client.get('/api/calls')).body.calls[0].endReason, 'disconnected');
  });

  test("B is live: A's call is busy; A cannot call while live either", async () => {
    const a = await side();
    const b = await side();
    const live = await b.page.present('show', b.user.token, 'B on air');
    assert.ok(live.ok, JSON.stringify(live));
    const busy = await a.page.callRequest('me', 'call:invite', { nickname: b.user.nickname });
    assert.equal(busy.error?.code, 'call.busy');
    const fromLive = await b.page.callRequest('me', 'call:invite', { nickname: a.user.nickname });
    assert.equal(fromLive.error?.code, 'live.alreadyLive');
    assert.ok((await b.page.stop('show')).ok);
    await waitFor(async () => (await pipelineCount(suite.server)) === suite.baseline, 'the live released');
    const invited = await a.page.callRequest('me', 'call:invite', { nickname: b.user.nickname });
    assert.ok(invited.ok, 'B can be called once off air');
    assert.ok((await a.page.callRequest('me', 'call:cancel', { callId: invited.call.id })).ok);
  });

  test('the media server dying mid-call fails the call for both sides, and calls work again once it is back', async () => {
    const { a, b, callId } = await establish();
    const media = suite.server.server.services.media!;
    const oldPid = media.engine!.pid;
    media.engine!.kill('SIGKILL');
    for (const me of [a, b]) {
      const ended = await stateOf(me.page, callId, 'ended');
      assert.equal(ended.outcome, 'failed');
      assert.equal(ended.endReason, 'failed');
    }
    assert.equal((await a.user.client.get('/api/calls')).body.calls[0].outcome, 'failed');
    await waitFor(async () => media.engine!.pid !== oldPid && (await media.probe()), 'the engine to be back', {
      timeoutMs: 30_000,
    });
    const again = await establish();
    assert.ok((await again.a.page.callRequest('me', 'call:hangUp', { callId: again.callId })).ok);
    await waitFor(async () => (await pipelineCount(suite.server)) === suite.baseline, 'every pipeline released');
  });
});
