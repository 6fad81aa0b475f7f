import type { RtpPacket } from 'werift';

export interface OrderedPacket {
  packet: RtpPacket;
  /** Packets were lost just before this one. */
  gapBefore: boolean;
}

interface Held {
  packet: RtpPacket;
  arrivalMs: number;
}

/** A jump in sequence numbers this large is a restarted stream, not loss. */
const RESTART_JUMP = 3000;

/**
 * Puts one stream's RTP packets back in sequence order (16-bit sequence numbers extended across wraps).
 * A missing packet is waited for until `maxDelayMs` passed since a later one arrived or `maxPackets` are held,
 * then declared lost. Duplicates and packets older than what was already released are dropped.
 */
export class RtpReorderBuffer {
  readonly #maxDelayMs: number;
  readonly #maxPackets: number;
  #held = new Map<number, Held>();
  #highest: number | undefined;
  #next: number | undefined;
  #gap = false;

  constructor(options: { maxDelayMs: number; maxPackets: number }) {
    this.#maxDelayMs = options.maxDelayMs;
    this.#maxPackets = options.maxPackets;
  }

  /** Add a packet; returns the packets now released in order. */
  push(packet: RtpPacket, nowMs: number): OrderedPacket[] {
    const out: OrderedPacket[] = [];
    const seq = this.#extend(packet.header.sequenceNumber);
    if (this.#next === undefined) this.#next = seq;
    if (seq < this.#next || this.#held.has(seq)) return out;
    if (seq - this.#next > RESTART_JUMP) {
      this.#releaseAll(out);
      this.#next = seq;
      this.#gap = true;
    }
    this.#held.set(seq, { packet, arrivalMs: nowMs });
    this.#release(out, nowMs);
    return out;
  }

  /** Release everything held, in order, gaps marked. */
  flush(): OrderedPacket[] {
    const out: OrderedPacket[] = [];
    this.#releaseAll(out);
    return out;
  }

  /** Forget the stream: the next packet starts afresh (after a pause or a new SSRC). */
  reset(): void {
    this.#held.clear();
    this.#highest = undefined;
    this.#next = undefined;
    this.#gap = true;
  }

  #extend(seq: number): number {
    if (this.#highest === undefined) {
      this.#highest = seq;
      return seq;
    }
    const delta = ((seq - (this.#highest & 0xffff)) << 16) >> 16;
    const extended = this.#highest + delta;
    if (extended > this.#highest) this.#highest = extended;
    return extended;
  }

  #release(out: OrderedPacket[], nowMs: number): void {
    for (;;) {
      this.#releaseContiguous(out);
      if (this.#held.size === 0) return;
      const waitedTooLong = this.#oldestArrival() <= nowMs - this.#maxDelayMs;
      if (this.#held.size < this.#maxPackets && !waitedTooLong) return;
      this.#skipToFirstHeld();
    }
  }

  #releaseAll(out: OrderedPacket[]): void {
    while (this.#held.size > 0) {
      this.#releaseContiguous(out);
      if (this.#held.size > 0) this.#skipToFirstHeld();
    }
  }

  #releaseContiguous(out: OrderedPacket[]): void {
    let held = this.#held.get(this.#next!);
    while (held) {
      this.#held.delete(this.#next!);
      out.push({ packet: held.packet, gapBefore: this.#gap });
      this.#gap = false;
      this.#next! += 1;
      held = this.#held.get(this.#next!);
    }
  }

  #skipToFirstHeld(): void {
    let first = Infinity;
    for (const seq of this.#held.keys()) if (seq < first) first = seq;
    this.#next = first;
    this.#gap = true;
  }

  #oldestArrival(): number {
    let oldest = Infinity;
    for (const held of this.#held.values()) if (held.arrivalMs < oldest) oldest = held.arrivalMs;
    return oldest;
  }
}
