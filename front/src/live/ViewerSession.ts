/**
 * Watching a live by its id: `viewer:watch`, a receive-only MediaPeer, `viewer:offer`, trickle ICE both ways, until
 * `live:ended`. When the connection to the server comes back after a loss, watching starts again by itself (the
 * server forgot this viewer). Autoplay with sound may be refused: the video then plays muted (`state.muted`) or
 * waits for a click (`state.blocked`). `state` is reactive for the page.
 */
import { markRaw, reactive, watch, type WatchStopHandle } from 'vue';
import type { IceCandidateInit, LiveEndReason, LiveSummary } from '../../../api/contract/signalling.js';
import { t } from '../i18n/index.js';
import { ApiError } from '../rest/ApiError.js';
import type { SignallingClient } from '../signalling/SignallingClient.js';
import { MediaPeer } from '../webrtc/MediaPeer.js';
import { endedMessage, liveErrorMessage } from './messages.js';

/** `connecting` until the first frame plays; `notFound`: no such live (or it was over before we came). */
export type ViewerStage = 'connecting' | 'playing' | 'ended' | 'notFound' | 'failed';

export interface ViewerState {
  stage: ViewerStage;
  live: LiveSummary | null;
  /** Why it failed, or how it ended. */
  message: string;
  /** Waiting for the connection to the server to come back. */
  reconnecting: boolean;
  /** The presenter's connection dropped: the live waits for it to resume (the video comes back by itself). */
  presenterReconnecting: boolean;
  /** Playing without sound because the browser refused autoplay with sound. */
  muted: boolean;
  /** The browser refused to play at all until the user clicks. */
  blocked: boolean;
  /** The viewer is the presenter of this live: it plays muted, so that they do not hear themself. */
  ownLive: boolean;
}

export class ViewerSession {
  readonly liveId: string;
  readonly state: ViewerState = reactive({
    stage: 'connecting',
    live: null,
    message: '',
    reconnecting: false,
    presenterReconnecting: false,
    muted: false,
    blocked: false,
    ownLive: false,
  });

  readonly #client: SignallingClient;
  readonly #video: HTMLVideoElement;
  readonly #unsubscribe: Array<() => void> = [];
  readonly #stopWatching: WatchStopHandle;
  readonly #onPlaying = () => {
    if (this.#peer && this.state.stage === 'connecting') this.state.stage = 'playing';
  };
  #peer: MediaPeer | null = null;
  /** The server has us in the live's audience (watch answered, no leave sent since). */
  #joined = false;
  #attempt = 0;
  #closed = false;

  /** The signed-in user: watching their own live starts muted. */
  readonly #selfId: number | undefined;

