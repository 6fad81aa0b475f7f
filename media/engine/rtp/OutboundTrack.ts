/**
 * One sink's outgoing stream of one kind: the per-viewer hot path of the fan-out.
 *
 * Forwarded packets are rewritten into this stream's own sequence and timestamp space, continuous
 * when the source changes (another presenter, a player). A packet shared by several sinks is never
 * modified. Once DTLS is up with AEAD_AES_128_GCM over a plain UDP pair (what browsers negotiate),
 * the stream encrypts and sends by itself: one buffer (12-byte header, GCM-encrypted payload, tag),
 * one UDP send, no per-packet objects from werift's generic sender. With the engine's native addon
 * (media/engine/native) the seal and the send are one call on the socket's descriptor; without it, node:crypto and
 * dgram do the same. It keeps the encrypted packets for NACK retransmission and sends its own sender reports.
 * Anything else (AES-CM, TURN) goes through werift's sender.
 *
 * A viewer that cannot keep up never queues without bound: when its socket has more than
 * MAX_QUEUED_BYTES waiting in libuv (or MAX_PENDING_SENDS on werift's path),
 * packets are shed; video then skips to the next keyframe (asked for through onCongested). Shed
 * packets take no sequence number, so the receiver sees no gap to NACK, only a jump to a keyframe.
 */
import { createCipheriv, createSecretKey, type KeyObject } from 'node:crypto';
import type { Socket } from 'node:dgram';
import { RtcpSenderInfo, RtcpSrPacket, RtpHeader, RtpPacket, type RTCRtpSender } from 'werift';
import { nativeSrtp, udpFd, type GcmContext, type NativeSrtp } from '../native/index.js';
import { isKeyframeStart } from './GopCache.js';
import type { CodecName } from './MediaTypes.js';

/** Timestamp gap inserted at a source change when the old source's pace is unknown. */
const SWITCH_GAP_MS = 20;
/** Sent video packets kept for retransmission (a power of two; ~2 s of video). Audio is not retransmitted. */
const VIDEO_HISTORY = 128;
/**
 * One packet is sent again at most this often, however many NACKs ask for it: receivers that repeat a NACK every
 * few milliseconds (werift's asks every 5 ms, up to 11 times) would otherwise multiply a loss's traffic by ten,
 * just when the link is losing packets (libwebrtc likewise resends a packet at most once per round trip).
 */
const RESEND_MIN_INTERVAL_MS = 20;
const GCM_PROFILE = 0x0007;
const EMPTY = Buffer.alloc(0);
const NTP_EPOCH_OFFSET_S = 2_208_988_800;
/** Bytes a viewer's socket may have waiting in libuv (not yet taken by the kernel) before its track sheds packets. */
const MAX_QUEUED_BYTES = 256 * 1024;
/** Sends werift's sender may have in flight for one track before it sheds packets. */
const MAX_PENDING_SENDS = 256;
/** A congested track asks for a keyframe at most this often (many slow viewers must not flood the presenter). */
const CONGESTED_KEYFRAME_INTERVAL_MS = 1000;

/** What the fast path needs from werift once DTLS is connected; undefined when it does not apply. */
interface FastPath {
  key: KeyObject;
  /** The key schedule in the native addon, when it is used. */
  gcm: GcmContext | undefined;
  salt: Buffer;
  ice: IceConnectionLike;
  sendRtcp: (packets: RtcpSrPacket[]) => Promise<void>;
}

interface IceConnectionLike {
  nominated?: { remoteAddr: [string, number]; protocol: { transport?: { socket?: SocketLike; type?: string } } };
  canSendApplicationData?: () => boolean;
}

/** The parts of a dgram socket the fast path uses (getSendQueue*: what libuv holds back, not yet sent). */
type SocketLike = Pick<Socket, 'send'> & Partial<Pick<Socket, 'getSendQueueSize'>>;

/** Where the native path sends a stream's packets: the nominated pair it was made for, and its sockaddr. */
interface NativeTarget {
  pair: NonNullable<IceConnectionLike['nominated']>;
  address: Buffer | null;
}

