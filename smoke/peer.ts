/**
 * The smoke check's WebRTC peers, on werift (no browser): a presenter that sends the clip's VP8 and Opus RTP and
 * receives its own stream back from the media server (the loopback preview), and a receive-only viewer. Both use
 * the ICE servers the deployment handed out (TURN with its time-limited credentials), optionally relay only, and
 * trickle their candidates through `onCandidate`.
 */
import { RTCPeerConnection, RTCRtpCodecParameters, type RTCRtpTransceiver, type RtpPacket } from 'werift';
import type { IceCandidateInit, IceServer } from '../api/contract/signalling.js';
import { ClipSender, OPUS_PAYLOAD_TYPE, ReceivedMedia, VP8_PAYLOAD_TYPE, type Clip, type RtpSink } from './media.js';

/** The peer connection of a werift peer here: the ICE servers, relay only or not, one bundled transport or not. */
export interface WeriftPeerOptions {
  iceServers?: IceServer[];
  relayOnly?: boolean;
  /** `max-bundle`: one transport from the start (werift does not close the ones a bundled answer leaves unused). */
  bundlePolicy?: 'max-bundle';
  /** The video codec offered: VP8 (default) or H.264 constrained baseline (packetization mode 1). */
  video?: 'VP8' | 'H264';
}

/** The payload type of H.264 here (the engine's packetizer writes it). */
export const H264_PAYLOAD_TYPE = 102;

/**
 * A werift peer connection with onair's codecs (Opus, and VP8 or H.264, with NACK, PLI and FIR) and an audio and a
 * video transceiver in `direction`, whose received RTP goes to `onRtp`. werift asks a public STUN server when it is
 * given none; like a browser given no STUN server, it then asks none (this host may have no network but loopback).
 */
export function weriftPeer(
  options: WeriftPeerOptions,
  direction: 'sendrecv' | 'sendonly' | 'recvonly',
  onRtp: (kind: 'audio' | 'video', packet: RtpPacket) => void,
): { pc: RTCPeerConnection; audio: RTCRtpTransceiver; video: RTCRtpTransceiver } {
  const iceServers = options.iceServers ?? [];
  const feedback = [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }];
  const pc = new RTCPeerConnection({
    iceServers,
    iceTransportPolicy: options.relayOnly ? 'relay' : 'all',
    iceUseIpv6: false,
    ...(options.bundlePolicy ? { bundlePolicy: options.bundlePolicy } : {}),
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
        options.video === 'H264'
          ? new RTCRtpCodecParameters({
              mimeType: 'video/H264',
              clockRate: 90_000,
              payloadType: H264_PAYLOAD_TYPE,
              parameters: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
              rtcpFeedback: feedback,
            })
          : new RTCRtpCodecParameters({
              mimeType: 'video/VP8',
              clockRate: 90_000,
              payloadType: VP8_PAYLOAD_TYPE,
              rtcpFeedback: feedback,
            }),
      ],
    },
  });
  const audio = pc.addTransceiver('audio', { direction });
  const video = pc.addTransceiver('video', { direction });
  for (const [kind, transceiver] of [
    ['audio', audio],
    ['video', video],
  ] as const)
    transceiver.onTrack.subscribe((track) => track.onReceiveRtp.subscribe((packet) => onRtp(kind, packet)));
  const stun = iceServers.some((s) => [s.urls].flat().some((url) => /^stuns?:/i.test(url)));
  if (!stun) for (const transport of pc.iceTransports) transport.connection.stunServer = undefined;
  return { pc, audio, video };
}

/** Sets `pc`'s offer as its local description and resolves it once every candidate is in it (a non-trickle offer). */
export async function gatheredOffer(pc: RTCPeerConnection): Promise<string> {
  await pc.setLocalDescription(await pc.createOffer());
  if (pc.iceGatheringState !== 'complete') {
    await new Promise<void>((resolve) => {
      const sub = pc.iceGatheringStateChange.subscribe((state) => {
        if (state !== 'complete') return;
        sub.unSubscribe();
        resolve();
      });
    });
  }
  return pc.localDescription!.sdp;
}

/** Where a clip sender's RTP goes: out of the two transceivers (a send that fails once the peer is closed is dropped). */
export function transceiverSink(audio: RTCRtpTransceiver, video: RTCRtpTransceiver): RtpSink {
  return {
    video: (packet) => void video.sender.sendRtp(packet).catch(() => undefined),
    audio: (packet) => void audio.sender.sendRtp(packet).catch(() => undefined),
  };
}

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
    const { pc, audio, video } = weriftPeer(options, clip ? 'sendrecv' : 'recvonly', (kind, packet) =>
      kind === 'video' ? this.received.onVideo(packet) : this.received.onAudio(packet),
    );
    this.pc = pc;
    this.pc.connectionStateChange.subscribe((state) => (this.#state = state));
    this.pc.onIceCandidate.subscribe((candidate) => {
      if (!candidate?.candidate || this.#closed) return;
      const { candidate: line, sdpMid, sdpMLineIndex } = candidate.toJSON();
      options.onCandidate({ candidate: line, sdpMid: sdpMid ?? null, sdpMLineIndex: sdpMLineIndex ?? null });
    });
    if (clip) this.#sender = new ClipSender(clip, transceiverSink(audio, video));
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
