/**
 * Going live from the browser, as the signalling contract describes it: camera, `presenter:start` (reserves the
 * live), a sending MediaPeer whose preview is the stream coming back from the media server, `presenter:offer`,
 * trickle ICE both ways, then the viewers' joins and leaves until `presenter:stop` or `live:ended`.
 * `state` is reactive for the page; `close()` (leaving the page) stops the live without waiting.
 */
import { markRaw, reactive, watch, type WatchStopHandle } from 'vue';
import type {
  IceCandidateInit,
  IceServer,
  LiveEndReason,
  UserSummary,
  ViewerEvent,
} from '../../../api/contract/signalling.js';
import { ApiError, errorMessage } from '../rest/ApiError.js';
import { t } from '../i18n/index.js';
import type { SignallingClient } from '../signalling/SignallingClient.js';
import { constraintsFor, deviceOf, type DeviceChoice } from '../chat/devices.js';
import { cloneStream, openCamera } from '../webrtc/camera.js';
import { MediaPeer } from '../webrtc/MediaPeer.js';
import { PosterSender } from './livePosters.js';
import { liveErrorMessage } from './messages.js';

/** `camera`: waiting for the browser's permission; `connecting`: reserving the live and negotiating media. */
export type PresenterStage = 'idle' | 'camera' | 'connecting' | 'live' | 'stopping' | 'ended' | 'failed';

export interface FeedEntry {
  id: number;
  kind: 'joined' | 'left';
  viewer: UserSummary;
  /** ISO 8601. */
  at: string;
}

export interface PresenterState {
  stage: PresenterStage;
  liveId: string | null;
  title: string;
  /** When the live went on air (ms since the epoch). */
  startedAt: number | null;
  viewerCount: number;
  /** Joins and leaves, newest first. */
  feed: FeedEntry[];
  /** Why it failed, or how it ended. */
  message: string;
  /** On air, but the connection to the server dropped: the live resumes by itself when it is back (in time). */
  reconnecting: boolean;
  /** The recording of the live once it ended (null when there is none). */
  recordingId: number | null;
  /** What is sent (viewers are told): the camera and microphone on, a screen instead of the camera. */
  camera: boolean;
  microphone: boolean;
  screen: boolean;
  /** Why the last control (screen share, device change) did not work. */
  controlError: string;
  /** The devices sent (or to use when going live); null: the browser's default. */
  cameraId: string | null;
  microphoneId: string | null;
}

const FEED_MAX = 200;

export class PresenterSession {
  readonly state: PresenterState = reactive({
    stage: 'idle',
    liveId: null,
    title: '',
    startedAt: null,
    viewerCount: 0,
    feed: [],
    message: '',
    reconnecting: false,
    recordingId: null,
    camera: true,
    microphone: true,
    screen: false,
    controlError: '',
    cameraId: null,
    microphoneId: null,
  });

  readonly #client: SignallingClient;
  readonly #video: HTMLVideoElement;
  readonly #unsubscribe: Array<() => void> = [];
  readonly #stopWatching: WatchStopHandle;
  #peer: MediaPeer | null = null;
  /** The ICE servers of this live (from presenter:start), for the peer of a resume. */
  #iceServers: IceServer[] = [];
  #stream: MediaStream | null = null;
  /** The screen being sent instead of the camera. */
  #screen: MediaStreamTrack | null = null;
  /** Uploads the "Live now" frame while on air (none while the camera is off, unless a screen is sent). */
  #poster: PosterSender | null = null;
  /** Bumped whenever what is under way is given up: a stale step sees a different number and backs off. */
  #attempt = 0;
  #feedId = 0;
  #closed = false;

