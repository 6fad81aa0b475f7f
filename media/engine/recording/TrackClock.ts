import type { SenderReport } from './types.js';

/**
 * How far RTP time may run ahead of arrival times (no network explains that), or fall behind them (a stalled
 * event loop or a congested path can, briefly), before the stream counts as having jumped.
 */
const JUMP_AHEAD_MS = 1000;
const JUMP_BEHIND_MS = 5000;

/**
 * Puts one RTP stream on the recorder's wall-clock timeline. RTP timestamps are extended across 32-bit wraps.
 * Until the stream is aligned by sender reports, the offset from RTP time to wall time is the smallest transit
 * seen (arrival minus RTP time) until the stream's first frame is written, then fixed, so that audio and video keep
 * the spacing their own clocks give them. The recorder aligns it (`align()`) once the sender reports say where the
 * stream's RTP time lies on the sender's clock (`report()`, `captureOffsetMs`). Jumps are always judged against
 * arrival: a timestamp that jumps away from the arrival times re-anchors the stream where it arrives.
 */
export class TrackClock {
  readonly #clockRate: number;
  #highest: number | undefined;
  #transitMs: number | undefined;
  #fixed = false;
  /** Sender NTP time (ms) minus RTP media time (ms), from the latest sender report. */
  #captureMs: number | undefined;
  /** The offset set by `align()`, which then replaces the arrival-based one. */
  #alignedMs: number | undefined;

  constructor(clockRate: number) {
    this.#clockRate = clockRate;
  }

  /** Whether this packet's timestamp jumped away from the arrival times (a new or restarted stream). */
  jumped(rtpTimestamp: number, arrivalMs: number): boolean {
    if (this.#transitMs === undefined) return false;
    const transit = arrivalMs - this.#mediaMs(this.#extend(rtpTimestamp, false));
    return transit < this.#transitMs - JUMP_AHEAD_MS || transit > this.#transitMs + JUMP_BEHIND_MS;
  }

  /** Note a packet's RTP timestamp and arrival time (after `jumped()` was handled). */
  observe(rtpTimestamp: number, arrivalMs: number): void {
    const transit = arrivalMs - this.#mediaMs(this.#extend(rtpTimestamp, true));
    if (this.#transitMs === undefined || (!this.#fixed && transit < this.#transitMs)) this.#transitMs = transit;
  }

  /** Note a sender report of this stream: where its RTP time lies on the sender's wall clock. */
  report(report: SenderReport): void {
    this.#captureMs = report.ntpMs - this.#mediaMs(this.#extend(report.rtpTimestamp, false));
  }

  /** Sender NTP time minus RTP media time (ms), once a sender report came; undefined before. */
  get captureOffsetMs(): number | undefined {
    return this.#captureMs;
  }

  /** The offset from RTP media time to the timeline now in use (ms), once a packet was observed. */
  get offsetMs(): number | undefined {
    return this.#alignedMs ?? this.#transitMs;
  }

  /** The offset its packets' arrival gives (the smallest transit), once a packet was observed. */
  get arrivalOffsetMs(): number | undefined {
    return this.#transitMs;
  }

  /** Whether `align()` placed the stream (rather than its arrival times). */
  get aligned(): boolean {
    return this.#alignedMs !== undefined;
  }

  /** Place the stream by its sender reports: RTP media time + `offsetMs` on the timeline from now on. */
  align(offsetMs: number): void {
    this.#alignedMs = offsetMs;
  }

  /** Wall-clock time (ms) of an RTP timestamp near the ones observed. */
  wallMs(rtpTimestamp: number): number {
    return this.#mediaMs(this.#extend(rtpTimestamp, false)) + (this.offsetMs ?? 0);
  }

  /** Stop refining the arrival-based offset: frames of this stream are in the file now. */
  fix(): void {
    this.#fixed = true;
  }

  /** Forget the stream's timestamps and reports: the next packet anchors it afresh. */
  reset(): void {
    this.#highest = undefined;
    this.#transitMs = undefined;
    this.#fixed = false;
    this.#captureMs = undefined;
    this.#alignedMs = undefined;
  }

  #extend(timestamp: number, advance: boolean): number {
    if (this.#highest === undefined) {
      if (advance) this.#highest = timestamp;
      return timestamp;
    }
    const extended = this.#highest + ((timestamp - (this.#highest % 2 ** 32)) | 0);
    if (advance && extended > this.#highest) this.#highest = extended;
    return extended;
  }

  #mediaMs(extended: number): number {
    return (extended * 1000) / this.#clockRate;
  }
}
