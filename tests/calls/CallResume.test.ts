import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Harness } from '../../drivers/harness.js';
import { pipelineCount } from '../support/media.js';
import { skipUnless } from '../support/services.js';
import { useCallSuite } from './helpers/callPair.js';
import { waitFor } from '../../drivers/wait.js';

const GRACE_MS = 5000;

/** A call survives a dropped connection of either side within RESUME_GRACE_MS; media are re-established. */
describe('calls: resuming after a dropped connection', { skip: skipUnless('chromium', 'mariadb') }, () => {
  const suite = useCallSuite({ graceMs: GRACE_MS });
  const { stateOf, establish } = suite;

  /** Decoded frames of a session keep growing (by more than `by`) from now on. */
  async function decodesMore(page: Harness, key: string, by: number, what: string): Promise<void> {
    const from = (await page.stats(key)).framesDecoded;
    await waitFor(async () => (await page.stats(key)).framesDecoded > from + by, what, { timeoutMs: 30_000 });
  }

  for (const dropping of ['caller', 'callee'] as const) {
    test(`the ${dropping}'s connection drops mid-call and comes back: the call stays accepted, media flow both ways again`, async () => {
      const { a, b, callId, liveA, liveB } = await establish();
      const [gone, stays, goneLive] = dropping === 'caller' ? [a, b, liveA] : [b, a, liveB];
      await gone.page.callDrop('me');
      await waitFor(
        async () =>
          (await stays.page.callEvents('me')).some(
            ([e, m]) => e === 'live:presenterReconnecting' && m.liveId === goneLive,
          ),
        'the other side told the dropped side is reconnecting',
      );
      await new Promise((r) => setTimeout(r, 1000));
      const resumed = await gone.page.callResume('me', gone.user.token, callId);
      assert.ok(resumed.ok, JSON.stringify(resumed));
      assert.equal(resumed.ok && resumed.resumedLive, goneLive, 'its own live was resumed, not replaced');
      await waitFor(
        async () =>
          (await stays.page.callEvents('me')).some(([e, m]) => e === 'live:presenterResumed' && m.liveId === goneLive),
        'the other side told it is back',
      );
      // The side that stayed decodes the resumed side on its same connection; the resumed side decodes again.
      await decodesMore(stays.page, 'me:peer', 30, 'the side that stayed to decode the resumed video');
      await waitFor(
        async () => {
          const s = await gone.page.stats('me:peer');
          return s.framesDecoded > 0 && s.audioSamples > 0;
        },
        'the resumed side to decode the other side again',
        { timeoutMs: 30_000 },
      );
      await waitFor(async () => (await gone.page.stats('me:me')).framesDecoded > 0, 'its new preview', {
        timeoutMs: 30_000,
      });
      // Past the grace period, the call is still on: never ended, and a hang-up from the new connection ends it.
      await new Promise((r) => setTimeout(r, GRACE_MS + 500));
      for (const me of [a, b]) {
        const states = (await me.page.callEvents('me')).filter(([e, m]) => e === 'call:state' && m.id === callId);
        assert.ok(!states.some(([, m]) => m.state === 'ended'), 'the call never ended');
      }
      assert.equal(await pipelineCount(suite.server), suite.baseline + 2, 'the same two pipelines');
      const hungUp = await gone.page.callRequest('me', 'call:hangUp', { callId });
      assert.ok(hungUp.ok, JSON.stringify(hungUp));
      for (const me of [a, b]) {
        const ended = await stateOf(me.page, callId, 'ended');
        assert.equal(ended.endReason, 'hangUp');
        assert.equal(ended.outcome, 'completed');
      }
      await waitFor(async () => (await pipelineCount(suite.server)) === suite.baseline, 'every pipeline released');
    });
  }

  test('a side that does not come back within the grace period: the call ends (disconnected) and its media are released', async () => {
    const { a, b, callId, liveB } = await establish();
    await b.page.callDrop('me');
    const droppedAt = Date.now();
    const ended = await stateOf(a.page, callId, 'ended');
    assert.ok(Date.now() - droppedAt >= GRACE_MS - 500, 'not before the grace period ran out');
    assert.equal(ended.endReason, 'disconnected');
    await waitFor(
      async () => (await a.page.callEvents('me')).some(([e, m]) => e === 'live:ended' && m.liveId === liveB),
      "A told B's live ended",
    );
    await waitFor(async () => (await pipelineCount(suite.server)) === suite.baseline, 'every pipeline released');
    const late = await b.page.callResume('me', b.user.token, callId);
    assert.equal(!late.ok && late.error.code, 'call.ended');
  });
});
