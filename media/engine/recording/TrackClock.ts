/**
 * How far RTP time may run ahead of arrival times (no network explains that), or fall behind them (a stalled
 * event loop or a congested path can, briefly), before the stream counts as having jumped.
 */
const JUMP_AHEAD_MS = 1000;
const JUMP_BEHIND_MS = 5000;

/**
 * Puts one RTP stream on the recorder's wall-clock timeline. RTP timestamps are extended across 32-bit wraps;
 * the offset from RTP time to wall time is the smallest transit seen (arrival minus RTP time) until the stream's
 * first frame is written, then fixed, so that audio and video keep the spacing their own clocks give them.
 * A timestamp that jumps away from the arrival times re-anchors the stream where it arrives.
 */
export class TrackClock {
  readonly #clockRate: number;
  #highest: number | undefined;
  #offsetMs: number | undefined;
  #fixed = false;

  constructor(clockRate: number) {
    this.#clockRate = clockRate;
  }

  /** Whether this packet's timestamp jumped away from the arrival times (a new or restarted stream). */
  jumped(rtpTimestamp: number, arrivalMs: number): boolean {
    if (this.#offsetMs === undefined) return false;
    const transit = arrivalMs - this.#mediaMs(this.#extend(rtpTimestamp, false));
    return transit < this.#offsetMs - JUMP_AHEAD_MS || transit > this.#offsetMs + JUMP_BEHIND_MS;
  }

  /** Note a packet's RTP timestamp and arrival time (after `jumped()` was handled). */
  observe(rtpTimestamp: number, arrivalMs: number): void {
    const transit = arrivalMs - this.#mediaMs(this.#extend(rtpTimestamp, true));
    if (this.#offsetMs === undefined || (!this.#fixed && transit < this.#offsetMs)) this.#offsetMs = transit;
  }

  /** Wall-clock time (ms) of an RTP timestamp near the ones observed. */
  wallMs(rtpTimestamp: number): number {
    return this.#mediaMs(this.#extend(rtpTimestamp, false)) + (this.#offsetMs ?? 0);
  }

  /** Stop refining the offset: frames of this stream are in the file now. */
  fix(): void {
    this.#fixed = true;
  }

  /** Forget the stream's timestamps: the next packet anchors it afresh. */
  reset(): void {
    this.#highest = undefined;
    this.#offsetMs = undefined;
    this.#fixed = false;
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