export class OutboundTrack {
  #sourceSsrc: number | undefined;
  #seqOffset = 0;
  #tsOffset = 0;
  #lastSeq = -1;
  #lastTs = 0;
  #lastSentAt = 0;
  #roc = 0;
  #fast: FastPath | null | undefined;
  /** RFC 7714 IV: salt XOR (0x0000 | SSRC | ROC | SEQ); all but SEQ set when the ROC changes. */
  readonly #iv = Buffer.alloc(12);
  #ivRoc = -1;
  /** The RTP header of the packet being sent (the GCM additional data). */
  readonly #aad = Buffer.alloc(12);
  #payloadType = 0;
  /** Encrypted packets by sequence number (ring), for retransmission; empty for audio. */
  readonly #historySeq: Int32Array;
  readonly #history: (Buffer | undefined)[];
  /** When each kept packet was last sent again (Date.now()), -Infinity for never. */
  readonly #resentAt: Float64Array;
  packets = 0;
  octets = 0;
  /** Packets shed because this viewer could not keep up. */
  shed = 0;
  /** Video is shed until the next keyframe (after an overload). */
  #skipping = false;
  /** Sends handed to werift's sender and not finished yet. */
  #pending = 0;
  #congestedAt = -Infinity;
  #target: NativeTarget | undefined;
  /** Packets handed to dgram on the native path and not sent yet. */
  #viaDgram = 0;
  /**
   * The native path's first packets, held until the next turn of the event loop. werift's last DTLS flight (its
   * Finished) is still on its way through dgram (a lookup on the next tick) when the connection reports itself
   * connected; a packet sent directly then would reach the peer before it has its SRTP keys, and be dropped (a new
   * viewer's cached GOP, all of it). By then the flight has reached the kernel, or waits in libuv's queue, which
   * #direct sees.
   */
  #held: Buffer[] | undefined;
  /** Called when this track starts skipping to a keyframe: ask the source for one. */
  onCongested: (() => void) | undefined;

  /** `native`: the addon to seal and send with (the engine's, if built), or null for node:crypto and dgram. */
  constructor(
    readonly sender: RTCRtpSender,
    private readonly clockRate: number,
    private readonly codec?: CodecName,
    private readonly native: NativeSrtp | null = nativeSrtp,
  ) {
    const size = sender.kind === 'video' ? VIDEO_HISTORY : 0;
    this.#historySeq = new Int32Array(size).fill(-1);
    this.#history = new Array<Buffer | undefined>(size);
    this.#resentAt = new Float64Array(size).fill(-Infinity);
  }

