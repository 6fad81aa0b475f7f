/**
 * Keyframe requests (PLI) to the remote sender of an endpoint, at most one per interval: a request inside the window
 * is sent at its end, not lost, and one made while the remote cannot be asked yet waits until it can.
 */
export class KeyframeRequests {
  #lastAt = 0;
  #timer: NodeJS.Timeout | undefined;
  #wanted = false;

  constructor(
    private readonly send: () => void,
    private readonly intervalMs: number,
  ) {}

  /** A request is waiting: the remote could not be asked yet, or the window is not over. */
  get wanted(): boolean {
    return this.#wanted;
  }

  /** A request is due at the end of the current window. */
  get scheduled(): boolean {
    return this.#timer !== undefined;
  }

  /** Asks for a keyframe; with `canSend` false the request waits for the next call that can. */
  request(canSend: boolean): void {
    this.#wanted = true;
    if (!canSend || this.#timer) return;
    const wait = this.#lastAt + this.intervalMs - Date.now();
    if (wait <= 0) return this.#send();
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#wanted) this.#send();
    }, wait);
  }

  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #send(): void {
    this.#wanted = false;
    this.#lastAt = Date.now();
    this.send();
  }
}
