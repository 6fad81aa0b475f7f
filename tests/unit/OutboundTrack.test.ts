/**
 * The engine's per-viewer send path (media/engine/rtp/OutboundTrack): what it puts on the wire must
 * decrypt with a standard SRTP receiver (werift's), in the stream's own numbering, across source
 * changes and sequence wrap-around, and a NACKed packet must come back byte for byte. Each test runs on both ways
 * of sealing and sending: the engine's native addon (media/engine/native, `npm run build:native`) and node:crypto
 * with dgram. Without the addon its half is skipped, except under ONAIR_TEST_REQUIRE=all (CI), where it fails.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { RtpHeader, RtpPacket, SrtpSession } from 'werift';
import { nativeSrtp, nativeSrtpStatus, type NativeSrtp } from '../../media/engine/native/index.js';
import { OutboundTrack } from '../../media/engine/rtp/OutboundTrack.js';

const GCM = 0x0007;
const SSRC = 0x11223344;
const PAYLOAD_TYPE = 96;

interface Wire {
  track: OutboundTrack;
  /** Packets handed to werift's generic sender (the slow path). */
  slow: RtpPacket[];
  received: Buffer[];
  decrypt(packet: Buffer): RtpPacket;
  close(): void;
  next(count: number): Promise<Buffer[]>;
  dtls: { state: string };
  /** The engine side's socket (its send queue can be made to look full). */
  socket: dgram.Socket;
  /** The receiving side's port. */
  peerPort: number;
  /** Makes werift's sender hold every packet without finishing (a stuck send). */
  stall(): void;
}

/** An OutboundTrack whose werift sender is a stand-in: connected DTLS, GCM keys, a real UDP pair. */
async function wire(native: NativeSrtp | null, kind: 'audio' | 'video' = 'video'): Promise<Wire> {
  const [engineKey, engineSalt, peerKey, peerSalt] = [
    randomBytes(16),
    randomBytes(12),
    randomBytes(16),
    randomBytes(12),
  ];
  const engineSide = new SrtpSession({
    keys: {
      localMasterKey: engineKey,
      localMasterSalt: engineSalt,
      remoteMasterKey: peerKey,
      remoteMasterSalt: peerSalt,
    },
    profile: GCM,
  });
  const peerSide = new SrtpSession({
    keys: {
      localMasterKey: peerKey,
      localMasterSalt: peerSalt,
      remoteMasterKey: engineKey,
      remoteMasterSalt: engineSalt,
    },
    profile: GCM,
  });
  const peer = dgram.createSocket('udp4');
  const engine = dgram.createSocket('udp4');
  await Promise.all([
    new Promise<void>((r) => peer.bind(0, '127.0.0.1', r)),
    new Promise<void>((r) => engine.bind(0, '127.0.0.1', r)),
  ]);
  const received: Buffer[] = [];
  peer.on('message', (message) => received.push(message));
  const dtls = {
    state: 'connected',
    srtp: engineSide,
    iceTransport: {
      connection: {
        nominated: {
          remoteAddr: ['127.0.0.1', peer.address().port],
          protocol: { transport: { type: 'udp', socket: engine } },
        },
      },
    },
    sendRtcp: async () => undefined,
  };
  const slow: RtpPacket[] = [];
  let stalled = false;
  const sender = {
    ssrc: SSRC,
    kind,
    codec: { payloadType: PAYLOAD_TYPE },
    dtlsTransport: dtls,
    sendRtp: (p: RtpPacket) => {
      slow.push(p);
      return stalled ? new Promise<void>(() => undefined) : Promise.resolve();
    },
  };
  const track = new OutboundTrack(
    sender as never,
    kind === 'video' ? 90_000 : 48_000,
    kind === 'video' ? 'VP8' : 'OPUS',
    native,
  );
  return {
    track,
    slow,
    received,
    dtls,
    socket: engine,
    peerPort: peer.address().port,
    stall: () => (stalled = true),
    decrypt: (packet) => RtpPacket.deSerialize(peerSide.decrypt(packet)),
    close: () => {
      peer.close();
      engine.close();
    },
    next: async (count) => {
      while (received.length < count) await once(peer, 'message');
      return received.splice(0, count);
    },
  };
}

/** A VP8 payload: a frame's first packet, keyframe or not. */
function vp8(keyframe: boolean) {
  const payload = randomBytes(900);
  payload[0] = 0x10;
  payload[1] = keyframe ? 0x10 : 0x11;
  return payload;
}

