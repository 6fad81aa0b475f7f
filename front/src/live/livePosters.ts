/**
 * The "Live now" frames (api/contract/rest.ts `LivePoster`): `PosterSender` takes a frame of what the presenter
 * sends (the preview video, as the media server sends it back) when the live starts and every
 * LIVE_POSTER_INTERVAL_MS, and uploads it; `PosterFeed` keeps the latest frame of each listed live, fetched as often.
 */
import { markRaw, reactive } from 'vue';
import {
  LIVE_POSTER_INTERVAL_MS,
  LIVE_POSTER_MAX_BYTES,
  type LivePoster,
  type LivePosterUpload,
} from '../../../api/contract/rest.js';
import { api } from '../rest/api.js';
import { ApiError } from '../rest/ApiError.js';

const POSTER_WIDTH = 320;

/** A JPEG of the video's current frame, base64, small enough to upload; null when there is no frame yet. */
export async function captureFrame(video: HTMLVideoElement): Promise<string | null> {
  if (video.readyState < 2 || !video.videoWidth || !video.videoHeight) return null;
  const canvas = document.createElement('canvas');
  canvas.width = POSTER_WIDTH;
  canvas.height = Math.max(1, Math.round((POSTER_WIDTH * video.videoHeight) / video.videoWidth));
  const context = canvas.getContext('2d');
  if (!context) return null;
  context.drawImage(video, 0, 0, canvas.width, canvas.height);
  for (const quality of [0.75, 0.55, 0.35]) {
    const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, 'image/jpeg', quality));
    if (blob && blob.size <= LIVE_POSTER_MAX_BYTES) {
      const bytes = new Uint8Array(await blob.arrayBuffer());
      let binary = '';
      for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
      return btoa(binary);
    }
  }
  return null;
}

/** Uploads a frame of `video` now and every interval while `shouldSend()` says so, until `stop()`. */
export class PosterSender {
  readonly #liveId: string;
  readonly #video: HTMLVideoElement;
  readonly #shouldSend: () => boolean;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;

  constructor(liveId: string, video: HTMLVideoElement, shouldSend: () => boolean) {
    this.#liveId = liveId;
    this.#video = video;
    this.#shouldSend = shouldSend;
    void this.#send();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  async #send(): Promise<void> {
    let sent = false;
    try {
      const jpeg = this.#shouldSend() ? await captureFrame(this.#video) : null;
      if (jpeg && !this.#stopped) {
        const body: LivePosterUpload = { jpeg };
        await api.put(`/api/lives/${this.#liveId}/poster`, body);
        sent = true;
      }
    } catch (error) {
      console.warn("onair: the live's frame was not uploaded", error);
    }
    if (this.#stopped) return;
    // No frame yet (the preview is still starting): try again soon, then keep the interval.
    this.#timer = setTimeout(() => void this.#send(), sent ? LIVE_POSTER_INTERVAL_MS : 1000);
  }
}

/** The latest frame of each live in a list, by live id (reactive); refreshed every interval until `close()`. */
export class PosterFeed {
  readonly posters: Map<string, LivePoster> = reactive(new Map());
  readonly #liveIds: () => string[];
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  constructor(liveIds: () => string[]) {
    markRaw(this);
    this.#liveIds = liveIds;
    this.#timer = setInterval(() => void this.refresh(), LIVE_POSTER_INTERVAL_MS);
  }

  /** Fetches the frame of every listed live (and forgets lives no longer listed). */
  async refresh(): Promise<void> {
    const ids = this.#liveIds();
    for (const id of [...this.posters.keys()]) if (!ids.includes(id)) this.posters.delete(id);
    await Promise.all(ids.map((id) => this.#fetch(id)));
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
  }

  async #fetch(liveId: string): Promise<void> {
    try {
      const { poster } = await api.get<{ poster: LivePoster }>(`/api/lives/${liveId}/poster`);
      if (!this.#closed && this.#liveIds().includes(liveId)) this.posters.set(liveId, poster);
    } catch (error) {
      if (error instanceof ApiError && error.code === 'live.notFound') this.posters.delete(liveId);
    }
  }
}
