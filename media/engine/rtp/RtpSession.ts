/**
 * One media section of an RtpEndpoint on the wire: an RTP socket on an even port and an RTCP
 * socket on the next one, the remote's addresses, the outgoing stream (rewritten into this
 * session's own SSRC, sequence and timestamp space, kept for NACK retransmission) and the incoming
 * one (gaps in its sequence are NACKed once). RTCP is accepted on either socket (rtcp-mux peers).
 * A `Protection` (SRTP) wraps every datagram; plain RTP uses none.
 */
import { createSocket, type Socket } from 'node:dgram';
import { randomInt } from 'node:crypto';
import {
  GenericNack,
  PictureLossIndication,
  ReceiverEstimatedMaxBitrate,
  RtcpPacketConverter,
  RtcpPayloadSpecificFeedback,
  RtcpRrPacket,
  RtcpSenderInfo,
  RtcpSrPacket,
  RtcpTransportLayerFeedback,
  RtpHeader,
  RtpPacket,
  type RtcpPacket,
} from 'werift';

/** Encrypts and authenticates datagrams (SRTP); `unprotect` returns undefined for a packet that fails. */
export interface Protection {
  protectRtp(packet: Buffer): Buffer;
  unprotectRtp(packet: Buffer): Buffer | undefined;
  protectRtcp(packet: Buffer): Buffer;
  unprotectRtcp(packet: Buffer): Buffer | undefined;
}

export interface RemoteAddress {
  address: string;
  rtpPort: number;
  rtcpAddress: string;
  rtcpPort: number;
}

export interface SessionHandlers {
  rtp(packet: RtpPacket): void;
  rtcp(packets: RtcpPacket[]): void;
  /** The remote said goodbye (RTCP BYE). */
  bye(): void;
  /** A datagram that failed SRTP authentication or could not be parsed. */
  rejected(): void;
}

/** Sent video packets kept for retransmission (a power of two). */
const VIDEO_HISTORY = 512;
/** Timestamp gap inserted at a source change when the old source's pace is unknown. */
const SWITCH_GAP_MS = 20;
/** A sequence gap larger than this is a restart, not loss: nothing is NACKed. */
const MAX_NACK_GAP = 64;
const NTP_EPOCH_OFFSET_S = 2_208_988_800;
const BIND_ATTEMPTS = 50;
const RECEIVE_BUFFER_BYTES = 1024 * 1024;
const RTCP_BYE = 203;

export class RtpSession {
  readonly ssrc = randomInt(1, 0xffffffff);
  /** The payload type and clock rate of what this session sends, set once negotiated. */
  payloadType = 0;
  clockRate = 90_000;
  packetsSent = 0;
  octetsSent = 0;
  packetsReceived = 0;
  bytesReceived = 0;
  /** Datagrams refused: failed SRTP authentication or not parseable. */
  packetsRejected = 0;
  /** Feedback this session sent (for the stream it receives) and received (for the stream it sends). */
  readonly feedbackSent = { pli: 0, nack: 0 };
  readonly feedbackReceived = { pli: 0, fir: 0, nack: 0 };
  /** The SSRC the remote sends from, once a packet arrived. */
  remoteSsrc: number | undefined;
  #remote: RemoteAddress | undefined;
  /** Comedia: the remote's address is learnt from its first datagram (SDP address 0.0.0.0). */
  #learnRemote = false;
  #protection: Protection | undefined;
  #handlers: SessionHandlers | undefined;
  #closed = false;
  // outgoing stream
  #sourceSsrc: number | undefined;
  #seqOffset = 0;
  #tsOffset = 0;
  #lastSeq = -1;
  #lastTs = 0;
  #lastSentAt = 0;
  readonly #history: (Buffer | undefined)[];
  readonly #historySeq: Int32Array;
  // incoming stream
  #highestSeq = -1;

