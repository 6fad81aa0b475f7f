/**
 * bench:fanout's load generator: one process of many synthetic receivers, driven by the bench over IPC. Each receiver
 * is a werift peer doing ICE and DTLS like a browser; once DTLS is up it stops decrypting: it counts RTP packets by
 * the sequence numbers of their clear header (SRTP leaves the header in the clear), so that a process carries many
 * receivers without becoming the bottleneck it measures. A receiver either makes the offer (the engine answers it) or
 * answers the server's offer (Janus's streaming plugin offers: 'answerOffer'). Their DTLS uses OpenSSL's X25519, as
 * the engine's does (NativeX25519), for the engine and Janus alike.
 */
import type { Socket } from 'node:dgram';
import { RTCPeerConnection, RTCRtpCodecParameters, SrtpAuthenticationError, type RtpPacket } from 'werift';
import { useNativeX25519 } from '../media/engine/rtp/NativeX25519.js';

export type ReceiverRequest =
  | { t: 'offer'; id: number }
  | { t: 'answer'; id: number; sdp: string }
  | { t: 'answerOffer'; id: number; sdp: string }
  | { t: 'candidate'; id: number; candidate: { candidate: string; sdpMid?: string; sdpMLineIndex?: number } }
  | { t: 'counts'; seq: number }
  | { t: 'close'; id: number };

export type ReceiverMessage =
  | { t: 'offer'; id: number; sdp: string }
  | { t: 'answer'; id: number; sdp: string }
  | { t: 'failed'; id: number; error: string }
  | ({ t: 'first'; id: number } & JoinPhases)
  | { t: 'counts'; seq: number; counts: Record<number, { received: number; expected: number }> };

const RECEIVE_BUFFER_BYTES = 2 * 1024 * 1024;
/**
 * What a counted packet's decrypt throws, so that werift drops it: one error made once. An Error made per packet (its
 * stack trace, then its garbage) was most of a generator's CPU.
 */
const COUNTED = new SrtpAuthenticationError('counted, not decrypted');

/** A receiver's set-up, in ms from the answer: ICE connected, DTLS connected, first media packet. */
export interface JoinPhases {
  iceMs: number;
  dtlsMs: number;
  ms: number;
}

useNativeX25519();

