/**
 * The receiving half of a relay, in a worker that serves viewers of a source living in another worker: a normal
 * source element of that worker's copy of the pipeline, fanning out what the relay sink sends to every sink here.
 * Keyframe requests of its sinks, the lowest video limit among them (REMB), and video packets that did not arrive
 * (NACK) go back to the relay sink.
 */
import dgram from 'node:dgram';
import { RtpPacket } from 'werift';
import { MediaElement } from '../elements/MediaElement.js';
import type { MediaPipeline } from '../elements/MediaPipeline.js';
import type { RuntimeContext } from '../elements/RuntimeContext.js';
import type { CodecName } from '../rtp/MediaTypes.js';
import {
  FEEDBACK_KEYFRAME,
  FEEDBACK_LIMIT,
  FEEDBACK_NACK,
  MEDIA_VIDEO,
  RELAY_HOST,
  codecOf,
  trackOf,
} from './RelayWire.js';

const RECEIVE_BUFFER_BYTES = 4 * 1024 * 1024;
/** A forward jump of the video sequence by more than this is a new stream, not a loss. */
const MAX_NACK_GAP = 64;

export class RelaySource extends MediaElement {
  readonly #socket = dgram.createSocket('udp4');
  #peerPort: number | undefined;
  #codec: CodecName | undefined;
  #keyframeWanted = false;
  #videoSsrc = -1;
  #nextVideoSeq = -1;
  packets = 0;
  nacked = 0;

  private constructor(id: string, pipeline: MediaPipeline, context: RuntimeContext) {
    super(id, 'PassThrough', pipeline, context);
    this.#socket.on('error', () => undefined);
    this.#socket.on('message', (message, rinfo) => this.#onMedia(message, rinfo.port));
  }

  static async open(id: string, pipeline: MediaPipeline, context: RuntimeContext): Promise<RelaySource> {
    const source = new RelaySource(id, pipeline, context);
    await new Promise<void>((resolve, reject) => {
      source.#socket.once('error', reject);
      source.#socket.bind(0, RELAY_HOST, () => {
        source.#socket.off('error', reject);
        resolve();
      });
    });
    try {
      source.#socket.setRecvBufferSize(RECEIVE_BUFFER_BYTES);
    } catch {
      // capped by net.core.rmem_max: the OS default then
    }
    return source;
  }

  get port(): number {
    return this.#socket.address().port;
  }

  /** Where the relay sink is and what video it carries (known before its first packet arrives). */
  peer(port: number, codec: CodecName | undefined): void {
    this.#peerPort = port;
    if (codec) this.#codec = codec;
    if (this.#keyframeWanted) this.requestKeyframe();
  }

  override videoCodec(): CodecName | undefined {
    return this.#codec;
  }

  /** Asks the relay sink, hence the source behind it, for a keyframe (the source limits how often it asks its peer). */
  override requestKeyframe(): void {
    if (this.#peerPort === undefined) {
      this.#keyframeWanted = true;
      return;
    }
    this.#keyframeWanted = false;
    this.#feedback(Buffer.of(FEEDBACK_KEYFRAME));
  }

  /** About once a second (the relay hub's ticker): the lowest video limit of the sinks here, 0 for none. */
  override tick(): void {
    const limit = this.downstreamVideoLimitBps();
    const message = Buffer.alloc(5);
    message[0] = FEEDBACK_LIMIT;
    message.writeUInt32BE(limit === undefined ? 0 : Math.min(Math.round(limit), 0xffffffff), 1);
    this.#feedback(message);
  }

  protected override onClose(): void {
    super.onClose();
    this.#socket.close();
  }

  #onMedia(message: Buffer, port: number): void {
    if (message.length < 14) return;
    this.#peerPort ??= port;
    const codec = codecOf(message[1]!);
    if (!codec) return;
    let packet: RtpPacket;
    try {
      packet = RtpPacket.deSerialize(message.subarray(2));
    } catch {
      return;
    }
    const video = message[0] === MEDIA_VIDEO;
    if (video) {
      this.#codec = codec;
      this.#checkLoss(packet);
    }
    this.packets += 1;
    this.forward(video ? 'video' : 'audio', packet, trackOf(video ? 'video' : 'audio', codec));
  }

  /** A gap in the relayed video is asked again at once (loopback loss means this worker was too busy to read). */
  #checkLoss(packet: RtpPacket): void {
    const { ssrc, sequenceNumber: seq } = packet.header;
    if (ssrc !== this.#videoSsrc || this.#nextVideoSeq < 0) {
      this.#videoSsrc = ssrc;
      this.#nextVideoSeq = (seq + 1) & 0xffff;
      return;
    }
    const gap = (seq - this.#nextVideoSeq) & 0xffff;
    if (gap === 0) {
      this.#nextVideoSeq = (seq + 1) & 0xffff;
      return;
    }
    if (gap > 0x8000) return; // late: a retransmission or a reordered packet
    if (gap <= MAX_NACK_GAP) {
      const message = Buffer.alloc(1 + 2 * gap);
      message[0] = FEEDBACK_NACK;
      for (let i = 0; i < gap; i++) message.writeUInt16BE((this.#nextVideoSeq + i) & 0xffff, 1 + 2 * i);
      this.nacked += gap;
      this.#feedback(message);
    }
    this.#nextVideoSeq = (seq + 1) & 0xffff;
  }

  #feedback(message: Buffer): void {
    if (this.#peerPort === undefined) return;
    try {
      this.#socket.send(message, this.#peerPort, RELAY_HOST);
    } catch {
      // closed under us
    }
  }
}
