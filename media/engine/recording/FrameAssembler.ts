import type { RtpPacket } from 'werift';
import { H264Assembler } from './H264Assembler.js';
import { Vp8Assembler } from './Vp8Assembler.js';
import { opusPacketDurationMs } from './codecs/Opus.js';
import type { CodecName } from './types.js';

/** One whole coded frame rebuilt from RTP packets. */
export interface AssembledFrame {
  rtpTimestamp: number;
  data: Uint8Array;
  keyframe: boolean;
  /** False when a frame may have been lost since the previous one (a decoder needs a keyframe to resume). */
  continuous: boolean;
  /** Known for audio (from the Opus TOC). */
  durationMs?: number;
}

/** Rebuilds frames from RTP packets given in sequence order, `gapBefore` marking packets lost just before. */
export interface FrameAssembler {
  push(packet: RtpPacket, gapBefore: boolean): AssembledFrame[];
  /** Forget any partial frame (pause, stream restart). */
  reset(): void;
}

class OpusAssembler implements FrameAssembler {
  push(packet: RtpPacket): AssembledFrame[] {
    const data = packet.payload;
    if (data.byteLength === 0) return [];
    const durationMs = opusPacketDurationMs(data) ?? 20;
    return [{ rtpTimestamp: packet.header.timestamp, data, keyframe: true, continuous: true, durationMs }];
  }

  reset(): void {}
}

export function createAssembler(codec: CodecName): FrameAssembler {
  if (codec === 'VP8') return new Vp8Assembler();
  if (codec === 'H264') return new H264Assembler();
  return new OpusAssembler();
}
