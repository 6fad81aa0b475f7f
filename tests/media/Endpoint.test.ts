/** media/Endpoint against the embedded engine, a fresh engine and MediaServer per test. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Endpoint } from '../../media/Endpoint.js';
import { MediaError } from '../../media/errors.js';
import type { KurentoPipeline } from '../../media/kurento.js';
import { makeOffer } from '../support/signalling.js';
import { useMediaServer } from './helpers/mediaFixture.js';

const isMediaError = (code: string) => (error: unknown) => error instanceof MediaError && error.code === code;
const CANDIDATE = { candidate: 'candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host', sdpMid: '0', sdpMLineIndex: 0 };

describe('media/Endpoint', () => {
  const media = useMediaServer();
  /** A pipeline of a live, to create endpoints in (released with the live at teardown). */
  const pipeline = async (): Promise<KurentoPipeline> =>
    (
      await media.server.startLive('live00000001', {
        offer: await makeOffer('presenter'),
        recordingUri: null,
        onCandidate: () => {},
      })
    ).live.pipeline;

  test('addCandidate() before the offer is refused with ice.invalid', async () => {
    const endpoint = await Endpoint.create(await pipeline(), 'viewer');
    assert.equal(endpoint.acceptsCandidates, false);
    await assert.rejects(endpoint.addCandidate(CANDIDATE), isMediaError('ice.invalid'));
    await endpoint.processOffer(await makeOffer('viewer'));
    assert.equal(endpoint.acceptsCandidates, true);
    await endpoint.addCandidate(CANDIDATE);
    await endpoint.close();
  });

  test('processOffer() refuses a malformed offer and one that does not fit the role with sdp.invalid', async () => {
    const endpoint = await Endpoint.create(await pipeline(), 'viewer');
    await assert.rejects(endpoint.processOffer('v=0\r\nnot sdp'), isMediaError('sdp.invalid'));
    await assert.rejects(endpoint.processOffer(await makeOffer('presenter')), isMediaError('sdp.invalid'));
    await assert.rejects(endpoint.processOffer(42), isMediaError('sdp.invalid'));
    await endpoint.close();
  });

  test('close() is idempotent, emits "closed" once, and a closed endpoint refuses work with closed', async () => {
    const live = await pipeline();
    const endpoint = await Endpoint.create(live, 'viewer');
    let closed = 0;
    endpoint.on('closed', () => closed++);
    assert.equal(await endpoint.close(), undefined);
    assert.equal(await endpoint.close(), undefined);
    assert.ok(endpoint.closed);
    assert.equal(closed, 1);
    await assert.rejects(endpoint.processOffer(await makeOffer('viewer')), isMediaError('closed'));
    await assert.rejects(endpoint.connect(endpoint.kurento), isMediaError('closed'));
  });
});
