import { EventEmitter } from 'node:events';
import { stat } from 'node:fs/promises';
import {
  EncodedPacketSink,
  FilePathSource,
  Input,
  MATROSKA,
  WEBM,
  type EncodedPacket,
  type InputTrack,
} from 'mediabunny';
import type { RtpPacket } from 'werift';
import { RtpPacketizer } from './RtpPacketizer.js';
import { parseAvcC } from './codecs/H264.js';
import { InvalidStateError, MediaFileError, ioReason } from './errors.js';
import type { TrackInfo } from './types.js';

export type { TrackInfo } from './types.js';

export interface WebmPlayerOptions {
  /** Largest RTP payload sent (bytes). */
  maxPayload?: number;
  /** The clock packets are paced against (ms); tests may drive it. */
  now?: () => number;
}

export interface WebmPlayerEvents {
  rtp: [packet: RtpPacket, track: TrackInfo];
  end: [];
  error: [error: Error];
}

export type PlayerState = 'stopped' | 'playing' | 'paused' | 'ended' | 'closed';

interface PlayerTrack {
  info: TrackInfo;
  input: InputTrack;
  packetizer: RtpPacketizer;
}

/** One track's read position: the next packet to send, read ahead of time. */
interface Cursor {
  track: PlayerTrack;
  packets: AsyncGenerator<EncodedPacket, void, unknown>;
  /** undefined: not read yet; null: the track has ended. */
  head: EncodedPacket | null | undefined;
  reading: Promise<void> | undefined;
  /** A read that failed (kept until someone reads again, never an unhandled rejection). */
  failure: unknown;
}

const MEDIA_CODECS: Record<string, Pick<TrackInfo, 'kind' | 'codec' | 'clockRate'>> = {
  vp8: { kind: 'video', codec: 'VP8', clockRate: 90_000 },
  avc: { kind: 'video', codec: 'H264', clockRate: 90_000 },
  opus: { kind: 'audio', codec: 'OPUS', clockRate: 48_000 },
};

/** Never sleep less than this: packets due within it go out together. */
const PACING_SLACK_MS = 2;

/**
 * One PlayerEndpoint's file: reads a WebM (VP8 / H.264 / Opus; mediabunny demuxes it) and emits its frames as RTP
 * packets paced against the clock, all tracks on one timeline. pause() holds the position, stop() rewinds, and
 * 'end' comes once every track has been sent; play() after the end starts over. RTP timestamps follow the wall
 * clock across pauses and restarts, as a live source's would.
 */
export class WebmPlayer extends EventEmitter<WebmPlayerEvents> {
  readonly path: string;
  readonly tracks: TrackInfo[];
  /** Media duration of the file (ms). */
  readonly durationMs: number;
  readonly #input: Input;
  readonly #tracks: PlayerTrack[];
  readonly #now: () => number;
  #state: PlayerState = 'stopped';
  #cursors: Cursor[] | undefined;
  #generation = 0;
  #sleep: { timer: NodeJS.Timeout; wake: () => void } | undefined;
  /** Wall time of the first play(): RTP time 0. */
  #epochMs: number | undefined;
  /** Wall time and media time (ms) the current run of playing started from. */
  #runWallMs = 0;
  #runMediaMs = 0;

  private constructor(path: string, input: Input, tracks: PlayerTrack[], durationMs: number, now: () => number) {
    super();
    this.path = path;
    this.#input = input;
    this.#tracks = tracks;
    this.tracks = tracks.map((track) => track.info);
    this.durationMs = durationMs;
    this.#now = now;
  }

