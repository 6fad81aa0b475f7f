/**
 * One sink's outgoing stream of one kind. Forwarded packets are rewritten into this stream's own
 * sequence and timestamp space, continuous when the source changes (another presenter, a player),
 * and handed to the werift sender (which sets SSRC and payload type, encrypts, and keeps them for NACK).
 * A packet shared by several sinks is never modified: each sink sends its own header.
 */
import { RtpHeader, RtpPacket, type RTCRtpSender } from 'werift';

/** Timestamp gap inserted at a source change when the old source's pace is unknown. */
const SWITCH_GAP_MS = 20;

export class OutboundTrack {
  #sourceSsrc: number | undefined;
  #seqOffset = 0;
  #tsOffset = 0;
  #lastSeq = -1;
  #lastTs = 0;
  #lastSentAt = 0;
  packets = 0;

  constructor(
    readonly sender: RTCRtpSender,
    private readonly clockRate: number,
  ) {}

  /** Forwards one packet; returns false if it was not sent (transport not ready, padding only). */
  send(packet: RtpPacket, now: number): boolean {
    if (packet.payload.length === 0) return false;
    const header = packet.header;
    if (header.ssrc !== this.#sourceSsrc) this.#rebase(header, now);
    const sequenceNumber = (header.sequenceNumber + this.#seqOffset) & 0xffff;
    const timestamp = (header.timestamp + this.#tsOffset) >>> 0;
    this.#lastSeq = sequenceNumber;
    this.#lastTs = timestamp;
    this.#lastSentAt = now;
    this.packets += 1;
    const out = new RtpHeader({
      payloadType: header.payloadType,
      sequenceNumber,
      timestamp,
      ssrc: header.ssrc,
      marker: header.marker,
    });
    void this.sender.sendRtp(new RtpPacket(out, packet.payload));
    return true;
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
