/**
 * The media of an answered call, on the broadcast primitives: this side goes live for the call (camera,
 * `call:present`, a sending MediaPeer whose preview is the stream back from the media server, `call:offer`) and
 * watches the other side's live once it is on air (`call:watch`, a receive-only MediaPeer, `viewer:offer`).
 * Microphone and camera toggles only pause the tracks, and are told to the other side (`presenter:media`), which
 * follows them (`live:media`, and `live:mediaState` once watching) to show a "camera off" card. Hanging up is the calls store's; `close()` releases the
 * browser side. `state` is reactive for the page.
 */
import { markRaw, reactive } from 'vue';
import type { IceCandidateInit, Role } from '../../../api/contract/signalling.js';
import { t } from '../i18n/index.js';
import { ApiError } from '../api/ApiError.js';
import { liveErrorMessage } from '../live/messages.js';
import type { SignallingClient } from '../signalling/SignallingClient.js';
import { openCamera } from '../webrtc/camera.js';
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
  });

  readonly #client: SignallingClient;
  readonly #local: HTMLVideoElement;
  readonly #remote: HTMLVideoElement;
  readonly #unsubscribe: Array<() => void> = [];
  readonly #onRemotePlaying = () => {
    this.state.receiving = true;
    if (this.state.stage === 'connecting') this.state.stage = 'connected';
  };
  #stream: MediaStream | null = null;
  #sender: MediaPeer | null = null;
  #receiver: MediaPeer | null = null;
  #liveId: string | null = null;
  #peerLiveId: string | null = null;
  #closed = false;

  constructor(client: SignallingClient, callId: string, local: HTMLVideoElement, remote: HTMLVideoElement) {
    markRaw(this);
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
      client.on('live:media', ({ liveId, camera, microphone }) => {
        if (liveId === this.#peerLiveId) Object.assign(this.state, { peerCamera: camera, peerMicrophone: microphone });
      }),
    );
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
      const timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
      const reserved = await this.#client.request('call:present', {
        callId: this.callId,
        ...(timeZone ? { timeZone } : {}),
      });
      if (this.#closed) return;
      const liveId = reserved.liveId;
      this.#liveId = liveId;
      const peer = await MediaPeer.sending(stream, {
        iceServers: reserved.iceServers,
        video: this.#local,
        onCandidate: (candidate) => this.#sendCandidate(liveId, 'presenter', candidate),
        onConnectionState: (state) => {
          if (state === 'failed' && this.#sender === peer) this.#fail(t('calls.mediaServerFailed'));
        },
      });
      if (this.#closed) return peer.close();
      this.#sender = peer;
      const sdpOffer = await peer.offer();
      const { sdpAnswer } = await this.#client.request('call:offer', { callId: this.callId, liveId, sdpOffer });
      if (this.#closed) return;
      await peer.answer(sdpAnswer);
      this.state.sending = true;
      // Toggled before going on air: the other side learns it now.
      if (!this.state.micOn || !this.state.cameraOn) this.#announce();
      this.#local.muted = true;
      void this.#local.play().catch(() => undefined);
    } catch (error) {
      if (!this.#closed) this.#fail(callMediaMessage(error));
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
          if (state === 'failed' && this.#receiver === peer) this.#fail(t('calls.peerLost'));
        },
      });
      if (this.#closed) return peer.close();
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