  /** Open a WebM file; rejects with a MediaFileError saying why when it is missing or not a playable WebM. */
  static async open(path: string, options: WebmPlayerOptions = {}): Promise<WebmPlayer> {
    if (typeof path !== 'string' || path.length === 0) throw new TypeError('path must be a non-empty string');
    try {
      const stats = await stat(path);
      if (!stats.isFile()) throw new MediaFileError(path, `cannot play "${path}": not a regular file`);
    } catch (error) {
      if (error instanceof MediaFileError) throw error;
      throw new MediaFileError(
        path,
        `cannot play "${path}": ${ioReason(error) === 'ENOENT' ? 'no such file' : ioReason(error)}`,
        {
          cause: error,
        },
      );
    }
    const input = new Input({ source: new FilePathSource(path), formats: [WEBM, MATROSKA] });
    try {
      if (!(await input.canRead())) throw new MediaFileError(path, `cannot play "${path}": not a WebM file`);
      const tracks = await WebmPlayer.#readTracks(path, input, options.maxPayload ?? 1200);
      const durationMs = Math.round((await input.computeDuration(tracks.map((track) => track.input))) * 1000);
      return new WebmPlayer(path, input, tracks, durationMs, options.now ?? (() => performance.now()));
    } catch (error) {
      input.dispose();
      if (error instanceof MediaFileError) throw error;
      throw new MediaFileError(path, `cannot play "${path}": unreadable WebM (${ioReason(error)})`, { cause: error });
    }
  }

