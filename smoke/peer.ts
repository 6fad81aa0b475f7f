/**
 * The smoke check's WebRTC peers, on werift (no browser): a presenter that sends the clip's VP8 and Opus RTP and
 * receives its own stream back from the media server (the loopback preview), and a receive-only viewer. Both use
 * the ICE servers the deployment handed out (TURN with its time-limited credentials), optionally relay only, and
 * trickle their candidates through `onCandidate`.
 */
import { RTCPeerConnection, RTCRtpCodecParameters, type RTCRtpTransceiver } from 'werift';
import type { IceCandidateInit, IceServer } from '../api/contract/signalling.js';
import { ClipSender, OPUS_PAYLOAD_TYPE, ReceivedMedia, VP8_PAYLOAD_TYPE, type Clip } from './media.js';

export interface PeerOptions {
  iceServers: IceServer[];
  /** Only relayed candidates (proves the TURN server works). */
  relayOnly: boolean;
  onCandidate: (candidate: IceCandidateInit) => void;
}

export class SmokePeer {
  readonly pc: RTCPeerConnection;
  readonly received = new ReceivedMedia();
  readonly #sender: ClipSender | undefined;
  #state = 'new';
  #closed = false;

  private constructor(options: PeerOptions, clip: Clip | null) {
    const stun = options.iceServers.some((s) => [s.urls].flat().some((url) => /^stuns?:/i.test(url)));
    this.pc = new RTCPeerConnection({
      iceServers: options.iceServers,
      iceTransportPolicy: options.relayOnly ? 'relay' : 'all',
      iceUseIpv6: false,
      codecs: {
        audio: [
          new RTCRtpCodecParameters({
            mimeType: 'audio/opus',
            clockRate: 48_000,
            channels: 2,
            payloadType: OPUS_PAYLOAD_TYPE,
          }),
        ],
        video: [
          new RTCRtpCodecParameters({
            mimeType: 'video/VP8',
            clockRate: 90_000,
            payloadType: VP8_PAYLOAD_TYPE,
            rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }],
          }),
        ],
      },
    });
    this.pc.connectionStateChange.subscribe((state) => (this.#state = state));
    this.pc.onIceCandidate.subscribe((candidate) => {
      if (!candidate?.candidate || this.#closed) return;
      const { candidate: line, sdpMid, sdpMLineIndex } = candidate.toJSON();
      options.onCandidate({ candidate: line, sdpMid: sdpMid ?? null, sdpMLineIndex: sdpMLineIndex ?? null });
    });
    const direction = clip ? 'sendrecv' : 'recvonly';
    const audio = this.pc.addTransceiver('audio', { direction });
    const video = this.pc.addTransceiver('video', { direction });
    this.#receive(audio, 'audio');
    this.#receive(video, 'video');
    // werift asks a public STUN server when it is given none; a browser given no STUN server asks none.
    if (!stun) for (const transport of this.pc.iceTransports) transport.connection.stunServer = undefined;
    if (clip) {
      this.#sender = new ClipSender(clip, {
        video: (packet) => void video.sender.sendRtp(packet).catch(() => undefined),
        audio: (packet) => void audio.sender.sendRtp(packet).catch(() => undefined),
      });
    }
  }

  /** A presenter: sends the clip (from when DTLS is up) and receives its own stream back. */
  static presenter(options: PeerOptions, clip: Clip): SmokePeer {
    return new SmokePeer(options, clip);
  }

  /** A viewer: receives only. */
  static viewer(options: PeerOptions): SmokePeer {
    return new SmokePeer(options, null);
  }

  get connectionState(): string {
    return this.#state;
  }

  get sentFrames(): { video: number; audio: number } {
    return { video: this.#sender?.videoFrames ?? 0, audio: this.#sender?.audioFrames ?? 0 };
  }

  #receive(transceiver: RTCRtpTransceiver, kind: 'audio' | 'video'): void {
    transceiver.onTrack.subscribe((track) =>
      track.onReceiveRtp.subscribe((packet) =>
        kind === 'video' ? this.received.onVideo(packet) : this.received.onAudio(packet),
      ),
    );
  }

  async offer(): Promise<string> {
    await this.pc.setLocalDescription(await this.pc.createOffer());
    return this.pc.localDescription!.sdp;
  }

  async answer(sdp: string): Promise<void> {
    await this.pc.setRemoteDescription({ type: 'answer', sdp });
    this.#sender?.start();
  }

  addCandidate(candidate: IceCandidateInit): void {
    if (this.#closed) return;
    this.pc
      .addIceCandidate({
        candidate: candidate.candidate,
        ...(candidate.sdpMid != null ? { sdpMid: candidate.sdpMid } : {}),
        ...(candidate.sdpMLineIndex != null ? { sdpMLineIndex: candidate.sdpMLineIndex } : {}),
      })
      .catch(() => undefined);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#sender?.stop();
    await this.pc.close().catch(() => undefined);
  }
}
