/** media/Live against the embedded engine, a fresh engine and MediaServer per test. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MediaError } from '../../media/errors.js';
import type { LiveEnd } from '../../media/Live.js';
import { makeOffer } from '../support/signalling.js';
import { useMediaServer } from './helpers/mediaFixture.js';

const isMediaError = (code: string) => (error: unknown) => error instanceof MediaError && error.code === code;

describe('media/Live', () => {
  const media = useMediaServer();
  const startLive = async (id = 'live00000001') =>
    (
      await media.server.startLive(id, {
        offer: await makeOffer('presenter'),
        recordingUri: null,
        onCandidate: () => {},
      })
    ).live;

  test('live.end() is idempotent: every caller gets the one outcome, "ended" is emitted once, the pipeline is released', async () => {
    const live = await startLive();
    assert.deepEqual(await media.pipelines(), [live.pipelineId]);
    const ended: LiveEnd[] = [];
    live.on('ended', (end) => ended.push(end));
    const [first, second] = await Promise.all([live.end('stopped'), live.end('failed')]);
    assert.equal(first, second);
    assert.equal(first.reason, 'stopped');
    assert.equal(await live.end('shutdown'), first);
    assert.equal(ended.length, 1);
    assert.ok(live.closed);
    assert.deepEqual(await media.pipelines(), []);
    assert.equal(media.server.live(live.id), undefined);
  });

  test('live.gone() sends nothing to the media server: the pipeline stays until releaseRemains()', async () => {
    const live = await startLive();
    const end = await live.gone('mediaServerLost');
    assert.equal(end.reason, 'mediaServerLost');
    assert.ok(live.closed);
    assert.deepEqual(await media.pipelines(), [live.pipelineId], 'gone() did not release the pipeline');
    assert.equal(await live.end('stopped'), end, 'end() after gone() gets the same outcome');
    await live.releaseRemains();
    assert.deepEqual(await media.pipelines(), []);
  });

  test('addViewer during end() rejects and leaves no endpoint', async () => {
    const live = await startLive();
    const offer = await makeOffer('viewer');
    const joining = live.addViewer('viewer-1', offer, () => {});
    const ending = live.end('stopped');
    await assert.rejects(joining);
    await ending;
    assert.equal(live.viewerCount, 0);
    assert.equal(live.endpoint('viewer', 'viewer-1'), undefined);
    await assert.rejects(
      live.addViewer('viewer-2', offer, () => {}),
      isMediaError('closed'),
    );
    assert.deepEqual(await media.pipelines(), []);
  });

  test('addViewer refuses a second viewer with the same key (viewer.exists) and a sending offer (sdp.invalid)', async () => {
    const live = await startLive();
    await live.addViewer('viewer-1', await makeOffer('viewer'), () => {});
    assert.equal(live.viewerCount, 1);
    await assert.rejects(
      live.addViewer('viewer-1', await makeOffer('viewer'), () => {}),
      isMediaError('viewer.exists'),
    );
    await assert.rejects(
      live.addViewer('viewer-2', await makeOffer('presenter'), () => {}),
      isMediaError('sdp.invalid'),
    );
    assert.equal(live.viewerCount, 1, 'the refused viewer left no endpoint');
    await live.removeViewer('viewer-1');
    await live.removeViewer('viewer-1');
    assert.equal(live.viewerCount, 0);
    await live.end('stopped');
  });
});