  static async #readTracks(path: string, input: Input, maxPayload: number): Promise<PlayerTrack[]> {
    const tracks: PlayerTrack[] = [];
    for (const inputTrack of await input.getTracks()) {
      const codec = inputTrack.codec === null ? undefined : MEDIA_CODECS[inputTrack.codec];
      if (!codec || tracks.some((track) => track.info.kind === codec.kind)) continue;
      const info: TrackInfo = { ...codec };
      if (inputTrack.isVideoTrack()) {
        info.width = inputTrack.codedWidth;
        info.height = inputTrack.codedHeight;
      } else if (inputTrack.isAudioTrack()) {
        info.channels = inputTrack.numberOfChannels;
      }
      let avcC;
      if (codec.codec === 'H264' && inputTrack.isVideoTrack()) {
        const description = (await inputTrack.getDecoderConfig())?.description;
        avcC = description ? parseAvcC(toBytes(description)) : undefined;
        if (!avcC) throw new MediaFileError(path, `cannot play "${path}": its H.264 track has no usable avcC record`);
      }
      tracks.push({
        info,
        input: inputTrack,
        packetizer: new RtpPacketizer(info, { maxPayload, ...(avcC ? { avcC } : {}) }),
      });
    }
    if (tracks.length === 0)
      throw new MediaFileError(path, `cannot play "${path}": it has no VP8, H.264 or Opus track`);
    return tracks;
  }

  get state(): PlayerState {
    return this.#state;
  }

  /** Start (or resume) sending; after stop() or the end, from the beginning. */
  play(): void {
    if (this.#state === 'closed') throw new InvalidStateError('play() on a closed player');
    if (this.#state === 'playing') return;
    const now = this.#now();
    this.#epochMs ??= now;
    if (this.#state !== 'paused') this.#rewind();
    this.#state = 'playing';
    for (const track of this.#tracks) track.packetizer.markDiscontinuity();
    const generation = ++this.#generation;
    void this.#pump(generation, now);
  }

  /** Hold the position; play() continues from it. */
  pause(): void {
    if (this.#state !== 'playing') return;
    this.#state = 'paused';
    this.#interrupt();
  }

  /** Stop sending and rewind to the beginning. */
  stop(): void {
    if (this.#state === 'closed' || this.#state === 'stopped') return;
    this.#state = 'stopped';
    this.#interrupt();
    this.#closeCursors();
  }

  /** Release the file. Idempotent. */
  close(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#interrupt();
    this.#closeCursors();
    this.#input.dispose();
  }

  #rewind(): void {
    this.#closeCursors();
    this.#cursors = this.#tracks.map((track) => ({
      track,
      packets: new EncodedPacketSink(track.input).packets(),
      head: undefined,
      reading: undefined,
      failure: undefined,
    }));
  }

  #closeCursors(): void {
    for (const cursor of this.#cursors ?? []) void cursor.packets.return(undefined).catch(() => undefined);
    this.#cursors = undefined;
  }

  #interrupt(): void {
    this.#generation++;
    const sleep = this.#sleep;
    this.#sleep = undefined;
    if (sleep) {
      clearTimeout(sleep.timer);
      sleep.wake();
    }
  }

  async #pump(generation: number, startedMs: number): Promise<void> {
    const cursors = this.#cursors!;
    const current = () => generation === this.#generation;
    try {
      let first = true;
      for (;;) {
        await Promise.all(cursors.map((cursor) => this.#read(cursor)));
        if (!current()) return;
        const next = this.#earliest(cursors);
        if (!next) break;
        const mediaMs = next.head!.timestamp * 1000;
        if (first) {
          // A run of playing starts at the position it left off at.
          this.#runWallMs = startedMs;
          this.#runMediaMs = mediaMs;
          first = false;
        }
        const dueMs = this.#runWallMs + (mediaMs - this.#runMediaMs);
        const waitMs = dueMs - this.#now();
        if (waitMs > PACING_SLACK_MS) {
          await this.#sleepFor(waitMs);
          if (!current()) return;
        }
        this.#send(next);
      }
    } catch (error) {
      if (!current() || this.#state === 'closed') return;
      this.#state = 'stopped';
      this.#interrupt();
      this.#closeCursors();
      const reason = new MediaFileError(this.path, `cannot play "${this.path}": ${ioReason(error)}`, { cause: error });
      if (this.listenerCount('error') > 0) this.#safeEmit('error', reason);
      return;
    }
    this.#state = 'ended';
    this.#closeCursors();
    this.#safeEmit('end');
  }

  #send(cursor: Cursor): void {
    const packet = cursor.head!;
    cursor.head = undefined;
    const { packetizer } = cursor.track;
    const rtpMs = this.#runWallMs - this.#epochMs! + (packet.timestamp * 1000 - this.#runMediaMs);
    const timestamp = packetizer.timestampAt(rtpMs);
    for (const rtp of packetizer.packetize(packet.data, timestamp, packet.type === 'key')) {
      this.#safeEmit('rtp', rtp, cursor.track.info);
    }
  }

  /** Read a cursor's next packet unless it has one; a read finishing after a pause is kept for resume. */
  async #read(cursor: Cursor): Promise<void> {
    if (cursor.head === undefined && cursor.failure === undefined) {
      cursor.reading ??= cursor.packets.next().then(
        (result) => {
          cursor.head = result.done ? null : result.value;
          cursor.reading = undefined;
        },
        (error: unknown) => {
          cursor.failure = error ?? new Error('read failed');
          cursor.reading = undefined;
        },
      );
      await cursor.reading;
    }
    if (cursor.failure !== undefined) {
      throw cursor.failure instanceof Error
        ? cursor.failure
        : new Error('the WebM reader failed', { cause: cursor.failure });
    }
  }

  #earliest(cursors: Cursor[]): Cursor | undefined {
    let earliest: Cursor | undefined;
    for (const cursor of cursors) {
      if (cursor.head && (!earliest || cursor.head.timestamp < earliest.head!.timestamp)) earliest = cursor;
    }
    return earliest;
  }

  #sleepFor(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#sleep = undefined;
        resolve();
      }, ms);
      this.#sleep = { timer, wake: resolve };
    });
  }

  #safeEmit<K extends keyof WebmPlayerEvents>(event: K, ...args: WebmPlayerEvents[K]): void {
    try {
      (this.emit as (name: string, ...rest: unknown[]) => boolean)(event, ...args);
    } catch {
      // one throwing listener must not stop playback
    }
  }
}

function toBytes(source: ArrayBufferLike | ArrayBufferView): Uint8Array {
  return ArrayBuffer.isView(source)
    ? new Uint8Array(source.buffer, source.byteOffset, source.byteLength)
    : new Uint8Array(source);
}
