/**
 * The recent frame of each live on air ("Live now" cards), in the store so that every API process serves it: the
 * presenter uploads one every LIVE_POSTER_INTERVAL_MS, it expires after LIVE_POSTER_TTL_MS (a presenter who stopped
 * sending leaves no stale frame), and it is deleted when its live ends.
 */
import { OnairError } from '../contract/errors.js';
import {
  LIVE_POSTER_INTERVAL_MS,
  LIVE_POSTER_MAX_BYTES,
  LIVE_POSTER_TTL_MS,
  type LivePoster,
} from '../contract/rest.js';
import type { Store } from '../store/Store.js';
import type { LiveRegistry } from './LiveRegistry.js';

const posterKey = (liveId: string) => `live:${liveId}:poster`;
const pacingKey = (liveId: string) => `live:${liveId}:poster:pacing`;
/** Uploads closer together than this are refused (a fifth of the interval leaves room for timer drift). */
const MIN_GAP_MS = LIVE_POSTER_INTERVAL_MS / 5;
const JPEG_MAGIC = Buffer.from([0xff, 0xd8, 0xff]);

export class LivePosters {
  readonly #store: Store;
  readonly #registry: LiveRegistry;

  constructor(store: Store, registry: LiveRegistry) {
    this.#store = store;
    this.#registry = registry;
  }

  /** The presenter of a broadcast on air sends its frame (base64 JPEG). */
  async put(userId: number, liveId: string, jpegBase64: string): Promise<void> {
    const entry = await this.#registry.get(liveId);
    if (!entry || entry.kind !== 'broadcast') throw new OnairError('live.notFound', `no live with id "${liveId}"`);
    if (entry.userId !== userId)
      throw new OnairError('live.notPresenter', `you are not the presenter of live "${liveId}"`);
    const jpeg = Buffer.from(jpegBase64, 'base64');
    if (jpeg.length === 0 || jpeg.toString('base64') !== jpegBase64 || !jpeg.subarray(0, 3).equals(JPEG_MAGIC))
      throw new OnairError('request.invalid', 'body.jpeg: must be a JPEG image in base64');
    if (jpeg.length > LIVE_POSTER_MAX_BYTES)
      throw new OnairError('request.tooLarge', `body.jpeg: at most ${LIVE_POSTER_MAX_BYTES} bytes`);
    if (!(await this.#store.set(pacingKey(liveId), '1', { nx: true, ttlMs: MIN_GAP_MS })))
      throw new OnairError('request.rateLimited', `one frame every ${LIVE_POSTER_INTERVAL_MS / 1000} s`);
    const poster: LivePoster = { imageUrl: `data:image/jpeg;base64,${jpegBase64}`, takenAt: new Date().toISOString() };
    await this.#store.set(posterKey(liveId), JSON.stringify(poster), { ttlMs: LIVE_POSTER_TTL_MS });
  }

  /** The frame of a broadcast on air. */
  async get(liveId: string): Promise<LivePoster> {
    const entry = await this.#registry.get(liveId);
    const raw = entry?.kind === 'broadcast' ? await this.#store.get(posterKey(liveId)) : null;
    if (!raw) throw new OnairError('live.notFound', `live "${liveId}" is not on air or has no frame yet`);
    return JSON.parse(raw) as LivePoster;
  }

  /** A live ended: its frame goes. */
  async liveEnded(liveId: string): Promise<void> {
    await this.#store.del(posterKey(liveId), pacingKey(liveId));
  }
}
