/**
 * How many DTLS handshakes a media process works on at once; the others wait their turn, first come first served.
 *
 * When many viewers join together, their handshakes share a busy process: interleaved, they all end together, near
 * the time the last one does. Taken a few at a time, the first viewers get media while the others wait, and the
 * median join is about halved; the last one ends no later (bench:fanout, 200 joining at once on 2 workers: first
 * packet p50 about 1.1 s with 8 at a time per worker, 1.2-2.0 s without a limit). A waiting peer retransmits its
 * ClientHello; HelloVerifyGuard keeps the newest and hands it on once the handshake is let in.
 *
 * A handshake holds its place until it ends (connected, failed, closed) or for SLOT_MS at most, so that a peer that
 * went away mid-handshake delays the queue by that much at worst.
 */

/** The longest a handshake keeps its place; a healthy one ends in well under 100 ms on an idle engine. */
const SLOT_MS = 2000;

interface Entry {
  start: () => void;
  timer: NodeJS.Timeout | undefined;
  state: 'waiting' | 'running' | 'done';
}

export class DtlsAdmission {
  readonly #running = new Set<Entry>();
  readonly #waiting: Entry[] = [];

  /** `limit`: handshakes at once; 0 lets every one in at once. */
  constructor(readonly limit: number) {}

  /** Handshakes let in and not ended; handshakes waiting. */
  get running(): number {
    return this.#running.size;
  }
  get waiting(): number {
    return this.#waiting.length;
  }

  /**
   * Asks for a place: `start` runs now if there is one, else once one frees up. Returns the handshake's end, to be
   * called once it is over (or given up on, even while still waiting); calling it again does nothing.
   */
  enter(start: () => void): () => void {
    const entry: Entry = { start, timer: undefined, state: 'waiting' };
    if (this.limit > 0 && this.#running.size >= this.limit) this.#waiting.push(entry);
    else this.#run(entry);
    return () => this.#end(entry);
  }

  /** Ends every handshake's place and forgets the waiting ones (the process is closing). */
  close(): void {
    for (const entry of this.#waiting.splice(0)) entry.state = 'done';
    for (const entry of this.#running) {
      entry.state = 'done';
      clearTimeout(entry.timer);
    }
    this.#running.clear();
  }

  #run(entry: Entry): void {
    entry.state = 'running';
    this.#running.add(entry);
    entry.timer = setTimeout(() => this.#end(entry), SLOT_MS);
    entry.timer.unref();
    entry.start();
  }

  #end(entry: Entry): void {
    if (entry.state === 'done') return;
    if (entry.state === 'waiting') {
      this.#waiting.splice(this.#waiting.indexOf(entry), 1);
      entry.state = 'done';
      return;
    }
    entry.state = 'done';
    clearTimeout(entry.timer);
    this.#running.delete(entry);
    while (this.#waiting.length > 0 && (this.limit === 0 || this.#running.size < this.limit))
      this.#run(this.#waiting.shift()!);
  }
}
