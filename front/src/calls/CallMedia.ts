/**
 * The media of an answered call, on the broadcast primitives: this side goes live for the call (camera,
 * `call:present`, a sending MediaPeer whose preview is the stream back from the media server, `call:offer`) and
 * watches the other side's live once it is on air (`call:watch`, a receive-only MediaPeer, `viewer:offer`).
 * Microphone and camera toggles only pause the tracks, and are told to the other side (`presenter:media`), which
 * follows them (`live:media`, and `live:mediaState` once watching) to show a "camera off" card. Hanging up is the calls store's; `close()` releases the
 * browser side. `state` is reactive for the page.
 */
import { markRaw, reactive, watch, type WatchStopHandle } from 'vue';
import type { IceCandidateInit, IceServer, Role } from '../../../api/contract/signalling.js';
import { t } from '../i18n/index.js';
import { ApiError } from '../rest/ApiError.js';
import { liveErrorMessage } from '../live/messages.js';
import type { SignallingClient } from '../signalling/SignallingClient.js';
import { cloneStream, openCamera } from '../webrtc/camera.js';
import { MediaPeer } from '../webrtc/MediaPeer.js';

/** `camera`: waiting for the permission; `connecting`: until the other side plays; `failed`: see `message`. */
export type CallMediaStage = 'camera' | 'connecting' | 'connected' | 'failed';

export interface CallMediaState {
  stage: CallMediaStage;
  /** This side is on air (its preview comes back from the media server). */
  sending: boolean;
  /** The other side's video plays. */
  receiving: boolean;
  micOn: boolean;
  cameraOn: boolean;
  /** The browser refused to play the other side's sound until a click. */
  muted: boolean;
  /** What the other side sends (camera off: its "camera off" card is shown). */
  peerCamera: boolean;
  peerMicrophone: boolean;
  message: string;
  /** The connection to the server dropped: the call resumes by itself once it is back (in time). */
  reconnecting: boolean;
  /** The other side's connection dropped: its video comes back by itself when it resumes. */
  peerReconnecting: boolean;
}

export class CallMedia {
  readonly callId: string;
  readonly state: CallMediaState = reactive({
    stage: 'camera',
    sending: false,
    receiving: false,
    micOn: true,
    cameraOn: true,
    muted: false,
    peerCamera: true,
    peerMicrophone: true,
    message: '',
    reconnecting: false,
    peerReconnecting: false,
  });

