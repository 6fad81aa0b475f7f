import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RtpHeader, RtpPacket } from 'werift';
import { RtpReorderBuffer } from '../../media/engine/recording/RtpReorderBuffer.js';
import { TrackClock } from '../../media/engine/recording/TrackClock.js';
import { buildAvcC, parseAvcC, spsPictureSize } from '../../media/engine/recording/codecs/H264.js';
import { opusPacketDurationMs } from '../../media/engine/recording/codecs/Opus.js';
import { parseVp8Descriptor, vp8KeyframeSize } from '../../media/engine/recording/codecs/Vp8.js';

const hex = (text: string) => Uint8Array.from(Buffer.from(text, 'hex'));
const rtp = (sequenceNumber: number, timestamp = 0) =>
  new RtpPacket(new RtpHeader({ sequenceNumber, timestamp }), Buffer.alloc(1));

test('the VP8 payload descriptor is read with every optional field (RFC 7741)', () => {
  assert.deepEqual(parseVp8Descriptor(hex('10aa')), { start: true, partitionId: 0, length: 1 });
  // X, I with a 15-bit picture id, L (TL0PICIDX), T (TID): 6 bytes before the payload.
  assert.deepEqual(parseVp8Descriptor(hex('90e0812a0520ff')), {
    start: true,
    partitionId: 0,
    pictureId: 0x12a,
    pictureIdBits: 15,
    length: 6,
  });
  // X with T but no L: the TID byte alone.
  assert.equal(parseVp8Descriptor(hex('80200040ff'))?.length, 3);
  // X, I with a 7-bit picture id, K only.
  assert.deepEqual(parseVp8Descriptor(hex('8190051fff')), {
    start: false,
    partitionId: 1,
    pictureId: 5,
    pictureIdBits: 7,
    length: 4,
  });
  assert.equal(parseVp8Descriptor(hex('90e081')), undefined, 'a descriptor longer than the payload');
  assert.equal(parseVp8Descriptor(hex('')), undefined);
});

test('a VP8 keyframe gives its picture size; a delta frame none', () => {
  assert.deepEqual(vp8KeyframeSize(hex('5043009d012a8002e001')), { width: 640, height: 480 });
  assert.equal(vp8KeyframeSize(hex('5143009d012a8002e001')), undefined);
});

test('an SPS gives its cropped picture size (High and Baseline profiles)', () => {
  assert.deepEqual(spsPictureSize(hex('6764001facd9405005bb0110000003001000000303c0f1831960')), {
    width: 1280,
    height: 720,
  });
  assert.deepEqual(spsPictureSize(hex('6742c01ed900a42fe224c044000003000400000300f03c58b920')), {
    width: 642,
    height: 362,
  });
  assert.equal(spsPictureSize(hex('6764')), undefined, 'a truncated SPS');
});

test('an avcC record built from an SPS and a PPS reads back', () => {
  const sps = hex('6742c01ed900a42fe224c044000003000400000300f03c58b920');
  const pps = hex('68ce3c80');
  const record = parseAvcC(buildAvcC(sps, pps));
  assert.equal(record?.lengthSize, 4);
  assert.deepEqual(record?.sps, [sps]);
  assert.deepEqual(record?.pps, [pps]);
  assert.equal(parseAvcC(hex('0164')), undefined);
});

test('Opus packet durations come from the TOC byte', () => {
  assert.equal(opusPacketDurationMs(hex('78')), 20, 'hybrid FB 20 ms, one frame');
  assert.equal(opusPacketDurationMs(hex('fc')), 20, 'CELT FB 20 ms, stereo');
  assert.equal(opusPacketDurationMs(hex('01')), 20, 'SILK NB 10 ms, two frames');
  assert.equal(opusPacketDurationMs(hex('e0')), 2.5, 'CELT 2.5 ms');
  assert.equal(opusPacketDurationMs(hex('1b03')), 180, 'SILK 60 ms, code 3 with three frames');
  assert.equal(opusPacketDurationMs(hex('03')), undefined, 'code 3 without its frame count');
});

test('the reorder buffer releases in sequence order across the 16-bit wrap and marks gaps', () => {
  const buffer = new RtpReorderBuffer({ maxDelayMs: 100, maxPackets: 64 });
  const released = (packets: ReturnType<RtpReorderBuffer['push']>) =>
    packets.map((p) => [p.packet.header.sequenceNumber, p.gapBefore]);
  assert.deepEqual(released(buffer.push(rtp(65534), 0)), [[65534, false]]);
  assert.deepEqual(released(buffer.push(rtp(0), 1)), [], '65535 is missing: wait');
  assert.deepEqual(released(buffer.push(rtp(65535), 2)), [
    [65535, false],
    [0, false],
  ]);
  assert.deepEqual(released(buffer.push(rtp(65535), 3)), [], 'a duplicate is dropped');
  assert.deepEqual(released(buffer.push(rtp(2), 10)), []);
  assert.deepEqual(
    released(buffer.push(rtp(3), 200)),
    [
      [2, true],
      [3, false],
    ],
    '1 is declared lost once it waited too long',
  );
  assert.deepEqual(released(buffer.push(rtp(1), 201)), [], 'too late');
  assert.deepEqual(released(buffer.push(rtp(5), 202)), []);
  assert.deepEqual(released(buffer.flush()), [[5, true]]);
});

test('a track clock maps RTP time to wall time across the 32-bit wrap and notices jumps', () => {
  const clock = new TrackClock(90_000);
  const start = 2 ** 32 - 45_000; // wraps half a second in
  clock.observe(start, 1000);
  clock.observe((start + 90_000) % 2 ** 32, 2010);
  assert.equal(clock.wallMs(start), 1000);
  assert.equal(clock.wallMs((start + 180_000) % 2 ** 32), 3000);
  assert.equal(clock.jumped((start + 270_000) % 2 ** 32, 4000), false);
  assert.equal(clock.jumped((start + 90_000 * 60) % 2 ** 32, 4000), true, 'a minute ahead of the arrivals');
  assert.equal(clock.jumped(start, 30_000), true, 'far behind the arrivals');
});