  private constructor(
    readonly kind: 'audio' | 'video',
    private readonly rtpSocket: Socket,
    private readonly rtcpSocket: Socket,
  ) {
    const size = kind === 'video' ? VIDEO_HISTORY : 0;
    this.#history = new Array<Buffer | undefined>(size);
    this.#historySeq = new Int32Array(size).fill(-1);
    rtpSocket.on('message', (msg, rinfo) => this.#onDatagram(msg, rinfo.address, rinfo.port, 'rtp'));
    rtcpSocket.on('message', (msg, rinfo) => this.#onDatagram(msg, rinfo.address, rinfo.port, 'rtcp'));
  }

  /** Binds an RTP/RTCP port pair (RTP even) on `bindAddress`, inside `range` when given. */
  static async open(
    kind: 'audio' | 'video',
    opts: { ipv6: boolean; bindAddress: string; range: [number, number] | undefined },
  ): Promise<RtpSession> {
    const type = opts.ipv6 ? 'udp6' : 'udp4';
    for (let attempt = 0; attempt < BIND_ATTEMPTS; attempt++) {
      const wanted = opts.range ? evenPortIn(opts.range) : 0;
      if (wanted < 0) break;
      const rtp = createSocket({ type, recvBufferSize: RECEIVE_BUFFER_BYTES });
      rtp.on('error', () => undefined);
      if (!(await bind(rtp, wanted, opts.bindAddress))) continue;
      const port = rtp.address().port;
      if (port % 2 !== 0 || port + 1 > (opts.range?.[1] ?? 65535)) {
        rtp.close();
        continue;
      }
      const rtcp = createSocket({ type });
      rtcp.on('error', () => undefined);
      if (await bind(rtcp, port + 1, opts.bindAddress)) return new RtpSession(kind, rtp, rtcp);
      rtp.close();
    }
    throw new Error(`no free RTP port pair${opts.range ? ` in ${opts.range[0]}-${opts.range[1]}` : ''}`);
  }

  get rtpPort(): number {
    return this.rtpSocket.address().port;
  }

  get rtcpPort(): number {
    return this.rtcpSocket.address().port;
  }

  /** Starts delivering what arrives to `handlers`. */
  start(handlers: SessionHandlers, protection: Protection | undefined): void {
    this.#handlers = handlers;
    this.#protection = protection;
  }

  setRemote(remote: RemoteAddress): void {
    this.#learnRemote = isAnyAddress(remote.address);
    this.#remote = remote;
  }

  // ---- sending -----------------------------------------------------------------------------------

  /** Forwards one packet of this session's source (`now`: Date.now()). */
  send(packet: RtpPacket, now: number): void {
    const remote = this.#remote;
    if (!remote || this.#learnRemote || packet.payload.length === 0) return;
    const header = packet.header;
    if (header.ssrc !== this.#sourceSsrc) this.#rebase(header, now);
    const seq = (header.sequenceNumber + this.#seqOffset) & 0xffff;
    const timestamp = (header.timestamp + this.#tsOffset) >>> 0;
    this.#lastSeq = seq;
    this.#lastTs = timestamp;
    this.#lastSentAt = now;
    this.packetsSent += 1;
    this.octetsSent += packet.payload.length;
    const out = new RtpPacket(
      new RtpHeader({
        payloadType: this.payloadType,
        sequenceNumber: seq,
        timestamp,
        ssrc: this.ssrc,
        marker: header.marker,
      }),
      packet.payload,
    ).serialize();
    const wire = this.#protection ? this.#protection.protectRtp(out) : out;
    if (this.#history.length > 0) {
      const slot = seq & (this.#history.length - 1);
      this.#history[slot] = wire;
      this.#historySeq[slot] = seq;
    }
    this.#sendTo(this.rtpSocket, wire, remote.address, remote.rtpPort);
  }

  /** Resends packets the remote reported lost. */
  retransmit(lost: readonly number[]): void {
    const remote = this.#remote;
    if (!remote || this.#history.length === 0) return;
    for (const seq of lost) {
      const slot = seq & (this.#history.length - 1);
      const sent = this.#history[slot];
      if (sent && this.#historySeq[slot] === seq) this.#sendTo(this.rtpSocket, sent, remote.address, remote.rtpPort);
    }
  }

  /** A sender report while sending, a receiver report otherwise (called about once a second). */
  report(now: number): void {
    if (this.#lastSeq >= 0) {
      const rtpTimestamp = (this.#lastTs + Math.round(((now - this.#lastSentAt) * this.clockRate) / 1000)) >>> 0;
      const sr = new RtcpSrPacket({
        ssrc: this.ssrc,
        senderInfo: new RtcpSenderInfo({
          ntpTimestamp: ntpTimestamp(now),
          rtpTimestamp,
          packetCount: this.packetsSent >>> 0,
          octetCount: this.octetsSent >>> 0,
        }),
      });
      this.sendRtcp(sr.serialize());
    } else {
      this.sendRtcp(new RtcpRrPacket({ ssrc: this.ssrc }).serialize());
    }
  }

  /** Asks the remote for a keyframe of the stream it sends. */
  sendPli(): void {
    if (this.remoteSsrc === undefined) return;
    this.feedbackSent.pli += 1;
    const feedback = new PictureLossIndication({ senderSsrc: this.ssrc, mediaSsrc: this.remoteSsrc });
    this.sendRtcp(new RtcpPayloadSpecificFeedback({ feedback }).serialize());
  }

  /** Tells the remote the bitrate it may send this session (REMB). */
  sendRemb(bitrate: number): void {
    if (this.remoteSsrc === undefined) return;
    const brExp = Math.max(0, Math.ceil(Math.log2(bitrate + 1)) - 18);
    const feedback = new ReceiverEstimatedMaxBitrate({
      senderSsrc: this.ssrc,
      mediaSsrc: 0,
      ssrcNum: 1,
      brExp,
      brMantissa: Math.floor(bitrate / 2 ** brExp),
      ssrcFeedbacks: [this.remoteSsrc],
    });
    this.sendRtcp(new RtcpPayloadSpecificFeedback({ feedback }).serialize());
  }

  sendRtcp(packet: Buffer): void {
    const remote = this.#remote;
    if (!remote || this.#learnRemote) return;
    const wire = this.#protection ? this.#protection.protectRtcp(packet) : packet;
    this.#sendTo(this.rtcpSocket, wire, remote.rtcpAddress, remote.rtcpPort);
  }

  // ---- receiving ---------------------------------------------------------------------------------

  #onDatagram(msg: Buffer, address: string, port: number, socket: 'rtp' | 'rtcp'): void {
    const handlers = this.#handlers;
    if (!handlers || this.#closed || msg.length < 8) return;
    const rtcp = msg[1]! >= 192 && msg[1]! <= 223;
    const remote = this.#remote;
    if (this.#learnRemote && remote && socket === 'rtp' && !rtcp) {
      const mux = remote.rtcpPort === remote.rtpPort;
      this.#remote = { address, rtpPort: port, rtcpAddress: address, rtcpPort: mux ? port : port + 1 };
      this.#learnRemote = false;
    }
    try {
      if (rtcp) {
        const plain = this.#protection ? this.#protection.unprotectRtcp(msg) : msg;
        if (!plain) return this.#reject(handlers);
        handlers.rtcp(RtcpPacketConverter.deSerialize(plain));
        if (hasBye(plain)) handlers.bye();
        return;
      }
      const plain = this.#protection ? this.#protection.unprotectRtp(msg) : msg;
      if (!plain) return this.#reject(handlers);
      const packet = RtpPacket.deSerialize(plain);
      this.remoteSsrc = packet.header.ssrc;
      this.packetsReceived += 1;
      this.bytesReceived += packet.payload.length;
      if (this.kind === 'video') this.#detectLoss(packet.header.sequenceNumber);
      handlers.rtp(packet);
    } catch {
      this.#reject(handlers);
    }
  }

  #reject(handlers: SessionHandlers): void {
    this.packetsRejected += 1;
    handlers.rejected();
  }

  /** NACKs the packets skipped between the highest sequence seen and `seq`. */
  #detectLoss(seq: number): void {
    const highest = this.#highestSeq;
    if (highest < 0) {
      this.#highestSeq = seq;
      return;
    }
    const gap = (seq - highest) & 0xffff;
    if (gap === 0 || gap >= 0x8000) return; // a duplicate or a late (retransmitted) packet
    this.#highestSeq = seq;
    if (gap === 1 || gap > MAX_NACK_GAP) return;
    const lost: number[] = [];
    for (let s = highest + 1; s !== seq; s = (s + 1) & 0xffff) lost.push(s & 0xffff);
    this.feedbackSent.nack += 1;
    const feedback = new GenericNack({ senderSsrc: this.ssrc, mediaSourceSsrc: this.remoteSsrc ?? 0, lost });
    this.sendRtcp(new RtcpTransportLayerFeedback({ feedback }).serialize());
  }

  /** A new source: continue our numbering from where the previous one left off. */
  #rebase(header: RtpHeader, now: number): void {
    this.#sourceSsrc = header.ssrc;
    if (this.#lastSeq < 0) {
      this.#seqOffset = (randomInt(0, 0x8000) - header.sequenceNumber) & 0xffff;
      this.#tsOffset = (randomInt(0, 0x7fffffff) - header.timestamp) >>> 0;
      return;
    }
    this.#seqOffset = (this.#lastSeq + 1 - header.sequenceNumber) & 0xffff;
    const elapsedMs = Math.max(now - this.#lastSentAt, SWITCH_GAP_MS);
    const nextTs = (this.#lastTs + Math.round((elapsedMs * this.clockRate) / 1000)) >>> 0;
    this.#tsOffset = (nextTs - header.timestamp) >>> 0;
  }

  #sendTo(socket: Socket, packet: Buffer, address: string, port: number): void {
    if (this.#closed || port === 0) return;
    try {
      socket.send(packet, port, address);
    } catch {
      // a closing socket: the endpoint is going away
    }
  }

  /** Closes both sockets, after a BYE to the remote when `bye`; safe to call more than once. */
  close(bye = false): void {
    if (this.#closed) return;
    const remote = this.#remote;
    const finish = () => {
      this.#closed = true;
      this.#handlers = undefined;
      this.rtpSocket.close();
      this.rtcpSocket.close();
    };
    this.#handlers = undefined;
    if (!bye || !remote || this.#learnRemote) return finish();
    const packet = Buffer.alloc(8);
    packet[0] = 0x81;
    packet[1] = RTCP_BYE;
    packet.writeUInt16BE(1, 2);
    packet.writeUInt32BE(this.ssrc, 4);
    const wire = this.#protection ? this.#protection.protectRtcp(packet) : packet;
    this.#closed = true;
    try {
      // The sockets close once the BYE is out (a send is asynchronous).
      this.rtcpSocket.send(wire, remote.rtcpPort, remote.rtcpAddress, () => finish());
    } catch {
      finish();
    }
  }
}

function hasBye(compound: Buffer): boolean {
  for (let offset = 0; offset + 4 <= compound.length; offset += (compound.readUInt16BE(offset + 2) + 1) * 4) {
    if (compound[offset + 1] === RTCP_BYE) return true;
  }
  return false;
}

function bind(socket: Socket, port: number, address: string): Promise<boolean> {
  return new Promise((resolve) => {
    const onError = () => {
      socket.close();
      resolve(false);
    };
    socket.once('error', onError);
    socket.bind(port, address, () => {
      socket.off('error', onError);
      resolve(true);
    });
  });
}

function evenPortIn([min, max]: [number, number]): number {
  const first = min % 2 === 0 ? min : min + 1;
  if (first + 1 > max) return -1;
  return first + 2 * randomInt(0, Math.floor((max - 1 - first) / 2) + 1);
}

function isAnyAddress(address: string): boolean {
  return address === '0.0.0.0' || address === '::';
}

function ntpTimestamp(epochMs: number): bigint {
  const seconds = Math.floor(epochMs / 1000);
  const fraction = Math.floor(((epochMs % 1000) / 1000) * 2 ** 32);
  return (BigInt(seconds + NTP_EPOCH_OFFSET_S) << 32n) | BigInt(fraction >>> 0);
}
