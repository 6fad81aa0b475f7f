/**
 * Gives a media worker's memory back to the system once its last pipeline is gone. Under media load V8 sizes the
 * heap at a multiple of what is live (many packets live a little while: jitter, NACK and RTX caches) and keeps
 * those pages, and the pages it frees, for itself: an idle worker that carried a live kept its peak RSS for good
 * (bench:soak, about +150 MB on the worker that held the live). A last-resort collection (every weak callback,
 * compaction, the page pool released) a few seconds after the worker became idle returns it.
 *
 * Needs `--expose-gc` (WorkerHost starts workers with it); without it this does nothing.
 */

/** How long the worker must stay without pipelines first (peers finish closing: DTLS, ICE, sockets). */
export const IDLE_RELEASE_MS = 5_000;

export class IdleMemory {
  #timer: NodeJS.Timeout | undefined;
  /** Whether the worker carried a pipeline since the last release (an idle worker is not collected again). */
  #used = false;
  #released = 0;

  constructor(
    private readonly pipelines: () => number,
    private readonly delayMs = IDLE_RELEASE_MS,
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
    if (!this.#used || this.#timer || !globalThis.gc) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.pipelines() > 0) return;
      this.#used = false;
      globalThis.gc?.({ type: 'major', execution: 'sync', flavor: 'last-resort' });
      this.#released += 1;
    }, this.delayMs);
    this.#timer.unref();
  }

  cancel(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