function source(ssrc: number, sequenceNumber: number, timestamp: number, payload = randomBytes(900)): RtpPacket {
  return new RtpPacket(new RtpHeader({ ssrc, sequenceNumber, timestamp, payloadType: 100, marker: true }), payload);
}

const PATHS = [
  {
    name: 'native addon',
    native: nativeSrtp,
    skip: nativeSrtp || process.env.ONAIR_TEST_REQUIRE === 'all' ? false : `native addon ${nativeSrtpStatus}`,
  },
  { name: 'node:crypto and dgram', native: null, skip: false },
];

for (const { name, native, skip } of PATHS)
  describe(`OutboundTrack (${name})`, { skip }, () => {
    let w: Wire;
    /** Packets the track handed to dgram's send. */
    let viaDgram: number;
    beforeEach(async () => {
      if (name === 'native addon') assert.ok(native, `native addon ${nativeSrtpStatus}`);
      w = await wire(native);
      viaDgram = 0;
      const send = w.socket.send.bind(w.socket) as (...args: unknown[]) => void;
      w.socket.send = ((...args: unknown[]) => {
        viaDgram += 1;
        send(...args);
      }) as typeof w.socket.send;
    });

    afterEach(() => w.close());

    test(
      native ? 'forwarded packets go straight to the kernel, not through dgram' : 'forwarded packets go through dgram',
      async () => {
        const now = Date.now();
        w.track.send(source(7, 100, 0), now);
        await w.next(1);
        for (let i = 1; i < 4; i++) w.track.send(source(7, 100 + i, 1000 * i), now);
        w.track.retransmit([101]);
        assert.equal((await w.next(4)).length, 4);
        assert.equal(viaDgram, native ? 0 : 5);
      },
    );

    if (native) {
      test("the first packets do not overtake werift's last DTLS flight, still on its way through dgram", async () => {
        // What werift does as DTLS connects: its Finished flight handed to dgram, then media at once.
        const flight = Buffer.from('the DTLS flight');
        w.socket.send(flight, w.peerPort, '127.0.0.1');
        const now = Date.now();
        for (let i = 0; i < 3; i++) w.track.send(source(7, 300 + i, 1000 * i), now);
        const [first, ...media] = await w.next(4);
        assert.deepEqual(first, flight);
        assert.deepEqual(
          media.map((b) => w.decrypt(b).header.sequenceNumber),
          [300, 301, 302],
        );
      });

      test('packets stay in order when some wait in the send queue', async () => {
        const now = Date.now();
        w.track.send(source(7, 199, 0), now);
        await w.next(1);
        viaDgram = 0;
        const queued = w.socket.getSendQueueSize.bind(w.socket);
        w.socket.getSendQueueSize = () => 1000;
        w.track.send(source(7, 200, 1000), now);
        w.socket.getSendQueueSize = queued;
        // Nothing is queued any more, but the first packet is still on its way through dgram: this one follows it.
        w.track.send(source(7, 201, 2000), now);
        const sent = (await w.next(2)).map((b) => w.decrypt(b).header.sequenceNumber);
        assert.deepEqual(sent, [200, 201]);
        assert.equal(viaDgram, 2);
        // Once dgram is done, the direct way again.
        w.track.send(source(7, 202, 3000), now);
        await w.next(1);
        assert.equal(viaDgram, 2);
      });
    }

    test("a forwarded packet decrypts as standard SRTP, in the stream's SSRC and payload type, payload intact", async () => {
      const packet = source(0xabc, 1000, 50_000);
      assert.equal(w.track.send(packet, Date.now()), true);
      const [wireBytes] = await w.next(1);
      const rtp = w.decrypt(wireBytes!);
      assert.equal(rtp.header.ssrc, SSRC);
      assert.equal(rtp.header.payloadType, PAYLOAD_TYPE);
      assert.equal(rtp.header.marker, true);
      assert.equal(rtp.header.sequenceNumber, 1000);
      assert.equal(rtp.header.timestamp, 50_000);
      assert.deepEqual(rtp.payload, packet.payload);
      assert.equal(packet.header.ssrc, 0xabc, 'the shared source packet is not modified');
    });

    test('numbering stays continuous when the source changes', async () => {
      const now = Date.now();
      w.track.send(source(1, 500, 9000), now);
      w.track.send(source(1, 501, 12_000), now + 33);
      w.track.send(source(2, 40_000, 777_000), now + 66);
      const [, second, third] = (await w.next(3)).map((b) => w.decrypt(b).header);
      assert.equal(third!.sequenceNumber, second!.sequenceNumber + 1);
      assert.ok(third!.timestamp > second!.timestamp && third!.timestamp - second!.timestamp < 90_000);
    });

    test('sequence numbers wrap around with the rollover counter and still decrypt', async () => {
      const now = Date.now();
      const seqs = [65533, 65534, 65535, 0, 1, 2];
      seqs.forEach((seq, i) => w.track.send(source(7, seq, 1000 + i * 3000), now));
      const decrypted = (await w.next(seqs.length)).map((b) => w.decrypt(b).header.sequenceNumber);
      assert.deepEqual(decrypted, seqs);
    });

    test('a NACKed video packet is sent again byte for byte', async () => {
      const now = Date.now();
      w.track.send(source(7, 10, 1000), now);
      w.track.send(source(7, 11, 4000), now);
      const [first] = await w.next(2);
      w.track.retransmit([10, 9999]);
      const [again] = await w.next(1);
      assert.deepEqual(again, first);
    });

    test('a packet NACKed again and again is sent again at most once per interval', async () => {
      const now = Date.now();
      w.track.send(source(7, 20, 1000), now);
      w.track.send(source(7, 21, 4000), now);
      const [first] = await w.next(2);
      // A receiver repeating its NACK every few milliseconds: one resend.
      for (let i = 0; i < 5; i++) w.track.retransmit([20], now + i * 4);
      w.track.send(source(7, 22, 7000), now + 20);
      const after = await w.next(2);
      assert.deepEqual(after[0], first);
      assert.equal(w.decrypt(after[1]!).header.sequenceNumber, 22, 'no second resend within the interval');
      // Still missing a while later: sent again.
      w.track.retransmit([20], now + 40);
      assert.deepEqual((await w.next(1))[0], first);
    });

    test("until DTLS is connected packets go to werift's sender (which holds them back), then the fast path takes over", async () => {
      w.dtls.state = 'connecting';
      w.track.send(source(1, 1, 1), Date.now());
      assert.equal(w.slow.length, 1);
      w.dtls.state = 'connected';
      w.track.send(source(1, 2, 3001), Date.now());
      const [wireBytes] = await w.next(1);
      assert.equal(w.decrypt(wireBytes!).header.sequenceNumber, 2);
      assert.equal(w.slow.length, 1);
    });

    test('a viewer whose socket queue is full sheds packets, then skips to a keyframe without a gap in its numbering', async () => {
      const now = Date.now();
      let asked = 0;
      w.track.onCongested = () => (asked += 1);
      assert.equal(w.track.send(source(7, 10, 1000, vp8(true)), now), true);
      await w.next(1);
      const queued = w.socket.getSendQueueSize.bind(w.socket);
      w.socket.getSendQueueSize = () => 10 * 1024 * 1024;
      assert.equal(w.track.send(source(7, 11, 4000, vp8(false)), now), false);
      assert.equal(w.track.send(source(7, 12, 7000, vp8(false)), now + 10), false);
      assert.equal(asked, 1, 'one keyframe request for one congestion');
      w.socket.getSendQueueSize = queued;
      // The queue drained, but a delta frame cannot be decoded after the shed ones: still skipped.
      assert.equal(w.track.send(source(7, 13, 10_000, vp8(false)), now + 20), false);
      assert.equal(w.track.send(source(7, 14, 13_000, vp8(true)), now + 30), true);
      assert.equal(w.track.send(source(7, 15, 16_000, vp8(false)), now + 40), true);
      const [key, next] = (await w.next(2)).map((b) => w.decrypt(b));
      assert.deepEqual([key!.header.sequenceNumber, next!.header.sequenceNumber], [11, 12]);
      assert.equal(key!.header.timestamp, 13_000);
      assert.equal(w.track.shed, 3);
      // Nothing shed is ever retransmitted: 11 is now the keyframe.
      w.track.retransmit([11]);
      assert.deepEqual(w.decrypt((await w.next(1))[0]!).header.timestamp, 13_000);
    });

    test("sends stuck in werift's sender are bounded: past the bound the track sheds instead of queueing", () => {
      w.dtls.state = 'connecting';
      w.stall();
      let sent = 0;
      for (let i = 0; i < 1000; i++) if (w.track.send(source(1, i, i * 3000, vp8(true)), Date.now())) sent += 1;
      assert.ok(sent > 0 && sent <= 257, `at most the bound was handed over (${sent})`);
      assert.equal(w.slow.length, sent);
      assert.equal(w.track.shed, 1000 - sent);
    });
  });
