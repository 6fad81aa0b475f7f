/**
 * KMS's bandwidth properties on the WebRtcEndpoint (BaseRtpEndpoint / SdpEndpoint, in kbps): accepted
 * and stored with KMS's defaults, and honoured through REMB to the presenter's browser: never above the
 * presenter endpoint's maxVideoRecvBandwidth, nor above what a viewer endpoint may be sent.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { skipUnless } from '../support/services.js';
import { assertBackToBaseline, call, connectClient, useTestEngine, waitFor } from './helpers/engineHarness.js';
import { PeerPage, usePeerPages } from './helpers/peerPage.js';

const MEDIA_TIMEOUT_MS = 30_000;

describe('bandwidth properties of the WebRtcEndpoint', { skip: skipUnless('chromium') }, () => {
  const fixture = useTestEngine({ env: { ENGINE_KMS_FAITHFUL: 'false' } });
  const peers = usePeerPages();

  /** Waits until the page's send estimate has been brought down to `bps` (with 5 % slack) by the engine's REMB. */
  const cappedAt = (page: PeerPage, bps: number) =>
    waitFor(
      `the presenter's send estimate to fall to ${bps} bps`,
      async () => {
        const estimate = await page.outgoingBitrate();
        return estimate > 0 && estimate <= bps * 1.05 ? estimate : undefined;
      },
      MEDIA_TIMEOUT_MS,
      250,
    );

  afterEach(async () => {
    await assertBackToBaseline(fixture.engine.uri, fixture.baseline);
  });

  test("the properties are accepted and stored, with KMS's defaults", async () => {
    const client = await connectClient(fixture.engine.uri);
    const pipeline = await client.create('MediaPipeline');
    const endpoint = await pipeline.create('WebRtcEndpoint');
    const get = (name: string) => call<number>((cb) => endpoint[`get${name}`](cb));
    assert.equal(await get('MaxVideoSendBandwidth'), 500);
    assert.equal(await get('MinVideoSendBandwidth'), 100);
    assert.equal(await get('MaxVideoRecvBandwidth'), 0);
    assert.equal(await get('MinVideoRecvBandwidth'), 0);
    assert.equal(await get('MaxAudioRecvBandwidth'), 0);
    await call((cb) => endpoint.setMaxVideoSendBandwidth(2500, cb));
    await call((cb) => endpoint.setMinVideoSendBandwidth(300, cb));
    await call((cb) => endpoint.setMaxVideoRecvBandwidth(2000, cb));
    await call((cb) => endpoint.setMinVideoRecvBandwidth(250, cb));
    await call((cb) => endpoint.setMaxAudioRecvBandwidth(64, cb));
    assert.equal(await get('MaxVideoSendBandwidth'), 2500);
    assert.equal(await get('MinVideoSendBandwidth'), 300);
    assert.equal(await get('MaxVideoRecvBandwidth'), 2000);
    assert.equal(await get('MinVideoRecvBandwidth'), 250);
    assert.equal(await get('MaxAudioRecvBandwidth'), 64);
    await assert.rejects(
      call((cb) => endpoint.setMaxVideoSendBandwidth('fast', cb)),
      (err: any) => err.code === 40001,
    );
    await call((cb) => pipeline.release(cb));
  });

  test("REMB keeps the presenter's video at or below its endpoint's maxVideoRecvBandwidth", async () => {
    const client = await connectClient(fixture.engine.uri);
    const pipeline = await client.create('MediaPipeline');
    const presenterEndpoint = await pipeline.create('WebRtcEndpoint');
    await call((cb) => presenterEndpoint.setMaxVideoRecvBandwidth(150, cb));
    await call((cb) => presenterEndpoint.connect(presenterEndpoint, cb));
    const presenter = await peers.open();
    await presenter.negotiate(presenterEndpoint, { send: true, receive: true });
    await cappedAt(presenter, 150_000);
    await call((cb) => pipeline.release(cb));
  });

  test("REMB keeps the presenter's video at or below a viewer endpoint's maxVideoSendBandwidth", async () => {
    const client = await connectClient(fixture.engine.uri);
    const pipeline = await client.create('MediaPipeline');
    const presenterEndpoint = await pipeline.create('WebRtcEndpoint');
    const viewerEndpoint = await pipeline.create('WebRtcEndpoint', { sendonly: true });
    await call((cb) => viewerEndpoint.setMaxVideoSendBandwidth(120, cb));
    await call((cb) => presenterEndpoint.connect(viewerEndpoint, cb));
    const presenter = await peers.open();
    await presenter.negotiate(presenterEndpoint, { send: true, receive: false });
    const viewer = await peers.open();
    await viewer.negotiate(viewerEndpoint, { send: false, receive: true });
    await cappedAt(presenter, 120_000);
    await call((cb) => pipeline.release(cb));
  });
});