  constructor(client: SignallingClient, video: HTMLVideoElement) {
    markRaw(this);
    this.#client = client;
    this.#video = video;
    this.#unsubscribe.push(
      client.on('ice:candidate', (msg) => {
        if (msg.role === 'presenter' && msg.liveId === this.state.liveId) this.#peer?.addRemoteCandidate(msg.candidate);
      }),
      client.on('live:viewerJoined', (msg) => this.#onViewer('joined', msg)),
      client.on('live:viewerLeft', (msg) => this.#onViewer('left', msg)),
      client.on('live:ended', (msg) => {
        if (msg.liveId === this.state.liveId) this.#ended(msg.reason, msg.recordingId);
      }),
    );
    // The server keeps a live on air for a while (RESUME_GRACE_MS) when its presenter's connection drops: once the
    // connection is back, the live is resumed with a new peer (the same viewers and recording). A live still being
    // set up ends with the connection.
    this.#stopWatching = watch(client.status, (status) => {
      if (status === 'connected') {
        if (this.state.reconnecting) void this.#resume();
        return;
      }
      if (status === 'reconnecting' && this.state.stage === 'live') {
        this.state.reconnecting = true;
      } else if (this.state.stage === 'connecting' || this.state.stage === 'live') {
        this.#fail(t('live.connectionLost'));
      } else if (this.state.stage === 'stopping') {
        this.#ended('stopped', this.state.recordingId);
      }
    });
  }

  get busy(): boolean {
    return ['camera', 'connecting', 'live', 'stopping'].includes(this.state.stage);
  }

  /** Goes live with this title; the outcome is in `state` (it never throws). */
  async start(title: string): Promise<void> {
    if (this.#closed || this.busy) return;
    const attempt = ++this.#attempt;
    const current = () => attempt === this.#attempt && !this.#closed;
    Object.assign(this.state, {
      stage: 'camera',
      liveId: null,
      title,
      startedAt: null,
      viewerCount: 0,
      feed: [],
      message: '',
      reconnecting: false,
      recordingId: null,
      camera: true,
      microphone: true,
      screen: false,
      controlError: '',
    });

    let stream: MediaStream;
    try {
      stream = await openCamera(constraintsFor(this.state));
    } catch (error) {
      if (current()) this.#fail(errorMessage(error));
      return;
    }
    if (!current()) {
      for (const track of stream.getTracks()) track.stop();
      return;
    }
    this.#stream = stream;
    this.state.cameraId = deviceOf(stream, 'video');
    this.state.microphoneId = deviceOf(stream, 'audio');
    this.state.stage = 'connecting';

    let liveId: string | null = null;
    try {
      const timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
      const reserved = await this.#client.request('presenter:start', { title, ...(timeZone ? { timeZone } : {}) });
      liveId = reserved.liveId;
      if (!current()) return this.#stopQuietly(liveId);
      this.state.liveId = liveId;
      this.#iceServers = reserved.iceServers;
      const id = liveId;
      const peer = await MediaPeer.sending(stream, {
        iceServers: reserved.iceServers,
        video: this.#video,
        onCandidate: (candidate) => this.#sendCandidate(id, candidate),
        onConnectionState: (state) => {
          if (state === 'failed' && this.#peer === peer && this.state.stage === 'live' && !this.state.reconnecting) {
            this.#fail(t('live.presenterMediaFailed'));
            this.#stopQuietly(id);
          }
        },
      });
      if (!current()) {
        peer.close();
        return this.#stopQuietly(liveId);
      }
      this.#peer = peer;
      const sdpOffer = await peer.offer();
      const { sdpAnswer } = await this.#client.request('presenter:offer', { liveId, sdpOffer });
      if (!current()) return this.#stopQuietly(liveId);
      await peer.answer(sdpAnswer);
      if (!current()) return this.#stopQuietly(liveId);
      this.state.stage = 'live';
      this.state.startedAt = Date.now();
      this.#video.muted = true;
      void this.#video.play().catch(() => undefined);
      this.#poster = new PosterSender(liveId, this.#video, () => this.state.camera || this.state.screen);
    } catch (error) {
      if (!current()) return;
      this.#fail(liveErrorMessage(error));
      if (liveId) this.#stopQuietly(liveId);
    }
  }

  /** The connection to the server is back after a drop: resume the live on a new peer (the server kept it on air). */
  async #resume(): Promise<void> {
    const { liveId, stage } = this.state;
    if (!liveId || !this.#stream || stage !== 'live' || this.#closed) return;
    const attempt = ++this.#attempt;
    const current = () => attempt === this.#attempt && !this.#closed;
    // Closing a peer stops the tracks it sent: the new peer sends clones (on, off and devices as they were).
    const stream = cloneStream(this.#stream);
    this.#stream = stream;
    this.#peer?.close();
    this.#peer = null;
    try {
      const peer = await MediaPeer.sending(stream, {
        iceServers: this.#iceServers,
        video: this.#video,
        onCandidate: (candidate) => this.#sendCandidate(liveId, candidate),
        onConnectionState: (state) => {
          if (state === 'failed' && this.#peer === peer && this.state.stage === 'live' && !this.state.reconnecting) {
            this.#fail(t('live.presenterMediaFailed'));
            this.#stopQuietly(liveId);
          }
        },
      });
      if (!current()) {
        peer.close();
        return;
      }
      this.#peer = peer;
      const sdpOffer = await peer.offer();
      const { sdpAnswer, viewerCount } = await this.#client.request('presenter:resume', { liveId, sdpOffer });
      if (!current()) return;
      await peer.answer(sdpAnswer);
      if (!current()) return;
      if (this.#screen) await peer.replaceTrack(this.#screen);
      this.state.reconnecting = false;
      this.state.viewerCount = viewerCount;
      this.#announce();
      void this.#video.play().catch(() => undefined);
    } catch {
      if (!current()) return;
      // Too late (the grace period ran out) or refused: the live is over; what was recorded is kept.
      this.state.reconnecting = false;
      this.#fail(t('live.resumeFailed'));
    }
  }

  /** Ends the live; resolves once the server has stored the recording. */
  async stop(): Promise<void> {
    const { stage, liveId } = this.state;
    if (stage === 'camera' || (stage === 'connecting' && !liveId)) {
      // Nothing on air yet: give up what is under way (a reservation that comes later is released).
      this.#attempt++;
      this.#release();
      this.state.stage = 'idle';
      return;
    }
    if ((stage !== 'connecting' && stage !== 'live') || !liveId) return;
    this.#attempt++;
    this.state.stage = 'stopping';
    try {
      const { recordingId } = await this.#client.request('presenter:stop', { liveId });
      this.#ended('stopped', recordingId);
    } catch (error) {
      // Not the presenter any more: the live already ended (live:ended says how).
      if (error instanceof ApiError && error.code === 'live.notPresenter')
        return this.#ended('stopped', this.state.recordingId);
      if (this.state.stage === 'stopping') this.#fail(liveErrorMessage(error));
    }
  }

  // ---- presenter controls: the tracks stay in the connection (viewers get black frames and silence, shown as a
  // "camera off" card and a muted badge); a screen replaces the camera without renegotiation.

  setCamera(on: boolean): void {
    for (const track of this.#stream?.getVideoTracks() ?? []) track.enabled = on;
    this.state.camera = on;
    this.#announce();
  }

  setMicrophone(on: boolean): void {
    for (const track of this.#stream?.getAudioTracks() ?? []) track.enabled = on;
    this.state.microphone = on;
    this.#announce();
  }

  /** Sends a screen (the browser asks which) instead of the camera, until `stopScreen()` or the browser stops it. */
  async shareScreen(): Promise<void> {
    const peer = this.#peer;
    if (!peer || this.state.stage !== 'live' || this.#screen) return;
    this.state.controlError = '';
    let track: MediaStreamTrack | undefined;
    try {
      const display = await navigator.mediaDevices.getDisplayMedia({
        video: { frameRate: { ideal: 30 } },
        audio: false,
      });
      track = display.getVideoTracks()[0];
      if (!track) throw new Error('no screen was chosen');
      if (this.#peer !== peer || this.state.stage !== 'live') {
        track.stop();
        return;
      }
      await peer.replaceTrack(track);
    } catch (error) {
      track?.stop();
      if (error instanceof DOMException && error.name === 'NotAllowedError') return;
      this.state.controlError = `The screen could not be shared: ${error instanceof Error ? error.message : String(error)}`;
      return;
    }
    this.#screen = track;
    track.addEventListener('ended', () => void this.stopScreen());
    this.state.screen = true;
    this.#announce();
  }

  /** Back to the camera. */
  async stopScreen(): Promise<void> {
    const screen = this.#screen;
    if (!screen) return;
    this.#screen = null;
    const camera = this.#stream?.getVideoTracks()[0];
    try {
      if (camera && this.#peer) await this.#peer.replaceTrack(camera);
    } finally {
      screen.stop();
      this.state.screen = false;
      this.#announce();
    }
  }

  /**
   * Chooses the camera or microphone: kept for the next go-live, and while live the new device's track replaces
   * the old one without renegotiation (on, off and screen share as they were).
   */
  async chooseDevice(kind: 'audio' | 'video', deviceId: string): Promise<void> {
    const field: keyof DeviceChoice = kind === 'audio' ? 'microphoneId' : 'cameraId';
    const stream = this.#stream;
    if (!stream || !this.#peer || this.state.stage !== 'live') {
      this.state[field] = deviceId;
      return;
    }
    this.state.controlError = '';
    const old = kind === 'audio' ? stream.getAudioTracks()[0] : stream.getVideoTracks()[0];
    let track: MediaStreamTrack | undefined;
    try {
      const constraints = constraintsFor({ cameraId: null, microphoneId: null, [field]: deviceId });
      const fresh = await navigator.mediaDevices.getUserMedia(
        kind === 'audio' ? { audio: constraints.audio! } : { video: constraints.video! },
      );
      track = kind === 'audio' ? fresh.getAudioTracks()[0] : fresh.getVideoTracks()[0];
      if (!track) throw new Error('the device gave no track');
      track.enabled = kind === 'audio' ? this.state.microphone : this.state.camera;
      if (this.#stream !== stream || !this.#peer) {
        track.stop();
        return;
      }
      // A shared screen stays on the wire: the new camera is sent once the share stops.
      if (kind === 'audio' || !this.#screen) await this.#peer.replaceTrack(track);
    } catch (error) {
      track?.stop();
      this.state.controlError = `That device could not be used: ${error instanceof Error ? error.message : String(error)}`;
      return;
    }
    if (old) {
      stream.removeTrack(old);
      old.stop();
    }
    stream.addTrack(track);
    this.state[field] = deviceOf(stream, kind) ?? deviceId;
  }

  #announce(): void {
    const { liveId, stage, camera, microphone, screen } = this.state;
    if (!liveId || stage !== 'live' || this.#client.closed) return;
    this.#client.request('presenter:media', { liveId, camera, microphone, screen }).catch(() => undefined);
  }

  /** Leaving the page: the live stops (not waited for) and everything is released. Idempotent. */
  close(): void {
    if (this.#closed) return;
    const { stage, liveId } = this.state;
    this.#closed = true;
    this.#attempt++;
    if (liveId && (stage === 'connecting' || stage === 'live')) this.#stopQuietly(liveId);
    this.#stopWatching();
    for (const off of this.#unsubscribe.splice(0)) off();
    this.#release();
  }

  #onViewer(kind: FeedEntry['kind'], msg: ViewerEvent): void {
    if (msg.liveId !== this.state.liveId || this.state.stage !== 'live') return;
    this.state.viewerCount = msg.viewerCount;
    this.state.feed.unshift({ id: ++this.#feedId, kind, viewer: msg.viewer, at: msg.at });
    if (this.state.feed.length > FEED_MAX) this.state.feed.length = FEED_MAX;
  }

  #ended(reason: LiveEndReason, recordingId: number | null): void {
    if (this.state.stage === 'ended' || this.state.stage === 'failed' || this.state.stage === 'idle') return;
    this.#attempt++;
    this.#release();
    this.state.reconnecting = false;
    this.state.stage = 'ended';
    this.state.recordingId = recordingId;
    this.state.message = endedMessage(reason, recordingId);
  }

  #fail(message: string): void {
    this.#attempt++;
    this.#release();
    this.state.reconnecting = false;
    this.state.stage = 'failed';
    this.state.message = message;
  }

  #release(): void {
    this.#poster?.stop();
    this.#poster = null;
    this.#screen?.stop();
    this.#screen = null;
    this.#peer?.close();
    this.#peer = null;
    for (const track of this.#stream?.getTracks() ?? []) track.stop();
    this.#stream = null;
  }

  #sendCandidate(liveId: string, candidate: IceCandidateInit): void {
    if (this.#closed || this.state.liveId !== liveId) return;
    this.#client.request('ice:candidate', { liveId, role: 'presenter', candidate }).catch((error: unknown) => {
      console.warn('onair: an ICE candidate was not delivered', error);
    });
  }

  /** Best effort: the server also ends a live whose set-up never finishes, or whose presenter leaves. */
  #stopQuietly(liveId: string): void {
    if (this.#client.closed) return;
    this.#client.request('presenter:stop', { liveId }).catch(() => undefined);
  }
}

function endedMessage(reason: LiveEndReason, recordingId: number | null): string {
  const recorded = recordingId === null ? '' : ` ${t('live.endedRecorded')}`;
  switch (reason) {
    case 'stopped':
      return `${t('live.endedStopped')}${recorded}`;
    case 'mediaServerLost':
      return `${t('live.endedMediaServerLost')}${recorded}`;
    case 'presenterLost':
      return `${t('live.endedPresenterLost')}${recorded}`;
    case 'shutdown':
      return `${t('live.endedShutdown')}${recorded}`;
    default:
      return `${t('live.endedFailed')}${recorded}`;
  }
}
