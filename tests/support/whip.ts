/**
 * A WHIP publisher and a WHEP player on werift (no browser), as an encoder or a player would speak to onair: one
 * non-trickle offer (candidates gathered first) POSTed as application/sdp, the 201's answer applied, DELETE on the
 * Location at the end. The publisher sends the smoke clip's VP8 and Opus RTP; the player counts what arrives and
 * keeps the first whole VP8 keyframe (ReceivedMedia).
 */
import { RTCPeerConnection, RTCRtpCodecParameters, type RTCRtpTransceiver } from 'werift';
import { ClipSender, OPUS_PAYLOAD_TYPE, ReceivedMedia, VP8_PAYLOAD_TYPE, type Clip } from '../../smoke/media.js';

export interface WhipAnswer {
  status: number;
  headers: Headers;
  text: string;
  /** The Location, resolved against the server. */
  location: string | null;
}

export class WhipPeer {
  readonly pc: RTCPeerConnection;
  readonly received = new ReceivedMedia();
  readonly #sender: ClipSender | undefined;
  #location: string | null = null;
  #closed = false;

  private constructor(clip: Clip | null) {
    this.pc = new RTCPeerConnection({
      iceUseIpv6: false,
      // One transport from the start: werift does not close the ones a bundled answer leaves unused.
      bundlePolicy: 'max-bundle',
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
    const direction = clip ? 'sendonly' : 'recvonly';
    const audio = this.pc.addTransceiver('audio', { direction });
    const video = this.pc.addTransceiver('video', { direction });
    this.#receive(audio, 'audio');
    this.#receive(video, 'video');
    // werift asks a public STUN server when it is given none: this host has no network but loopback.
    for (const transport of this.pc.iceTransports) transport.connection.stunServer = undefined;
    if (clip) {
      this.#sender = new ClipSender(clip, {
        video: (packet) => void video.sender.sendRtp(packet).catch(() => undefined),
        audio: (packet) => void audio.sender.sendRtp(packet).catch(() => undefined),
      });
    }
  }

  /** A WHIP encoder sending `clip`. */
  static publisher(clip: Clip): WhipPeer {
    return new WhipPeer(clip);
  }

  /** A WHEP player. */
  static player(): WhipPeer {
    return new WhipPeer(null);
  }

  get connectionState(): string {
    return this.pc.connectionState;
  }

  get sentFrames(): number {
    return this.#sender?.videoFrames ?? 0;
  }

  /** The offer with every candidate in it (a non-trickle client). */
  async gatheredOffer(): Promise<string> {
    await this.pc.setLocalDescription(await this.pc.createOffer());
    if (this.pc.iceGatheringState !== 'complete') {
      await new Promise<void>((resolve) => {
        const sub = this.pc.iceGatheringStateChange.subscribe((state) => {
          if (state !== 'complete') return;
          sub.unSubscribe();
          resolve();
        });
      });
    }
    return this.pc.localDescription!.sdp;
  }

  /** POST the offer to `url` with `token` as Bearer; applies a 201's answer and starts sending. */
  async connect(url: string, token: string): Promise<WhipAnswer> {
    const offer = await this.gatheredOffer();
    const response = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/sdp' },
      body: offer,
    });
    const text = await response.text();
    const location = response.headers.get('location');
    this.#location = location ? new URL(location, url).href : null;
    if (response.status === 201) {
      await this.pc.setRemoteDescription({ type: 'answer', sdp: text });
      this.#sender?.start();
    }
    return { status: response.status, headers: response.headers, text, location: this.#location };
  }

  /** Start sending the clip (connect does it after a 201; for callers that POST the offer themselves). */
  start(): void {
    this.#sender?.start();
  }

  /** DELETE on the session's Location; resolves the status. */
  async hangUp(): Promise<number> {
    if (!this.#location) return 0;
    const response = await fetch(this.#location, { method: 'DELETE' });
    await response.arrayBuffer();
    return response.status;
  }

  #receive(transceiver: RTCRtpTransceiver, kind: 'audio' | 'video'): void {
    transceiver.onTrack.subscribe((track) =>
      track.onReceiveRtp.subscribe((packet) =>
        kind === 'video' ? this.received.onVideo(packet) : this.received.onAudio(packet),
      ),
    );
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#sender?.stop();
    await this.pc.close().catch(() => undefined);
  }
}
