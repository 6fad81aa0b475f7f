/**
 * The sending half of a relay, in the worker of the source element: a sink of that source that forwards each packet
 * once over loopback UDP to the relay source of another worker, whatever the number of viewers there. Feedback from
 * that worker comes back here: keyframe requests go up to the source, the bitrate its viewers allow is this sink's
 * video limit (so the presenter's REMB accounts for them), and video it missed is sent again from a short history.
 */
import dgram from 'node:dgram';
import type { RtpPacket } from 'werift';
import { MediaElement } from '../elements/MediaElement.js';
import type { MediaPipeline } from '../elements/MediaPipeline.js';
import type { RuntimeContext } from '../elements/RuntimeContext.js';
import type { MediaKind, TrackInfo } from '../rtp/MediaTypes.js';
import {
  FEEDBACK_KEYFRAME,
  FEEDBACK_LIMIT,
  FEEDBACK_NACK,
  MEDIA_AUDIO,
  MEDIA_VIDEO,
  RELAY_HOST,
  codecByte,
} from './RelayWire.js';

/** Relayed video packets kept for the other worker's NACKs (a power of two; ~1 s of video). */
const HISTORY = 256;
const SEND_BUFFER_BYTES = 1024 * 1024;

export class RelaySink extends MediaElement {
  readonly #socket = dgram.createSocket('udp4');
  readonly #history: (Buffer | undefined)[] = new Array<Buffer | undefined>(HISTORY);
  readonly #historySeq = new Int32Array(HISTORY).fill(-1);
  #limitBps: number | undefined;
  packets = 0;

  private constructor(
    id: string,
    pipeline: MediaPipeline,
    context: RuntimeContext,
    private readonly peerPort: number,
  ) {
    super(id, 'PassThrough', pipeline, context);
    this.#socket.on('error', () => undefined);
    this.#socket.on('message', (message) => this.#onFeedback(message));
  }

  /** A relay sink bound to a loopback port of its own, sending to the relay source at `peerPort`. */
  static async open(
    id: string,
    pipeline: MediaPipeline,
    context: RuntimeContext,
    peerPort: number,
  ): Promise<RelaySink> {
    const sink = new RelaySink(id, pipeline, context, peerPort);
    await new Promise<void>((resolve, reject) => {
      sink.#socket.once('error', reject);
      sink.#socket.bind(0, RELAY_HOST, () => {
        sink.#socket.off('error', reject);
        resolve();
      });
    });
    try {
      sink.#socket.setSendBufferSize(SEND_BUFFER_BYTES);
    } catch {
      // the OS default then
    }
    return sink;
  }

  get port(): number {
    return this.#socket.address().port;
  }

  override consume(packet: RtpPacket, track: TrackInfo): void {
    const rtp = packet.serialize();
    const datagram = Buffer.allocUnsafe(2 + rtp.length);
    datagram[0] = track.kind === 'video' ? MEDIA_VIDEO : MEDIA_AUDIO;
    datagram[1] = codecByte(track.codec);
    rtp.copy(datagram, 2);
    if (track.kind === 'video') {
      const seq = packet.header.sequenceNumber;
      const slot = seq & (HISTORY - 1);
      this.#history[slot] = datagram;
      this.#historySeq[slot] = seq;
    }
    this.packets += 1;
    this.#send(datagram);
  }

  /** The bitrate the viewers behind this relay let the source send (REMB), as they last reported it. */
  override videoSendLimitBps(): number | undefined {
    return this.#limitBps;
  }

  override videoCodec(): TrackInfo['codec'] | undefined {
    return undefined;
  }

  /**
   * A relay starts with its source's current GOP, so that the far worker's relay source caches it and its viewers
   * start at once as they do here; without one (or with a long one) the source is asked for a keyframe.
   */
  protected override onSourceConnected(kind: MediaKind): void {
    if (kind === 'video') this.primeVideoFromSource();
  }

  /** Flow events of a relay are nobody's business: no tick. */
  override tick(): void {}

  protected override onClose(): void {
    super.onClose();
    this.#socket.close();
  }

  #onFeedback(message: Buffer): void {
    switch (message[0]) {
      case FEEDBACK_KEYFRAME:
        this.requestKeyframeUpstream();
        return;
      case FEEDBACK_LIMIT: {
        if (message.length < 5) return;
        const bps = message.readUInt32BE(1);
        this.#limitBps = bps > 0 ? bps : undefined;
        return;
      }
      case FEEDBACK_NACK:
        for (let i = 1; i + 1 < message.length; i += 2) {
          const seq = message.readUInt16BE(i);
          const slot = seq & (HISTORY - 1);
          const sent = this.#history[slot];
          if (sent && this.#historySeq[slot] === seq) this.#send(sent);
        }
        return;
    }
  }

  #send(datagram: Buffer): void {
    try {
      this.#socket.send(datagram, this.peerPort, RELAY_HOST);
    } catch {
      // closed under us: the relay is going away
    }
  }
}
