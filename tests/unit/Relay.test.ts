/**
 * The engine's relay between two workers, both halves in one process over loopback UDP: media goes across once and
 * fans out; a video packet lost on the way is asked again (NACK) and resent from the relay sink's history; keyframe
 * requests and the far side's bitrate limit (REMB) come back to the source.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { after, before, describe, test } from 'node:test';
import { RtpHeader, RtpPacket } from 'werift';
import { configFromEnv } from '../../media/engine/config.js';
import { MediaElement } from '../../media/engine/elements/MediaElement.js';
import { MediaPipeline } from '../../media/engine/elements/MediaPipeline.js';
import type { RuntimeContext } from '../../media/engine/elements/RuntimeContext.js';
import { DtlsAdmission } from '../../media/engine/rtp/DtlsAdmission.js';
import { RelaySink } from '../../media/engine/relay/RelaySink.js';
import { RelaySource } from '../../media/engine/relay/RelaySource.js';
import type { TrackInfo } from '../../media/engine/rtp/MediaTypes.js';
import { waitFor } from '../../drivers/wait.js';

const VP8: TrackInfo = { kind: 'video', codec: 'VP8', clockRate: 90_000 };
const context: RuntimeContext = {
  config: configFromEnv({ ENGINE_NO_SECRET: 'true' }),
  emitEvent: () => undefined,
  selfReleased: () => undefined,
  dtlsAdmission: new DtlsAdmission(0),
};

/** A source of the test's own packets that counts the keyframe requests reaching it. */
class TestSource extends MediaElement {
  keyframeRequests = 0;
  constructor(pipeline: MediaPipeline) {
    super('test-source', 'PassThrough', pipeline, context);
  }
  send(seq: number): void {
    const header = new RtpHeader({ payloadType: 96, sequenceNumber: seq, timestamp: seq * 3000, ssrc: 1234 });
    this.forward('video', new RtpPacket(header, Buffer.from([0x10, 0, 0, seq & 0xff])), VP8);
  }
  override requestKeyframe(): void {
    this.keyframeRequests += 1;
  }
}

/** A sink on the far side: what it gets, and a video limit of its own. */
class TestSink extends MediaElement {
  readonly seqs: number[] = [];
  constructor(pipeline: MediaPipeline) {
    super('test-sink', 'PassThrough', pipeline, context);
  }
  override consume(packet: RtpPacket, track: TrackInfo): void {
    assert.equal(track.codec, 'VP8');
    this.seqs.push(packet.header.sequenceNumber);
  }
  override videoSendLimitBps(): number {
    return 250_000;
  }
  askKeyframe(): void {
    this.requestKeyframeUpstream();
  }
}

describe('the relay between media workers', () => {
  const near = new MediaPipeline('pipeline', context);
  const far = new MediaPipeline('pipeline', context);
  /** Between the halves, a lossy link that drops the first copy of sequence number 3. */
  const link = dgram.createSocket('udp4');
  let source: TestSource;
  let relaySource: RelaySource;
  let relaySink: RelaySink;
  let sink: TestSink;
  let dropped = 0;

  before(async () => {
    relaySource = await RelaySource.open('relay:test', far, context);
    await new Promise<void>((resolve) => link.bind(0, '127.0.0.1', resolve));
    link.on('message', (message) => {
      if (message.readUInt16BE(4) === 3 && dropped++ === 0) return;
      link.send(message, relaySource.port, '127.0.0.1');
    });
    relaySink = await RelaySink.open('relay:test', near, context, link.address().port);
    relaySource.peer(relaySink.port, 'VP8');
    source = new TestSource(near);
    sink = new TestSink(far);
    source.connect(relaySink, ['video']);
    relaySource.connect(sink, ['video']);
  });

  after(() => {
    for (const element of [source, relaySink, relaySource, sink]) element.close();
    link.close();
  });

  test('media crosses, a lost video packet is asked again and resent', async () => {
    for (const seq of [1, 2, 3, 4, 5]) source.send(seq);
    await waitFor(async () => sink.seqs.length === 5, 'five packets across');
    assert.equal(dropped, 2, 'the first copy of 3 was dropped, the second passed');
    assert.deepEqual(
      [...sink.seqs].sort((a, b) => a - b),
      [1, 2, 3, 4, 5],
    );
    assert.equal(relaySource.nacked, 1);
    assert.equal(relaySource.videoCodec(), 'VP8');
  });

  test('keyframe requests and the far sinks bitrate limit reach the source side', async () => {
    const before = source.keyframeRequests;
    sink.askKeyframe();
    await waitFor(async () => source.keyframeRequests > before, 'the keyframe request at the source');
    assert.equal(relaySink.videoSendLimitBps(), undefined);
    relaySource.tick();
    await waitFor(async () => relaySink.videoSendLimitBps() === 250_000, 'the limit at the relay sink');
  });
});
