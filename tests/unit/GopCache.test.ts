/**
 * The source-side GOP cache (media/engine/rtp/GopCache): it keeps the packets from the last keyframe on,
 * replays them with their own sequence numbers and timestamps squeezed just before the newest frame's,
 * never touches the shared packets, and stays within its bounds.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RtpHeader, RtpPacket } from 'werift';
import { GopCache, isKeyframeStart } from '../../media/engine/rtp/GopCache.js';
import type { TrackInfo } from '../../media/engine/rtp/MediaTypes.js';

const VP8: TrackInfo = { kind: 'video', codec: 'VP8', clockRate: 90_000 };
const H264: TrackInfo = { kind: 'video', codec: 'H264', clockRate: 90_000 };

/** A VP8 packet: descriptor with S set on a frame's first packet, payload header P bit 0 for a keyframe. */
function vp8(seq: number, ts: number, opts: { key?: boolean; start?: boolean; size?: number; ssrc?: number } = {}) {
  const start = opts.start ?? true;
  const payload = Buffer.alloc(opts.size ?? 100, 0xaa);
  // X set, I set with a 15-bit picture id: the keyframe bit sits after a 3-byte extension.
  payload[0] = 0x80 | (start ? 0x10 : 0);
  payload[1] = 0x80;
  payload[2] = 0x80;
  payload[3] = 0x01;
  payload[4] = opts.key ? 0x10 : 0x11;
  const header = new RtpHeader({
    payloadType: 96,
    sequenceNumber: seq,
    timestamp: ts,
    ssrc: opts.ssrc ?? 7,
    marker: true,
  });
  return new RtpPacket(header, payload);
}

describe('GopCache', () => {
  test('keeps nothing before the first keyframe, then everything from the last keyframe on', () => {
    const gop = new GopCache();
    gop.push(vp8(1, 1000), VP8);
    assert.equal(gop.size, 0);
    assert.equal(gop.replay(), undefined);
    gop.push(vp8(2, 4000, { key: true }), VP8);
    gop.push(vp8(3, 4000, { start: false }), VP8);
    gop.push(vp8(4, 7000), VP8);
    assert.equal(gop.size, 3);
    assert.equal(gop.spanMs, 3000 / 90);
    gop.push(vp8(5, 10_000, { key: true }), VP8);
    gop.push(vp8(6, 13_000), VP8);
    assert.deepEqual(
      gop.replay()!.packets.map((p) => p.header.sequenceNumber),
      [5, 6],
    );
  });

  test('a replay keeps sequence numbers and squeezes timestamps one tick apart, ending at the newest frame', () => {
    const gop = new GopCache();
    const sent = [
      vp8(65534, 0xfffffff0, { key: true }),
      vp8(65535, 0xfffffff0, { start: false }),
      vp8(0, 2990),
      vp8(1, 5990),
      vp8(2, 5990, { start: false }),
    ];
    for (const p of sent) gop.push(p, VP8);
    const replay = gop.replay()!;
    assert.equal(replay.track, VP8);
    assert.deepEqual(
      replay.packets.map((p) => [p.header.sequenceNumber, p.header.timestamp]),
      [
        [65534, 5988],
        [65535, 5988],
        [0, 5989],
        [1, 5990],
        [2, 5990],
      ],
    );
    // Payloads are shared, the cached packets themselves untouched.
    assert.equal(replay.packets[0]!.payload, sent[0]!.payload);
    assert.equal(sent[0]!.header.timestamp, 0xfffffff0);
  });

  test('a keyframe arriving after the first packets of its frame keeps those packets', () => {
    // H.264 with an SPS in the frame's second packet: the frame's first packet (an AUD) stays in the group.
    const h264 = new GopCache();
    const nal = (seq: number, ts: number, type: number) =>
      new RtpPacket(new RtpHeader({ sequenceNumber: seq, timestamp: ts, ssrc: 9 }), Buffer.from([type, 0, 0]));
    h264.push(nal(1, 100, 7), H264);
    h264.push(nal(2, 100, 5), H264);
    h264.push(nal(3, 200, 1), H264);
    h264.push(nal(4, 300, 9), H264); // access unit delimiter, then the IDR of the same frame
    h264.push(nal(5, 300, 5), H264);
    assert.deepEqual(
      h264.replay()!.packets.map((p) => p.header.sequenceNumber),
      [4, 5],
    );
  });

  test('a group past the packet or byte bound is dropped until the next keyframe', () => {
    const byPackets = new GopCache({ maxPackets: 3, maxBytes: 1 << 20 });
    byPackets.push(vp8(1, 0, { key: true }), VP8);
    for (let i = 2; i <= 4; i++) byPackets.push(vp8(i, i * 3000), VP8);
    assert.equal(byPackets.size, 0);
    assert.equal(byPackets.replay(), undefined);
    byPackets.push(vp8(5, 15_000), VP8);
    assert.equal(byPackets.size, 0, 'no group again before a keyframe');
    byPackets.push(vp8(6, 18_000, { key: true }), VP8);
    assert.equal(byPackets.size, 1);

    const byBytes = new GopCache({ maxPackets: 100, maxBytes: 250 });
    byBytes.push(vp8(1, 0, { key: true, size: 100 }), VP8);
    byBytes.push(vp8(2, 3000, { size: 100 }), VP8);
    assert.equal(byBytes.bytes, 200);
    byBytes.push(vp8(3, 6000, { size: 100 }), VP8);
    assert.equal(byBytes.size, 0);
    assert.equal(byBytes.bytes, 0);
  });

  test('another SSRC or codec starts over', () => {
    const gop = new GopCache();
    gop.push(vp8(1, 0, { key: true }), VP8);
    gop.push(vp8(2, 3000), VP8);
    gop.push(vp8(100, 50, { ssrc: 8 }), VP8);
    assert.equal(gop.size, 0);
    gop.push(vp8(101, 3050, { ssrc: 8, key: true }), VP8);
    assert.deepEqual(
      gop.replay()!.packets.map((p) => p.header.ssrc),
      [8],
    );
  });

  test('keyframe detection: VP8 descriptor variants and H.264 IDR, SPS, STAP-A and FU-A', () => {
    assert.equal(isKeyframeStart('VP8', Buffer.from([0x10, 0x10])), true, 'no extension, S, keyframe');
    assert.equal(isKeyframeStart('VP8', Buffer.from([0x10, 0x11])), false, 'interframe');
    assert.equal(isKeyframeStart('VP8', Buffer.from([0x00, 0x10])), false, 'not a partition start');
    assert.equal(isKeyframeStart('VP8', Buffer.from([0x90, 0x80, 0x05, 0x10])), true, '7-bit picture id');
    assert.equal(isKeyframeStart('VP8', Buffer.from([0x90, 0xe0, 0x80, 0x05, 0x01, 0x00, 0x10])), true, 'I, L, T');
    assert.equal(isKeyframeStart('H264', Buffer.from([0x65, 0x88])), true, 'IDR');
    assert.equal(isKeyframeStart('H264', Buffer.from([0x67, 0x42])), true, 'SPS');
    assert.equal(isKeyframeStart('H264', Buffer.from([0x41, 0x9a])), false, 'non-IDR slice');
    assert.equal(isKeyframeStart('H264', Buffer.from([0x18, 0x00, 0x02, 0x09, 0xf0, 0x00, 0x02, 0x67, 0x42])), true);
    assert.equal(isKeyframeStart('H264', Buffer.from([0x7c, 0x85])), true, 'FU-A start of an IDR');
    assert.equal(isKeyframeStart('H264', Buffer.from([0x7c, 0x05])), false, 'FU-A middle');
  });
});
