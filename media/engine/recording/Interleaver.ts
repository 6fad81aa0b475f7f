import type { MediaKind } from './types.js';

export interface TimelineFrame {
  kind: MediaKind;
  /** Position on the recorder's wall-clock timeline (ms). */
  wallMs: number;
  data: Uint8Array;
  keyframe: boolean;
  durationMs?: number;
  /** When the frame was complete (ms, recorder clock). */
  readyMs: number;
  /** Its RTP timestamp, to place it again while its track's offset still moves. */
  rtpTimestamp?: number;
}

/** A track whose frames come later than the others' for the same position holds them back at most this much more. */
const MAX_LAG_HOLD_MS = 3000;

/**
 * Orders the frames of several tracks by timeline position before they are written. A frame leaves once every
 * other track has reached its position, or once it has waited `holdMs` (a silent or stalled track never holds the
 * others back for longer) plus how much later than its own the other tracks' frames become ready for the same
 * position (a track placed earlier than it arrives, by sender reports, up to MAX_LAG_HOLD_MS).
 * A track can be unsettled: its place on the timeline may still move (`settle()` moves its queued frames). Nothing
 * leaves past an unsettled track's frame until it settles or has waited `settleMs`.
 */
export class Interleaver {
  readonly #kinds: readonly MediaKind[];
  readonly #holdMs: number;
  #queue: TimelineFrame[] = [];
  #reached = new Map<MediaKind, number>();
  /** Per kind: how long after its timeline position its latest frame was ready (ms). */
  #lag = new Map<MediaKind, number>();

  readonly #settleMs: number;
  readonly #unsettled = new Set<MediaKind>();

  constructor(kinds: readonly MediaKind[], holdMs: number, settleMs = 0) {
    this.#kinds = kinds;
    this.#holdMs = holdMs;
    this.#settleMs = settleMs;
  }

  /** `kind`'s place on the timeline may still move: hold its frames (up to `settleMs`). */
  unsettle(kind: MediaKind): void {
    if (this.#settleMs > 0) this.#unsettled.add(kind);
  }

  /** `kind`'s place is known: its queued frames move by `shiftMs` and may leave. */
  settle(kind: MediaKind, shiftMs: number): void {
    this.#unsettled.delete(kind);
    if (shiftMs === 0) return;
    for (const frame of this.#queue) if (frame.kind === kind) frame.wallMs += shiftMs;
    const reached = this.#reached.get(kind);
    if (reached !== undefined) this.#reached.set(kind, reached + shiftMs);
    const lag = this.#lag.get(kind);
    if (lag !== undefined) this.#lag.set(kind, lag - shiftMs);
    this.#queue.sort((a, b) => a.wallMs - b.wallMs);
  }

  push(frame: TimelineFrame, nowMs: number): TimelineFrame[] {
    this.#reached.set(frame.kind, Math.max(this.#reached.get(frame.kind) ?? -Infinity, frame.wallMs));
    this.#lag.set(frame.kind, frame.readyMs - frame.wallMs);
    let index = this.#queue.length;
    while (index > 0 && this.#queue[index - 1]!.wallMs > frame.wallMs) index--;
    this.#queue.splice(index, 0, frame);
    return this.#release(nowMs);
  }

  /** Everything queued, in order. */
  flush(): TimelineFrame[] {
    const out = this.#queue;
    this.#queue = [];
    return out;
  }

  /** Place the queued frames of `kind` again (their track's offset moved before any was written). */
  place(kind: MediaKind, wallMsOf: (frame: TimelineFrame) => number): void {
    let reached: number | undefined;
    for (const frame of this.#queue) {
      if (frame.kind !== kind) continue;
      frame.wallMs = wallMsOf(frame);
      reached = Math.max(reached ?? -Infinity, frame.wallMs);
    }
    if (reached === undefined) return;
    this.#reached.set(kind, reached);
    this.#queue.sort((a, b) => a.wallMs - b.wallMs);
  }

  /** The position of the first queued frame at or after `wallMs`, if any. */
  firstFrom(wallMs: number): number | undefined {
    return this.#queue.find((frame) => frame.wallMs >= wallMs)?.wallMs;
  }

  /** Drop every queued frame positioned before `wallMs`. */
  dropBefore(wallMs: number): void {
    this.#queue = this.#queue.filter((frame) => frame.wallMs >= wallMs);
  }

  /** Keep only the last `keepMs` of queued frames (while nothing may be written yet). */
  trim(keepMs: number): void {
    const last = this.#queue.at(-1);
    if (last) this.dropBefore(last.wallMs - keepMs);
  }

  #release(nowMs: number): TimelineFrame[] {
    const out: TimelineFrame[] = [];
    while (this.#queue.length > 0) {
      const head = this.#queue[0]!;
      if (this.#unsettled.has(head.kind) && nowMs < head.readyMs + this.#settleMs) break;
      const othersReached = this.#kinds.every(
        (kind) => kind === head.kind || (this.#reached.get(kind) ?? -Infinity) >= head.wallMs,
      );
      if (!othersReached && nowMs < this.#deadline(head)) break;
      out.push(this.#queue.shift()!);
    }
    return out;
  }

  /** When `frame` leaves even though another track has not reached it. */
  #deadline(frame: TimelineFrame): number {
    let otherLag = -Infinity;
    for (const [kind, lag] of this.#lag) if (kind !== frame.kind) otherLag = Math.max(otherLag, lag);
    const othersReady = Math.min(frame.wallMs + otherLag, frame.readyMs + MAX_LAG_HOLD_MS);
    return Math.max(frame.readyMs, othersReady) + this.#holdMs;
  }
}
