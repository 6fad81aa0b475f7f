/**
 * A browser peer of the media server, on kurento-utils' WebRtcPeer (with webrtc-adapter's shims): a sending peer
 * (the presenter: its camera goes out, and its own stream comes back from the media server into `video`) or a
 * receive-only peer (a viewer). ICE servers always come from onair's server: kurento-utils would otherwise use
 * public STUN servers. Candidates from the server that arrive before the answer is applied are kept until it is.
 */
import 'webrtc-adapter';
import './kurentoLogger.js';
import kurentoUtils, { type WebRtcPeer } from 'kurento-utils';
import type { IceCandidateInit, IceServer } from '../../../api/contract/signalling.js';

export interface MediaPeerOptions {
  /** From the server's `presenter:start` / `viewer:watch` answer. */
  iceServers: IceServer[];
  /** Plays what comes back from the media server. */
  video: HTMLVideoElement;
  /** A local ICE candidate, to send to the server. */
  onCandidate: (candidate: IceCandidateInit) => void;
  onConnectionState?: (state: RTCPeerConnectionState) => void;
}

type Factory = (typeof kurentoUtils.WebRtcPeer)['WebRtcPeerSendrecv'];

export class MediaPeer {
  readonly #peer: WebRtcPeer;
  readonly #stream: MediaStream | null;
  /** Server candidates waiting for the answer to be applied. */
  readonly #pending: IceCandidateInit[] = [];
  #answered = false;
  #closed = false;

  /** A peer that sends `stream` and receives the media server's stream back (the presenter's loopback preview). */
  static async sending(stream: MediaStream, opts: MediaPeerOptions): Promise<MediaPeer> {
    return new MediaPeer(await create(kurentoUtils.WebRtcPeer.WebRtcPeerSendrecv, opts, stream), stream);
  }

  /** A receive-only peer (audio and video). */
  static async receiving(opts: MediaPeerOptions): Promise<MediaPeer> {
    return new MediaPeer(await create(kurentoUtils.WebRtcPeer.WebRtcPeerRecvonly, opts, null), null);
  }

  private constructor(peer: WebRtcPeer, stream: MediaStream | null) {
    this.#peer = peer;
    this.#stream = stream;
  }

  get connectionState(): RTCPeerConnectionState {
    return this.#peer.peerConnection.connectionState;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The SDP offer to send to the server. */
  offer(): Promise<string> {
    return new Promise((resolve, reject) => {
      this.#peer.generateOffer((error, sdp) => (error ? reject(asError(error)) : resolve(sdp)));
    });
  }

  /** Applies the server's SDP answer, then the candidates that came before it. */
  async answer(sdpAnswer: string): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#peer.processAnswer(sdpAnswer, (error) => (error ? reject(asError(error)) : resolve()));
    });
    this.#answered = true;
    for (const candidate of this.#pending.splice(0)) this.#add(candidate);
  }

  /** A candidate from the media server. */
  addRemoteCandidate(candidate: IceCandidateInit): void {
    if (this.#closed) return;
    if (this.#answered) this.#add(candidate);
    else this.#pending.push(candidate);
  }

  /** Sends `track` in place of the one of its kind, without renegotiation (a screen, and back to the camera). */
  async replaceTrack(track: MediaStreamTrack): Promise<void> {
    const sender = this.#peer.peerConnection
      .getSenders()
      .find((s) => s.track?.kind === track.kind || (s.track === null && track.kind === 'video'));
    if (!sender) throw new Error(`no ${track.kind} is being sent`);
    await sender.replaceTrack(track);
  }

  /** Stops sending and receiving, and the camera. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#pending.length = 0;
    const pc = this.#peer.peerConnection;
    try {
      this.#peer.dispose();
    } catch {
      // Closed below anyway.
    }
    // kurento-utils' dispose() gives up before closing a receive-only connection (its sender has no track).
    if (pc.signalingState !== 'closed') pc.close();
    for (const track of this.#stream?.getTracks() ?? []) track.stop();
  }

  #add(candidate: IceCandidateInit): void {
    this.#peer.addIceCandidate(candidate, (error) => {
      if (error && !this.#closed) console.warn('onair: a media server ICE candidate was refused', error);
    });
  }
}

function create(factory: Factory, opts: MediaPeerOptions, stream: MediaStream | null): Promise<WebRtcPeer> {
  return new Promise((resolve, reject) => {
    const peer: WebRtcPeer = factory(
      {
        remoteVideo: opts.video,
        ...(stream ? { videoStream: stream } : {}),
        configuration: { iceServers: opts.iceServers },
        onicecandidate: (candidate) =>
          opts.onCandidate({
            candidate: candidate.candidate,
            sdpMid: candidate.sdpMid,
            sdpMLineIndex: candidate.sdpMLineIndex,
          }),
      },
      (error) => {
        if (!error) return resolve(peer);
        peer.dispose();
        reject(asError(error));
      },
    );
    if (opts.onConnectionState) {
      const pc = peer.peerConnection;
      pc.addEventListener('connectionstatechange', () => opts.onConnectionState?.(pc.connectionState));
    }
  });
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(typeof error === 'string' ? error : 'WebRTC failed');
}
