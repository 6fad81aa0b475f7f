/**
 * SRTP and SRTCP (RFC 3711) with AES counter mode and HMAC-SHA1, the suites SDES negotiates
 * (RFC 4568, RFC 6188): AES-128 or AES-256, 80- or 32-bit tags. As KMS (GStreamer's srtpenc with
 * rtcp-auth = rtp-auth) does, SRTCP uses the same tag length as SRTP. Key derivation rate 0, no MKI.
 * One context per direction; a packet that fails authentication, or an SRTP packet seen already (a replay within
 * a 128-packet window), is dropped (undefined).
 */
import { createCipheriv, createHmac, timingSafeEqual } from 'node:crypto';
import type { Protection } from './RtpSession.js';

export interface SrtpSuite {
  /** The name in an SDP `a=crypto` line. */
  readonly sdpName: string;
  readonly keyBytes: 16 | 32;
  readonly tagBytes: 10 | 4;
}

export const SRTP_SUITES: readonly SrtpSuite[] = [
  { sdpName: 'AES_CM_128_HMAC_SHA1_80', keyBytes: 16, tagBytes: 10 },
  { sdpName: 'AES_CM_128_HMAC_SHA1_32', keyBytes: 16, tagBytes: 4 },
  { sdpName: 'AES_256_CM_HMAC_SHA1_80', keyBytes: 32, tagBytes: 10 },
  { sdpName: 'AES_256_CM_HMAC_SHA1_32', keyBytes: 32, tagBytes: 4 },
];

export const SALT_BYTES = 14;
const AUTH_KEY_BYTES = 20;

/** The session keys of one direction, derived from a master key and salt. */
class SrtpKeys {
  readonly rtpKey: Buffer;
  readonly rtpAuth: Buffer;
  readonly rtpSalt: Buffer;
  readonly rtcpKey: Buffer;
  readonly rtcpAuth: Buffer;
  readonly rtcpSalt: Buffer;

  constructor(
    readonly suite: SrtpSuite,
    masterKey: Buffer,
    masterSalt: Buffer,
  ) {
    const derive = (label: number, length: number) => {
      const iv = Buffer.alloc(16);
      masterSalt.copy(iv, 0, 0, SALT_BYTES);
      iv[7]! ^= label;
      return aesCtr(suite, masterKey, iv, Buffer.alloc(length));
    };
    this.rtpKey = derive(0, suite.keyBytes);
    this.rtpAuth = derive(1, AUTH_KEY_BYTES);
    this.rtpSalt = derive(2, SALT_BYTES);
    this.rtcpKey = derive(3, suite.keyBytes);
    this.rtcpAuth = derive(4, AUTH_KEY_BYTES);
    this.rtcpSalt = derive(5, SALT_BYTES);
  }
}

interface StreamState {
  roc: number;
  highestSeq: number;
  /** Received: the packets seen among the REPLAY_WINDOW below the highest index (bit 0: the highest). */
  seen: bigint;
}

/** Received packets older than this many indexes below the highest, or seen already, are replays (RFC 3711 3.3.2). */
const REPLAY_WINDOW = 128n;
const WINDOW_MASK = (1n << REPLAY_WINDOW) - 1n;

export class SrtpProtection implements Protection {
  readonly #local: SrtpKeys;
  readonly #remote: SrtpKeys;
  readonly #sent = new Map<number, StreamState>();
  readonly #received = new Map<number, StreamState>();
  readonly #rtcpIndex = new Map<number, number>();

  constructor(suite: SrtpSuite, local: { key: Buffer; salt: Buffer }, remote: { key: Buffer; salt: Buffer }) {
    this.#local = new SrtpKeys(suite, local.key, local.salt);
    this.#remote = new SrtpKeys(suite, remote.key, remote.salt);
  }

  protectRtp(packet: Buffer): Buffer {
    const keys = this.#local;
    const ssrc = packet.readUInt32BE(8);
    const seq = packet.readUInt16BE(2);
    let state = this.#sent.get(ssrc);
    if (!state) {
      state = { roc: 0, highestSeq: seq, seen: 0n };
      this.#sent.set(ssrc, state);
    } else if (seq < state.highestSeq && state.highestSeq - seq > 0x8000) {
      state.roc = (state.roc + 1) >>> 0;
      state.highestSeq = seq;
    } else if (seq > state.highestSeq) {
      state.highestSeq = seq;
    }
    const offset = payloadOffset(packet);
    const out = Buffer.allocUnsafe(packet.length + keys.suite.tagBytes);
    packet.copy(out, 0, 0, offset);
    aesCtr(keys.suite, keys.rtpKey, rtpIv(keys.rtpSalt, ssrc, state.roc, seq), packet.subarray(offset)).copy(
      out,
      offset,
    );
    rtpTag(keys, out.subarray(0, packet.length), state.roc).copy(out, packet.length);
    return out;
  }

  unprotectRtp(packet: Buffer): Buffer | undefined {
    const keys = this.#remote;
    const tagBytes = keys.suite.tagBytes;
    if (packet.length < 12 + tagBytes) return undefined;
    const body = packet.subarray(0, packet.length - tagBytes);
    const ssrc = body.readUInt32BE(8);
    const seq = body.readUInt16BE(2);
    const state = this.#received.get(ssrc);
    const roc = state ? estimateRoc(state, seq) : 0;
    if (!timingSafeEqual(rtpTag(keys, body, roc), packet.subarray(body.length))) return undefined;
    if (!state) {
      this.#received.set(ssrc, { roc, highestSeq: seq, seen: 1n });
    } else if (!accept(state, roc, seq)) {
      return undefined;
    }
    const offset = payloadOffset(body);
    const out = Buffer.allocUnsafe(body.length);
    body.copy(out, 0, 0, offset);
    aesCtr(keys.suite, keys.rtpKey, rtpIv(keys.rtpSalt, ssrc, roc, seq), body.subarray(offset)).copy(out, offset);
    return out;
  }

