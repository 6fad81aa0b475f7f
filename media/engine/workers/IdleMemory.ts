/**
 * Gives a media worker's memory back to the system once its last pipeline is gone. Under media load V8 grows the
 * young generation (many packets live a little while: jitter, NACK and RTX caches), up to 128 MB, and keeps it and
 * the pages it freed for itself: an idle worker that carried a live kept its peak RSS for good (bench:soak, about
 * +150 MB on the worker that held the live). A last-resort collection (every weak callback, compaction, the page
 * pool released) a few seconds after the worker became idle returns it.
 *
 * That collection blocks the worker for a while (about 0.1 s on a quiet machine, seconds under heavy load), so
 * the server is told first (`notify(true)`) and answers for it meanwhile (WorkerHost: its last stats, so the
 * engine's heartbeat does not wait on it), then `notify(false)`.
 *
 * Needs `--expose-gc` (WorkerHost starts workers with it); without it this does nothing.
 */

/** How long the worker must stay without pipelines first (peers finish closing: DTLS, ICE, sockets). */
export const IDLE_RELEASE_MS = 5_000;
/** Time for the server to get the notice before the worker blocks. */
const NOTICE_MS = 50;

/** V8's last-resort collection, when the process runs with --expose-gc. */
const lastResortGc =
  globalThis.gc && (() => globalThis.gc!({ type: 'major', execution: 'sync', flavor: 'last-resort' }));

export class IdleMemory {
  #timer: NodeJS.Timeout | undefined;
  /** Whether the worker carried a pipeline since the last release (an idle worker is not collected again). */
  #used = false;
  #released = 0;

  constructor(
    private readonly pipelines: () => number,
    private readonly notify: (collecting: boolean) => void,
    private readonly delayMs = IDLE_RELEASE_MS,
    private readonly collect: (() => void) | undefined = lastResortGc,
  ) {}

  /** How many times memory was released (stats). */
  get releases(): number {
    return this.#released;
  }

  /** Call after anything that may have removed or added a pipeline. */
  check(): void {
    if (this.pipelines() > 0) {
      this.#used = true;
      return this.cancel();
    }
    if (!this.#used || this.#timer || !this.collect) return;
    this.#timer = setTimeout(() => {
      if (this.pipelines() > 0) return void (this.#timer = undefined);
      this.notify(true);
      this.#timer = setTimeout(() => this.#run(), NOTICE_MS);
      this.#timer.unref();
    }, this.delayMs);
    this.#timer.unref();
  }

  cancel(): void {
    if (!this.#timer) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.notify(false);
  }

  #run(): void {
    this.#timer = undefined;
    this.#used = false;
    this.collect?.();
    this.#released += 1;
    this.notify(false);
  }
}