  constructor(client: SignallingClient, video: HTMLVideoElement, liveId: string, selfId?: number) {
    markRaw(this);
    this.#selfId = selfId;
    this.#client = client;
    this.#video = video;
    this.liveId = liveId;
    video.addEventListener('playing', this.#onPlaying);
    this.#unsubscribe.push(
      client.on('ice:candidate', (msg) => {
        if (msg.role === 'viewer' && msg.liveId === liveId) this.#peer?.addRemoteCandidate(msg.candidate);
      }),
      client.on('live:ended', (msg) => {
        if (msg.liveId === liveId) this.#ended(msg.reason);
      }),
      client.on('live:presenterReconnecting', (msg) => {
        if (msg.liveId === liveId && this.#watchingOrTrying()) this.state.presenterReconnecting = true;
      }),
      client.on('live:presenterResumed', (msg) => {
        if (msg.liveId === liveId) this.state.presenterReconnecting = false;
      }),
      // The media server (a relay of the live) or engine worker that served this viewer is lost; the live goes on:
      // watch again, and the server places the viewer where there is room.
      client.on('live:viewerMediaLost', (msg) => {
        if (msg.liveId === liveId && this.#watchingOrTrying()) void this.start();
      }),
      client.on('lives:removed', (msg) => {
        if (msg.liveId === liveId) this.#ended('stopped');
      }),
      client.on('lives:updated', (live) => {
        if (live.id === liveId && this.state.live) this.state.live = live;
      }),
    );
    this.#stopWatching = watch(client.status, (status) => {
      if (!this.#watchingOrTrying()) return;
      if (status === 'reconnecting') {
        // The server dropped this viewer with the connection: start again once it is back.
        this.#attempt++;
        this.#joined = false;
        this.#releasePeer();
        Object.assign(this.state, { stage: 'connecting', reconnecting: true });
      } else if (status === 'connected' && this.state.reconnecting) {
        void this.start();
      }
    });
  }

  /** Starts (or restarts) watching; the outcome is in `state` (it never throws). */
  async start(): Promise<void> {
    if (this.#closed) return;
    const attempt = ++this.#attempt;
    const current = () => attempt === this.#attempt && !this.#closed;
    this.#releasePeer();
    Object.assign(this.state, { stage: 'connecting', message: '', reconnecting: false, muted: false, blocked: false });
    const { liveId } = this;
    try {
      if (this.#joined) await this.#leave();
      const watched = await this.#client.request('viewer:watch', { liveId });
      this.#joined = true;
      if (!current()) return;
      this.state.live = watched.live;
      const peer = await MediaPeer.receiving({
        iceServers: watched.iceServers,
        video: this.#video,
        onCandidate: (candidate) => this.#sendCandidate(candidate),
        onConnectionState: (state) => {
          if (state === 'failed' && this.#peer === peer) this.#fail(t('live.viewerMediaLost'));
        },
      });
      if (!current()) {
        peer.close();
        return;
      }
      this.#peer = peer;
      const sdpOffer = await peer.offer();
      const { sdpAnswer } = await this.#client.request('viewer:offer', { liveId, sdpOffer });
      if (!current()) return;
      await peer.answer(sdpAnswer);
      if (!current()) return;
      await this.#play();
    } catch (error) {
      if (!current()) return;
      const code = error instanceof ApiError ? error.code : null;
      if (code === 'live.notFound' || code === 'request.invalid' || code === 'live.ended') {
        // A live we were watching that cannot be found any more has ended.
        if (this.state.live || code === 'live.ended') this.#ended('stopped');
        else this.#notFound();
        return;
      }
      this.#fail(liveErrorMessage(error));
    }
  }

  /** After a refused autoplay: sound on (call from a click). */
  unmute(): void {
    this.#video.muted = false;
    this.state.muted = false;
    this.#video.play().catch(() => {
      this.#video.muted = true;
      this.state.muted = true;
    });
  }

  /** After a refused autoplay: play (call from a click). */
  resume(): void {
    this.state.blocked = false;
    this.#video.play().catch(() => {
      this.state.blocked = true;
    });
  }

  /** Leaving the page: leave the live (not waited for) and release everything. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#attempt++;
    if (this.#joined) void this.#leave();
    this.#stopWatching();
    for (const off of this.#unsubscribe.splice(0)) off();
    this.#video.removeEventListener('playing', this.#onPlaying);
    this.#releasePeer();
  }

  #watchingOrTrying(): boolean {
    return !this.#closed && (this.state.stage === 'connecting' || this.state.stage === 'playing');
  }

  /** Autoplay with sound, else muted, else wait for a click. */
  async #play(): Promise<void> {
    const video = this.#video;
    if (this.#selfId !== undefined && this.state.live?.presenter.id === this.#selfId) {
      video.muted = true;
      Object.assign(this.state, { muted: true, ownLive: true });
    }
    try {
      await video.play();
      return;
    } catch (error) {
      if ((error as { name?: string } | null)?.name !== 'NotAllowedError') return;
    }
    video.muted = true;
    this.state.muted = true;
    try {
      await video.play();
    } catch {
      this.state.blocked = true;
    }
  }

  #ended(reason: LiveEndReason): void {
    if (this.state.stage === 'ended' || this.state.stage === 'notFound') return;
    this.#attempt++;
    this.#joined = false;
    this.#releasePeer();
    Object.assign(this.state, {
      stage: 'ended',
      message: endedMessage(reason),
      reconnecting: false,
      presenterReconnecting: false,
      blocked: false,
    });
  }

  #notFound(): void {
    this.#joined = false;
    this.#releasePeer();
    Object.assign(this.state, { stage: 'notFound', message: '' });
  }

  #fail(message: string): void {
    this.#attempt++;
    this.#releasePeer();
    Object.assign(this.state, { stage: 'failed', message, reconnecting: false, presenterReconnecting: false });
  }

  #releasePeer(): void {
    this.#peer?.close();
    this.#peer = null;
  }

  async #leave(): Promise<void> {
    this.#joined = false;
    if (this.#client.closed) return;
    await this.#client.request('viewer:leave', { liveId: this.liveId }).catch(() => undefined);
  }

  #sendCandidate(candidate: IceCandidateInit): void {
    if (this.#closed) return;
    this.#client
      .request('ice:candidate', { liveId: this.liveId, role: 'viewer', candidate })
      .catch((error: unknown) => {
        console.warn('onair: an ICE candidate was not delivered', error);
      });
  }
}