class Receiver {
  /**
   * A receiver gathers its host's own candidate(s), as a browser on a one-interface machine does, and no extra loopback
   * one: with the server's one candidate that is one pair to check. The extra 127.0.0.1 candidate it had made two,
   * twice the STUN checks on both sides of every join, for the engine and for Janus alike.
   */
  readonly pc = new RTCPeerConnection({
    iceServers: [],
    iceUseIpv6: false,
    codecs: {
      audio: [new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48_000, channels: 2 })],
      video: [
        new RTCRtpCodecParameters({
          mimeType: 'video/VP8',
          clockRate: 90_000,
          rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }],
        }),
      ],
    },
  });
  readonly streams = new Map<number, { first: number; highest: number; cycles: number; received: number }>();
  answeredAt = 0;
  firstPacketAt = 0;
  #iceAt = 0;
  #dtlsAt = 0;

  constructor(private readonly onFirst: (phases: JoinPhases) => void) {
    this.pc.iceConnectionStateChange.subscribe((state) => {
      if (state === 'connected') this.#iceAt ||= performance.now();
    });
    this.pc.connectionStateChange.subscribe((state) => {
      if (state !== 'connected') return;
      this.#dtlsAt ||= performance.now();
      this.#countClear();
    });
  }

  async offer(): Promise<string> {
    this.pc
      .addTransceiver('audio', { direction: 'recvonly' })
      .onTrack.subscribe((track) =>
        track.onReceiveRtp.subscribe((p: RtpPacket) => this.#count(p.header.ssrc, p.header.sequenceNumber)),
      );
    this.pc
      .addTransceiver('video', { direction: 'recvonly' })
      .onTrack.subscribe((track) =>
        track.onReceiveRtp.subscribe((p: RtpPacket) => this.#count(p.header.ssrc, p.header.sequenceNumber)),
      );
    for (const transport of this.pc.iceTransports) transport.connection.stunServer = undefined;
    await this.pc.setLocalDescription(await this.pc.createOffer());
    this.#enlargeReceiveBuffers();
    return this.pc.localDescription!.sdp;
  }

  async answer(sdp: string): Promise<void> {
    this.answeredAt = performance.now();
    await this.pc.setRemoteDescription({ type: 'answer', sdp });
  }

  /** The server offered (Janus): the answer, with this receiver's candidates in it. */
  async answerOffer(sdp: string): Promise<string> {
    this.pc.onTrack.subscribe((track) =>
      track.onReceiveRtp.subscribe((p: RtpPacket) => this.#count(p.header.ssrc, p.header.sequenceNumber)),
    );
    await this.pc.setRemoteDescription({ type: 'offer', sdp });
    for (const transport of this.pc.iceTransports) transport.connection.stunServer = undefined;
    await this.pc.setLocalDescription(await this.pc.createAnswer());
    this.#enlargeReceiveBuffers();
    this.answeredAt = performance.now();
    return this.pc.localDescription!.sdp;
  }

  #enlargeReceiveBuffers(): void {
    for (const transport of this.pc.iceTransports) {
      const { protocols } = transport.connection as unknown as { protocols: { transport?: { socket?: Socket } }[] };
      for (const protocol of protocols) protocol.transport?.socket?.setRecvBufferSize(RECEIVE_BUFFER_BYTES);
    }
  }

  /** From now on, SRTP packets are counted from their clear header and dropped undecrypted. */
  #countClear(): void {
    for (const dtls of this.pc.dtlsTransports) {
      const srtp = (dtls as unknown as { srtp?: { decrypt: (data: Buffer) => Buffer } }).srtp;
      if (!srtp) continue;
      srtp.decrypt = (data: Buffer) => {
        if (data.length >= 12) this.#count(data.readUInt32BE(8), data.readUInt16BE(2));
        throw COUNTED;
      };
    }
  }

  counts(): { received: number; expected: number } {
    let received = 0;
    let expected = 0;
    for (const s of this.streams.values()) {
      received += s.received;
      expected += s.cycles * 65536 + s.highest - s.first + 1;
    }
    return { received, expected };
  }

  #count(ssrc: number, sequenceNumber: number): void {
    if (!this.firstPacketAt) {
      this.firstPacketAt = performance.now();
      const since = (at: number) => (at ? at - this.answeredAt : NaN);
      this.onFirst({ iceMs: since(this.#iceAt), dtlsMs: since(this.#dtlsAt), ms: since(this.firstPacketAt) });
    }
    const s = this.streams.get(ssrc);
    if (!s)
      return void this.streams.set(ssrc, { first: sequenceNumber, highest: sequenceNumber, cycles: 0, received: 1 });
    s.received += 1;
    const delta = (sequenceNumber - s.highest) & 0xffff;
    if (delta > 0 && delta < 0x8000) {
      if (sequenceNumber < s.highest) s.cycles += 1;
      s.highest = sequenceNumber;
    }
  }
}

const receivers = new Map<number, Receiver>();
const send = (message: ReceiverMessage) => process.connected && process.send?.(message);

process.on('message', (request: ReceiverRequest) => {
  switch (request.t) {
    case 'offer': {
      const receiver = new Receiver((phases) => send({ t: 'first', id: request.id, ...phases }));
      receivers.set(request.id, receiver);
      void receiver.offer().then((sdp) => send({ t: 'offer', id: request.id, sdp }));
      return;
    }
    case 'answerOffer': {
      const receiver = new Receiver((phases) => send({ t: 'first', id: request.id, ...phases }));
      receivers.set(request.id, receiver);
      receiver.answerOffer(request.sdp).then(
        (sdp) => send({ t: 'answer', id: request.id, sdp }),
        (error: unknown) => send({ t: 'failed', id: request.id, error: String(error) }),
      );
      return;
    }
    case 'answer':
      void receivers
        .get(request.id)
        ?.answer(request.sdp)
        .catch(() => undefined);
      return;
    case 'candidate':
      void receivers
        .get(request.id)
        ?.pc.addIceCandidate(request.candidate)
        .catch(() => undefined);
      return;
    case 'counts': {
      const counts: Record<number, { received: number; expected: number }> = {};
      for (const [id, receiver] of receivers) counts[id] = receiver.counts();
      send({ t: 'counts', seq: request.seq, counts });
      return;
    }
    case 'close': {
      const receiver = receivers.get(request.id);
      receivers.delete(request.id);
      void receiver?.pc.close().catch(() => undefined);
      return;
    }
  }
});
process.on('disconnect', () => process.exit(0));
// The bench ends a generator with SIGTERM: exit as on a disconnect, so that --cpu-prof (BENCH_GENERATOR_ARGS) writes.
process.on('SIGTERM', () => process.exit(0));
process.on('unhandledRejection', () => undefined);
