/** Forwards whatever its source sends to its sinks, and keyframe requests back up. */
import type { RtpPacket } from 'werift';
import type { TrackInfo } from '../rtp/MediaTypes.js';
import { MediaElement } from './MediaElement.js';
import type { MediaPipeline } from './MediaPipeline.js';
import type { RuntimeContext } from './RuntimeContext.js';

export class PassThrough extends MediaElement {
  constructor(id: string, pipeline: MediaPipeline, context: RuntimeContext) {
    super(id, 'PassThrough', pipeline, context);
  }

  override consume(packet: RtpPacket, track: TrackInfo): void {
    this.countIn(track.kind);
    this.countOut(track.kind);
    this.forward(track.kind, packet, track);
  }

  override requestKeyframe(): void {
    this.requestKeyframeUpstream();
  }

  override videoCodec(): TrackInfo['codec'] | undefined {
    return this.sourceOf('video')?.videoCodec();
  }
}