  protectRtcp(packet: Buffer): Buffer {
    const keys = this.#local;
    const ssrc = packet.readUInt32BE(4);
    const index = ((this.#rtcpIndex.get(ssrc) ?? -1) + 1) & 0x7fffffff;
    this.#rtcpIndex.set(ssrc, index);
    const out = Buffer.allocUnsafe(packet.length + 4 + keys.suite.tagBytes);
    packet.copy(out, 0, 0, 8);
    aesCtr(keys.suite, keys.rtcpKey, rtcpIv(keys.rtcpSalt, ssrc, index), packet.subarray(8)).copy(out, 8);
    out.writeUInt32BE((0x80000000 | index) >>> 0, packet.length);
    const signed = out.subarray(0, packet.length + 4);
    hmac(keys.rtcpAuth, signed, keys.suite.tagBytes).copy(out, signed.length);
    return out;
  }

  unprotectRtcp(packet: Buffer): Buffer | undefined {
    const keys = this.#remote;
    const tagBytes = keys.suite.tagBytes;
    if (packet.length < 8 + 4 + tagBytes) return undefined;
    const signed = packet.subarray(0, packet.length - tagBytes);
    if (!timingSafeEqual(hmac(keys.rtcpAuth, signed, tagBytes), packet.subarray(signed.length))) return undefined;
    const word = signed.readUInt32BE(signed.length - 4);
    const body = signed.subarray(0, signed.length - 4);
    if ((word & 0x80000000) === 0) return Buffer.from(body);
    const ssrc = body.readUInt32BE(4);
    const out = Buffer.allocUnsafe(body.length);
    body.copy(out, 0, 0, 8);
    aesCtr(keys.suite, keys.rtcpKey, rtcpIv(keys.rtcpSalt, ssrc, word & 0x7fffffff), body.subarray(8)).copy(out, 8);
    return out;
  }
}

/** Records an authenticated packet's index; false for a replay (seen, or too old to tell). */
function accept(state: StreamState, roc: number, seq: number): boolean {
  const index = BigInt(roc) * 65536n + BigInt(seq);
  const highest = BigInt(state.roc) * 65536n + BigInt(state.highestSeq);
  if (index > highest) {
    state.seen = ((state.seen << (index - highest)) | 1n) & WINDOW_MASK;
    state.roc = roc;
    state.highestSeq = seq;
    return true;
  }
  const back = highest - index;
  if (back >= REPLAY_WINDOW || (state.seen >> back) & 1n) return false;
  state.seen |= 1n << back;
  return true;
}

/** RFC 3711 3.3.1: the rollover counter a received sequence number most likely belongs to. */
function estimateRoc(state: StreamState, seq: number): number {
  const { roc, highestSeq } = state;
  if (highestSeq < 0x8000) return seq - highestSeq > 0x8000 ? Math.max(roc - 1, 0) : roc;
  return highestSeq - 0x8000 > seq ? roc + 1 : roc;
}

/** Where an RTP packet's payload starts (after CSRCs and the header extension). */
function payloadOffset(packet: Buffer): number {
  const csrcs = packet[0]! & 0x0f;
  let offset = 12 + 4 * csrcs;
  if (packet[0]! & 0x10 && packet.length >= offset + 4) offset += 4 + 4 * packet.readUInt16BE(offset + 2);
  return Math.min(offset, packet.length);
}

function rtpIv(salt: Buffer, ssrc: number, roc: number, seq: number): Buffer {
  const iv = Buffer.alloc(16);
  salt.copy(iv, 0, 0, SALT_BYTES);
  iv.writeUInt32BE((iv.readUInt32BE(4) ^ ssrc) >>> 0, 4);
  iv.writeUInt32BE((iv.readUInt32BE(8) ^ roc) >>> 0, 8);
  iv.writeUInt16BE(iv.readUInt16BE(12) ^ seq, 12);
  return iv;
}

function rtcpIv(salt: Buffer, ssrc: number, index: number): Buffer {
  const iv = Buffer.alloc(16);
  salt.copy(iv, 0, 0, SALT_BYTES);
  iv.writeUInt32BE((iv.readUInt32BE(4) ^ ssrc) >>> 0, 4);
  // The 31-bit index sits in bytes 10..13 (index << 16 in the 128-bit IV).
  iv.writeUInt32BE((iv.readUInt32BE(10) ^ index) >>> 0, 10);
  return iv;
}

function rtpTag(keys: SrtpKeys, authenticated: Buffer, roc: number): Buffer {
  const rocBytes = Buffer.alloc(4);
  rocBytes.writeUInt32BE(roc >>> 0, 0);
  return createHmac('sha1', keys.rtpAuth)
    .update(authenticated)
    .update(rocBytes)
    .digest()
    .subarray(0, keys.suite.tagBytes);
}

function hmac(key: Buffer, data: Buffer, bytes: number): Buffer {
  return createHmac('sha1', key).update(data).digest().subarray(0, bytes);
}

function aesCtr(suite: SrtpSuite, key: Buffer, iv: Buffer, data: Buffer): Buffer {
  const cipher = createCipheriv(suite.keyBytes === 16 ? 'aes-128-ctr' : 'aes-256-ctr', key, iv);
  return Buffer.concat([cipher.update(data), cipher.final()]);
}
