import { open, type FileHandle } from 'node:fs/promises';
import { MediaFileError, ioReason } from './errors.js';

/** Contiguous appends are merged into writes of at most about this many bytes. */
const MAX_BATCH = 1 << 20;

interface PendingWrite {
  position: number;
  bytes: Uint8Array;
}

/**
 * One file written in order without blocking the caller: appends and in-place patches are queued and handed to
 * the OS as soon as the previous write finished (contiguous appends coalesced into one write), so that what was
 * appended is on disk within milliseconds even if the process is killed afterwards.
 */
export class FileSink {
  readonly path: string;
  #handle: FileHandle | undefined;
  #queue: PendingWrite[] = [];
  /** Index of the first queued write not taken yet (the array is compacted as it drains). */
  #head = 0;
  #draining: Promise<void> | undefined;
  #size = 0;
  #error: MediaFileError | undefined;
  #closed = false;
  #onError: (error: MediaFileError) => void;

  private constructor(path: string, handle: FileHandle, onError: (error: MediaFileError) => void) {
    this.path = path;
    this.#handle = handle;
    this.#onError = onError;
  }

  /** Create (or truncate) the file at exactly `path`. */
  static async create(path: string, onError: (error: MediaFileError) => void): Promise<FileSink> {
    try {
      return new FileSink(path, await open(path, 'w'), onError);
    } catch (error) {
      throw new MediaFileError(path, `cannot open "${path}" for writing (${ioReason(error)})`, { cause: error });
    }
  }

  /** Bytes appended so far: the position of the next append. */
  get size(): number {
    return this.#size;
  }

  get error(): MediaFileError | undefined {
    return this.#error;
  }

  append(bytes: Uint8Array): number {
    const position = this.#size;
    this.#size += bytes.byteLength;
    this.#enqueue({ position, bytes });
    return position;
  }

  /** Overwrite bytes already appended (a size or an index filled in later). */
  patch(position: number, bytes: Uint8Array): void {
    if (position < 0 || position + bytes.byteLength > this.#size) {
      throw new RangeError(
        `patch [${position}, ${position + bytes.byteLength}) is outside the ${this.#size} bytes written`,
      );
    }
    this.#enqueue({ position, bytes });
  }

  /** Resolves once everything queued so far is written; rejects with the first write error. */
  async flush(): Promise<void> {
    while (this.#draining) await this.#draining;
    if (this.#error) throw this.#error;
  }

  /** Flush, sync and close the file. */
  async close(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.flush();
      await this.#handle?.sync();
    } finally {
      this.#release();
    }
  }

  /** Close without waiting: writes already queued still complete, the handle is released after them. */
  abort(): void {
    if (this.#closed) return;
    this.#closed = true;
    void this.flush()
      .catch(() => undefined)
      .finally(() => this.#release());
  }

  #release(): void {
    this.#closed = true;
    const handle = this.#handle;
    this.#handle = undefined;
    void handle?.close().catch(() => undefined);
  }

  #enqueue(write: PendingWrite): void {
    if (this.#error || !this.#handle) return;
    this.#queue.push(write);
    this.#draining ??= this.#drain();
  }

  async #drain(): Promise<void> {
    try {
      while (this.#head < this.#queue.length && !this.#error && this.#handle) {
        const { position, bytes } = this.#takeBatch();
        let offset = 0;
        while (offset < bytes.byteLength) {
          const { bytesWritten } = await this.#handle.write(
            bytes,
            offset,
            bytes.byteLength - offset,
            position + offset,
          );
          offset += bytesWritten;
        }
      }
    } catch (error) {
      this.#error = new MediaFileError(this.path, `cannot write "${this.path}" (${ioReason(error)})`, { cause: error });
      this.#queue = [];
      this.#head = 0;
      this.#onError(this.#error);
    } finally {
      this.#draining = undefined;
    }
  }

  /** The first queued write, merged with the queued writes that continue it. */
  #takeBatch(): PendingWrite {
    const queue = this.#queue;
    const first = queue[this.#head++]!;
    const parts = [first.bytes];
    let end = first.position + first.bytes.byteLength;
    while (this.#head < queue.length && queue[this.#head]!.position === end && end - first.position < MAX_BATCH) {
      const next = queue[this.#head++]!;
      parts.push(next.bytes);
      end += next.bytes.byteLength;
    }
    if (this.#head === queue.length) {
      this.#queue = [];
      this.#head = 0;
    } else if (this.#head > 1024) {
      this.#queue = queue.slice(this.#head);
      this.#head = 0;
    }
    return parts.length === 1 ? first : { position: first.position, bytes: Buffer.concat(parts) };
  }
}