  /** Forwards one packet (`now`: Date.now()); returns false if it was not sent (transport not ready, padding only). */
  send(packet: RtpPacket, now: number): boolean {
    const payload = packet.payload;
    if (payload.length === 0) return false;
    const header = packet.header;
    if (header.ssrc !== this.#sourceSsrc) this.#rebase(header, now);
    if (this.#mustShed(payload, now)) {
      // The shed packet takes no number: the next one sent continues from the last one sent.
      this.#seqOffset = (this.#seqOffset - 1) & 0xffff;
      this.shed += 1;
      return false;
    }
    const seq = (header.sequenceNumber + this.#seqOffset) & 0xffff;
    const timestamp = (header.timestamp + this.#tsOffset) >>> 0;
    if (seq < this.#lastSeq && this.#lastSeq - seq > 0x8000) this.#roc = (this.#roc + 1) >>> 0;
    this.#lastSeq = seq;
    this.#lastTs = timestamp;
    this.#lastSentAt = now;
    this.packets += 1;
    this.octets += payload.length;
    const fast = this.#fastPath();
    if (fast) return this.#sendFast(fast, seq, timestamp, header.marker, payload);
    const out = new RtpHeader({
      payloadType: header.payloadType,
      sequenceNumber: seq,
      timestamp,
      ssrc: header.ssrc,
      marker: header.marker,
    });
    this.#pending += 1;
    this.sender
      .sendRtp(new RtpPacket(out, payload))
      .catch(() => undefined)
      .finally(() => (this.#pending -= 1));
    return true;
  }

  /** Whether to shed this packet: the viewer's queue is over its bound, or video is skipping to a keyframe. */
  #mustShed(payload: Buffer, now: number): boolean {
    if (this.#congested()) {
      if (this.sender.kind === 'video' && (!this.#skipping || this.#isKeyframe(payload))) {
        this.#skipping = true;
        if (now - this.#congestedAt >= CONGESTED_KEYFRAME_INTERVAL_MS) {
          this.#congestedAt = now;
          this.onCongested?.();
        }
      }
      return true;
    }
    if (!this.#skipping) return false;
    if (this.#isKeyframe(payload)) {
      this.#skipping = false;
      return false;
    }
    return true;
  }

  /**
   * Whether a video payload starts a keyframe. A method, not a closure made for each packet: this runs for every
   * packet and viewer, and under tsx each closure made is also named (esbuild's keepNames), about 1 % of a busy worker.
   */
  #isKeyframe(payload: Buffer): boolean {
    return this.sender.kind === 'video' && this.codec !== undefined && isKeyframeStart(this.codec, payload);
  }

  #congested(): boolean {
    if (this.#pending > MAX_PENDING_SENDS) return true;
    const socket = this.#fast?.ice.nominated?.protocol.transport?.socket;
    if (!socket) return false;
    return (socket.getSendQueueSize?.() ?? 0) > MAX_QUEUED_BYTES;
  }

  /** Resends packets a receiver reported lost (fast path only; werift's sender handles its own). */
  retransmit(lost: readonly number[], now = Date.now()): void {
    const fast = this.#fast;
    if (!fast) return;
    if (this.#history.length === 0 || this.#congested()) return;
    for (const seq of lost) {
      const slot = seq & (this.#history.length - 1);
      const sent = this.#history[slot];
      if (!sent || this.#historySeq[slot] !== seq || now - this.#resentAt[slot]! < RESEND_MIN_INTERVAL_MS) continue;
      this.#resentAt[slot] = now;
      this.#transmit(fast, sent);
    }
  }

  /** Sends an RTCP sender report mapping now to this stream's RTP clock (fast path; called about once a second). */
  report(now: number): void {
    const fast = this.#fast;
    if (!fast || this.#lastSeq < 0) return;
    const rtpTimestamp = (this.#lastTs + Math.round(((now - this.#lastSentAt) * this.clockRate) / 1000)) >>> 0;
    const sr = new RtcpSrPacket({
      ssrc: this.sender.ssrc,
      senderInfo: new RtcpSenderInfo({
        ntpTimestamp: ntpTimestamp(now),
        rtpTimestamp,
        packetCount: this.packets >>> 0,
        octetCount: this.octets >>> 0,
      }),
    });
    fast.sendRtcp([sr]).catch(() => undefined);
  }

  #sendFast(fast: FastPath, seq: number, timestamp: number, marker: boolean, payload: Buffer): boolean {
    const size = payload.length;
    // The header's version, payload type and SSRC, and the IV's salt ^ (SSRC | ROC), are set once (#prepareFast).
    const header = this.#aad;
    header[1] = (marker ? 0x80 : 0) | this.#payloadType;
    header[2] = seq >>> 8;
    header[3] = seq & 0xff;
    header[4] = timestamp >>> 24;
    header[5] = (timestamp >>> 16) & 0xff;
    header[6] = (timestamp >>> 8) & 0xff;
    header[7] = timestamp & 0xff;
    if (this.#roc !== this.#ivRoc) this.#prepareIv(fast);
    const iv = this.#iv;
    iv[10] = fast.salt[10]! ^ (seq >>> 8);
    iv[11] = fast.salt[11]! ^ (seq & 0xff);
    if (fast.gcm) return this.#sealNative(fast, fast.gcm, seq, payload);
    const cipher = createCipheriv('aes-128-gcm', fast.key, iv);
    cipher.setAAD(header);
    const encrypted = cipher.update(payload);
    cipher.final();
    const out = Buffer.allocUnsafe(12 + size + 16);
    header.copy(out, 0);
    encrypted.copy(out, 12);
    cipher.getAuthTag().copy(out, 12 + size);
    this.#keep(seq, out);
    return this.#transmit(fast, out);
  }

  /**
   * The native path: sealed and sent in one call (see #direct); a send the kernel refuses (one that would block, say)
   * goes to dgram as on the other path.
   */
  #sealNative(fast: FastPath, gcm: GcmContext, seq: number, payload: Buffer): boolean {
    const native = this.native!;
    const out = Buffer.allocUnsafe(12 + payload.length + 16);
    const target = this.#held ? undefined : this.#direct(fast);
    const sent = native.sealTo(gcm, target?.fd ?? -1, target?.address ?? EMPTY, this.#aad, this.#iv, payload, out);
    this.#keep(seq, out);
    return (target !== undefined && sent >= 0) || this.#transmit(fast, out, false);
  }

  /**
   * Where the native path may send straight to the kernel: the socket is open, ICE lets media through, and nothing
   * of this stream is waiting in dgram or libuv (packets stay in order).
   */
  #direct(fast: FastPath): { fd: number; address: Buffer } | undefined {
    const pair = fast.ice.nominated;
    const socket = pair?.protocol.transport?.socket as Socket | undefined;
    if (!pair || !socket || this.#viaDgram > 0 || fast.ice.canSendApplicationData?.() === false) return undefined;
    if ((socket.getSendQueueSize?.() ?? 0) > 0) return undefined;
    const fd = udpFd(socket);
    if (fd === undefined) return undefined;
    if (this.#target?.pair !== pair)
      this.#target = { pair, address: this.native!.sockaddr(pair.remoteAddr[0], pair.remoteAddr[1]) };
    return this.#target.address ? { fd, address: this.#target.address } : undefined;
  }

  /** Sends the packets held while werift's DTLS flight was on its way. */
  #release(): void {
    const held = this.#held;
    this.#held = undefined;
    const fast = this.#fast;
    if (held && fast) for (const packet of held) this.#transmit(fast, packet);
  }

  /** Keeps a sent video packet for retransmission. */
  #keep(seq: number, packet: Buffer): void {
    if (this.#history.length === 0) return;
    const slot = seq & (this.#history.length - 1);
    this.#history[slot] = packet;
    this.#historySeq[slot] = seq;
    this.#resentAt[slot] = -Infinity;
  }

  /** Sends a sealed packet: straight to the kernel on the native path when it can (`tryDirect`), else through dgram. */
  #transmit(fast: FastPath, packet: Buffer, tryDirect = true): boolean {
    const native = this.native;
    if (this.#held) {
      this.#held.push(packet);
      return true;
    }
    if (native && tryDirect) {
      const target = this.#direct(fast);
      if (target && native.sendTo(target.fd, target.address, packet) >= 0) return true;
    }
    const pair = fast.ice.nominated;
    const socket = pair?.protocol.transport?.socket;
    if (!pair || !socket || fast.ice.canSendApplicationData?.() === false) return false;
    try {
      if (!native) socket.send(packet, pair.remoteAddr[1], pair.remoteAddr[0]);
      else {
        // Counted until dgram is done with it, so that no later packet overtakes it by the direct way.
        this.#viaDgram += 1;
        socket.send(packet, pair.remoteAddr[1], pair.remoteAddr[0], () => (this.#viaDgram -= 1));
      }
      return true;
    } catch {
      // The socket closed under us (the peer connection is going away): one viewer never stops the fan-out.
      if (native) this.#viaDgram -= 1;
      return false;
    }
  }

  /** Decides once, when DTLS is connected, whether this stream can send by itself. */
  #fastPath(): FastPath | null | undefined {
    if (this.#fast !== undefined) return this.#fast;
    const dtls = this.sender.dtlsTransport as unknown as {
      state: string;
      srtp?: { localContext?: { profile?: number; cipher?: { srtpSessionKey?: Buffer; srtpSessionSalt?: Buffer } } };
      iceTransport?: { connection?: IceConnectionLike };
      sendRtcp: (packets: RtcpSrPacket[]) => Promise<void>;
    };
    if (dtls?.state !== 'connected' || !this.sender.codec) return undefined;
    const context = dtls.srtp?.localContext;
    const ice = dtls.iceTransport?.connection;
    const transport = ice?.nominated?.protocol.transport;
    const key = context?.cipher?.srtpSessionKey;
    const salt = context?.cipher?.srtpSessionSalt;
    const usable =
      context?.profile === GCM_PROFILE &&
      key?.length === 16 &&
      salt &&
      salt.length >= 12 &&
      transport?.type === 'udp' &&
      transport.socket;
    this.#fast =
      usable && ice
        ? {
            key: createSecretKey(key),
            gcm: this.native?.gcmContext(key),
            salt: salt.subarray(0, 12),
            ice,
            sendRtcp: (packets) => dtls.sendRtcp(packets),
          }
        : null;
    if (this.#fast?.gcm) {
      this.#held = [];
      setImmediate(() => this.#release());
    }
    if (this.#fast) {
      this.#payloadType = this.sender.codec.payloadType & 0x7f;
      this.#aad[0] = 0x80;
      this.#aad.writeUInt32BE(this.sender.ssrc, 8);
      this.#prepareIv(this.#fast);
    }
    return this.#fast;
  }

  #prepareIv(fast: FastPath): void {
    const iv = this.#iv;
    iv.writeUInt16BE(0, 0);
    iv.writeUInt32BE(this.sender.ssrc, 2);
    iv.writeUInt32BE(this.#roc, 6);
    for (let i = 0; i < 10; i++) iv[i]! ^= fast.salt[i]!;
    this.#ivRoc = this.#roc;
  }

  /** A new source: continue our numbering from where the previous one left off. */
  #rebase(header: RtpHeader, now: number): void {
    this.#sourceSsrc = header.ssrc;
    if (this.#lastSeq < 0) return;
    this.#seqOffset = (this.#lastSeq + 1 - header.sequenceNumber) & 0xffff;
    const elapsedMs = Math.max(now - this.#lastSentAt, SWITCH_GAP_MS);
    const nextTs = (this.#lastTs + Math.round((elapsedMs * this.clockRate) / 1000)) >>> 0;
    this.#tsOffset = (nextTs - header.timestamp) >>> 0;
  }
}

/** A 64-bit NTP timestamp for a wall-clock time in ms. */
function ntpTimestamp(epochMs: number): bigint {
  const seconds = Math.floor(epochMs / 1000);
  const fraction = Math.floor(((epochMs % 1000) / 1000) * 2 ** 32);
  return (BigInt(seconds + NTP_EPOCH_OFFSET_S) << 32n) | BigInt(fraction >>> 0);
}