  readonly #client: SignallingClient;
  readonly #local: HTMLVideoElement;
  readonly #remote: HTMLVideoElement;
  readonly #unsubscribe: Array<() => void> = [];
  readonly #stopWatching: WatchStopHandle;
  /** The call could not be resumed after a dropped connection (it is over). */
  readonly #onLost: (() => void) | undefined;
  readonly #onRemotePlaying = () => {
    this.state.receiving = true;
    if (this.state.stage === 'connecting') this.state.stage = 'connected';
  };
  #stream: MediaStream | null = null;
  #sender: MediaPeer | null = null;
  #receiver: MediaPeer | null = null;
  #liveId: string | null = null;
  #peerLiveId: string | null = null;
  #iceServers: IceServer[] = [];
  /** Bumped by a resume: the steps of an older set-up back off. */
  #attempt = 0;
  #closed = false;

  constructor(
    client: SignallingClient,
    callId: string,
    local: HTMLVideoElement,
    remote: HTMLVideoElement,
    onLost?: () => void,
  ) {
    markRaw(this);
    this.#onLost = onLost;
    this.#client = client;
    this.callId = callId;
    this.#local = local;
    this.#remote = remote;
    remote.addEventListener('playing', this.#onRemotePlaying);
    this.#unsubscribe.push(
      client.on('ice:candidate', (msg) => {
        if (msg.role === 'presenter' && msg.liveId === this.#liveId) this.#sender?.addRemoteCandidate(msg.candidate);
        if (msg.role === 'viewer' && msg.liveId === this.#peerLiveId) this.#receiver?.addRemoteCandidate(msg.candidate);
      }),
      client.on('live:presenterReconnecting', (msg) => {
        if (msg.liveId === this.#peerLiveId) this.state.peerReconnecting = true;
      }),
      client.on('live:presenterResumed', (msg) => {
        if (msg.liveId === this.#peerLiveId) this.state.peerReconnecting = false;
      }),
      client.on('live:media', ({ liveId, camera, microphone }) => {
        if (liveId === this.#peerLiveId) Object.assign(this.state, { peerCamera: camera, peerMicrophone: microphone });
      }),
    );
    // The server keeps an answered call for a while when this side's connection drops: resume it once back.
    this.#stopWatching = watch(client.status, (status) => {
      if (this.#closed || this.state.stage === 'failed' || this.state.stage === 'camera') return;
      if (status === 'reconnecting') this.state.reconnecting = true;
      else if (status === 'connected' && this.state.reconnecting) void this.#resume();
    });
  }

  /** Goes on air for the call; the outcome is in `state` (it never throws). */
  async start(): Promise<void> {
    try {
      const stream = await openCamera();
      if (this.#closed) {
        for (const track of stream.getTracks()) track.stop();
        return;
      }
      this.#stream = stream;
      this.state.stage = 'connecting';
      await this.#present(stream, ++this.#attempt);
    } catch (error) {
      if (!this.#closed) this.#fail(callMediaMessage(error));
    }
  }

  /** This side's live for the call: reserve, a sending peer, the offer. */
  async #present(stream: MediaStream, attempt: number): Promise<void> {
    const current = () => attempt === this.#attempt && !this.#closed;
    const timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    const reserved = await this.#client.request('call:present', {
      callId: this.callId,
      ...(timeZone ? { timeZone } : {}),
    });
    if (!current()) return;
    const liveId = reserved.liveId;
    this.#liveId = liveId;
    this.#iceServers = reserved.iceServers;
    const peer = await this.#sendingPeer(stream, liveId);
    if (!current()) return peer.close();
    this.#sender = peer;
    const sdpOffer = await peer.offer();
    const { sdpAnswer } = await this.#client.request('call:offer', { callId: this.callId, liveId, sdpOffer });
    if (!current()) return;
    await peer.answer(sdpAnswer);
    this.#onAir();
  }

  #sendingPeer(stream: MediaStream, liveId: string): Promise<MediaPeer> {
    const peer: Promise<MediaPeer> = MediaPeer.sending(stream, {
      iceServers: this.#iceServers,
      video: this.#local,
      onCandidate: (candidate) => this.#sendCandidate(liveId, 'presenter', candidate),
      onConnectionState: (state) => {
        void peer.then((p) => {
          if (state === 'failed' && this.#sender === p && !this.state.reconnecting)
            this.#fail(t('calls.mediaServerFailed'));
        });
      },
    });
    return peer;
  }

  #onAir(): void {
    this.state.sending = true;
    // Toggled before going on air (or while reconnecting): the other side learns it now.
    if (!this.state.micOn || !this.state.cameraOn) this.#announce();
    this.#local.muted = true;
    void this.#local.play().catch(() => undefined);
  }

  /**
   * The connection is back after a drop: this connection carries the call again (`call:resume`); this side's live
   * is resumed on a new peer (`presenter:resume`), or goes on air again if it was not, and the other side is
   * watched again. A call that is over meanwhile ends here too.
   */
  async #resume(): Promise<void> {
    const attempt = ++this.#attempt;
    const current = () => attempt === this.#attempt && !this.#closed;
    // Closing a peer stops the tracks it sent: the new peer sends clones (microphone and camera as they were).
    const stream = this.#stream ? cloneStream(this.#stream) : null;
    this.#stream = stream;
    const peerLiveId = this.#peerLiveId;
    this.#sender?.close();
    this.#receiver?.close();
    this.#sender = null;
    this.#receiver = null;
    this.#peerLiveId = null;
    Object.assign(this.state, { sending: false, receiving: false });
    try {
      const resumed = await this.#client.request('call:resume', { callId: this.callId });
      if (!current() || !stream) return;
      this.#iceServers = resumed.iceServers;
      if (resumed.liveId) {
        const liveId = resumed.liveId;
        this.#liveId = liveId;
        const peer = await this.#sendingPeer(stream, liveId);
        if (!current()) return peer.close();
        this.#sender = peer;
        const sdpOffer = await peer.offer();
        const { sdpAnswer } = await this.#client.request('presenter:resume', { liveId, sdpOffer });
        if (!current()) return;
        await peer.answer(sdpAnswer);
        this.#onAir();
      } else {
        this.#liveId = null;
        await this.#present(stream, attempt);
      }
      if (!current()) return;
      this.state.reconnecting = false;
      if (peerLiveId) await this.watchPeer(peerLiveId);
    } catch (error) {
      if (!current()) return;
      this.state.reconnecting = false;
      const over = error instanceof ApiError && (error.code === 'call.ended' || error.code === 'call.notFound');
      this.#fail(callMediaMessage(error));
      if (over) this.#onLost?.();
    }
  }

  /** The other side is on air: watch it (once). */
  async watchPeer(liveId: string): Promise<void> {
    if (this.#closed || this.#peerLiveId === liveId || this.state.stage === 'failed') return;
    this.#peerLiveId = liveId;
    try {
      const watched = await this.#client.request('call:watch', { callId: this.callId });
      if (this.#closed) return;
      void this.#peerMediaState(liveId);
      const peer = await MediaPeer.receiving({
        iceServers: watched.iceServers,
        video: this.#remote,
        onCandidate: (candidate) => this.#sendCandidate(liveId, 'viewer', candidate),
        onConnectionState: (state) => {
          if (state === 'failed' && this.#receiver === peer && !this.state.reconnecting)
            this.#fail(t('calls.peerLost'));
        },
      });
      if (this.#closed) return peer.close();
      this.#receiver?.close();
      this.#receiver = peer;
      const sdpOffer = await peer.offer();
      const { sdpAnswer } = await this.#client.request('viewer:offer', { liveId, sdpOffer });
      if (this.#closed) return;
      await peer.answer(sdpAnswer);
      await this.#play();
    } catch (error) {
      if (!this.#closed) this.#fail(callMediaMessage(error));
    }
  }

  toggleMic(): void {
    this.state.micOn = !this.state.micOn;
    for (const track of this.#stream?.getAudioTracks() ?? []) track.enabled = this.state.micOn;
    this.#announce();
  }

  toggleCamera(): void {
    this.state.cameraOn = !this.state.cameraOn;
    for (const track of this.#stream?.getVideoTracks() ?? []) track.enabled = this.state.cameraOn;
    this.#announce();
  }

  /** After a refused autoplay with sound: sound on (call from a click). */
  unmute(): void {
    this.#remote.muted = false;
    this.state.muted = false;
    this.#remote.play().catch(() => {
      this.#remote.muted = true;
      this.state.muted = true;
    });
  }

  /** Releases the camera and both peers. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopWatching();
    for (const off of this.#unsubscribe.splice(0)) off();
    this.#remote.removeEventListener('playing', this.#onRemotePlaying);
    this.#release();
  }

  async #play(): Promise<void> {
    try {
      await this.#remote.play();
      return;
    } catch (error) {
      if ((error as { name?: string } | null)?.name !== 'NotAllowedError') return;
    }
    this.#remote.muted = true;
    this.state.muted = true;
    await this.#remote.play().catch(() => undefined);
  }

  /** Tells the other side what this one sends (once on air; before, `start` does it). */
  #announce(): void {
    const liveId = this.#liveId;
    if (!liveId || !this.state.sending || this.#closed) return;
    const { cameraOn: camera, micOn: microphone } = this.state;
    this.#client.request('presenter:media', { liveId, camera, microphone, screen: false }).catch((error: unknown) => {
      console.warn('onair: the camera and microphone state was not delivered', error);
    });
  }

  /** What the other side sends now (it may have turned its camera off before this side watched). */
  async #peerMediaState(liveId: string): Promise<void> {
    try {
      const { media } = await this.#client.request('live:mediaState', { liveId });
      if (this.#closed || liveId !== this.#peerLiveId) return;
      Object.assign(this.state, { peerCamera: media.camera, peerMicrophone: media.microphone });
    } catch (error) {
      console.warn("onair: the other side's camera state could not be read", error);
    }
  }

  #fail(message: string): void {
    this.#release();
    Object.assign(this.state, { stage: 'failed', sending: false, receiving: false, message });
  }

  #release(): void {
    this.#sender?.close();
    this.#receiver?.close();
    this.#sender = null;
    this.#receiver = null;
    for (const track of this.#stream?.getTracks() ?? []) track.stop();
    this.#stream = null;
  }

  #sendCandidate(liveId: string, role: Role, candidate: IceCandidateInit): void {
    if (this.#closed) return;
    this.#client.request('ice:candidate', { liveId, role, candidate }).catch((error: unknown) => {
      console.warn('onair: an ICE candidate was not delivered', error);
    });
  }
}

function callMediaMessage(error: unknown): string {
  if (error instanceof ApiError && error.code === 'call.ended') return t('calls.callOver');
  if (error instanceof ApiError && error.code === 'live.alreadyLive') return t('calls.liveElsewhere');
  return liveErrorMessage(error);
}
