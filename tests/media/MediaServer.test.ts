/** media/MediaServer against the embedded engine, a fresh engine and MediaServer per test. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MediaError } from '../../media/errors.js';
import { makeOffer } from '../support/signalling.js';
import { useMediaServer } from './helpers/mediaFixture.js';

const isMediaError = (code: string) => (error: unknown) => error instanceof MediaError && error.code === code;

describe('media/MediaServer', () => {
  const media = useMediaServer();
  const presenter = async () => ({ offer: await makeOffer('presenter'), recordingUri: null, onCandidate: () => {} });

  test('startLive() refuses an id that is already live (live.exists), leaving the first live alone', async () => {
    const { live } = await media.server.startLive('live00000001', await presenter());
    await assert.rejects(media.server.startLive('live00000001', await presenter()), isMediaError('live.exists'));
    assert.equal(media.server.live('live00000001'), live);
    assert.deepEqual(await media.pipelines(), [live.pipelineId]);
  });

  test('startLive() with an offer that does not fit a presenter rejects sdp.invalid and leaves no pipeline', async () => {
    const offer = await makeOffer('viewer');
    await assert.rejects(
      media.server.startLive('live00000001', { offer, recordingUri: null, onCandidate: () => {} }),
      isMediaError('sdp.invalid'),
    );
    assert.equal(media.server.live('live00000001'), undefined);
    assert.deepEqual(await media.pipelines(), []);
  });

  test('attachLive() to a pipeline the media server does not have rejects live.gone', async () => {
    await assert.rejects(
      media.server.attachLive('live00000001', 'no-such-pipeline_kurento.MediaPipeline', 'no-such-endpoint'),
      isMediaError('live.gone'),
    );
    assert.equal(media.server.live('live00000001'), undefined);
  });

  test('close() ends every live with "shutdown" and releases their pipelines; a second close() does nothing', async () => {
    const a = (await media.server.startLive('live00000001', await presenter())).live;
    const b = (await media.server.startLive('live00000002', await presenter())).live;
    const reasons: string[] = [];
    for (const live of [a, b]) live.on('ended', (end) => reasons.push(end.reason));
    await media.server.close();
    await media.server.close();
    assert.deepEqual(reasons, ['shutdown', 'shutdown']);
    assert.deepEqual(media.server.lives, []);
    assert.deepEqual(await media.pipelines(), []);
  });
});
