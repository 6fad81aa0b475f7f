/**
 * Checks a downloaded recording as a player would: an EBML header with DocType webm, a duration in its header
 * (what lets a player show a length and a seek bar), a VP8 video track that starts with a keyframe, and a
 * keyframe to seek to half-way. ffmpeg, when there is one, decodes the whole file as a last check.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { ALL_FORMATS, BufferSource, EncodedPacketSink, Input } from 'mediabunny';
import { SmokeError } from './client.js';

const run = promisify(execFile);

export interface PlayableWebm {
  /** From the file's header. */
  headerDurationMs: number;
  /** From its last packets. */
  durationMs: number;
  codecs: string[];
  /** Media time of the keyframe a seek to half-way lands on (ms). */
  seekKeyframeMs: number;
}

export async function checkPlayableWebm(file: Buffer): Promise<PlayableWebm> {
  if (file.length < 64 || file.readUInt32BE(0) !== 0x1a45dfa3)
    throw new SmokeError('the media file has no EBML header');
  const head = file.subarray(0, 64).toString('latin1');
  if (!head.includes('webm')) throw new SmokeError('the media file is EBML but its DocType is not webm');
  const input = new Input({ source: new BufferSource(file), formats: ALL_FORMATS });
  try {
    const headerDuration = await input.getDurationFromMetadata();
    if (!headerDuration || !(headerDuration > 0))
      throw new SmokeError('the WebM header has no duration (the recording was not finalised)');
    const durationMs = Math.round((await input.computeDuration()) * 1000);
    const tracks = await input.getTracks();
    const codecs = tracks.map((t) => t.codec ?? 'unknown').sort();
    const video = await input.getPrimaryVideoTrack();
    if (!video) throw new SmokeError(`the recording has no video track (tracks: ${codecs.join(', ') || 'none'})`);
    const sink = new EncodedPacketSink(video);
    const first = await sink.getFirstPacket();
    if (first?.type !== 'key') throw new SmokeError('the recording does not start with a video keyframe');
    const middle = await sink.getKeyPacket(durationMs / 2000);
    if (!middle) throw new SmokeError('no keyframe to seek to half-way through the recording');
    return {
      headerDurationMs: Math.round(headerDuration * 1000),
      durationMs,
      codecs,
      seekKeyframeMs: Math.round(middle.timestamp * 1000),
    };
  } finally {
    input.dispose();
  }
}

/** Decodes a whole file with ffmpeg; throws with its first error lines. */
export async function decodeWithFfmpeg(dir: string, file: Buffer): Promise<void> {
  const target = path.join(dir, 'recording.webm');
  await writeFile(target, file);
  const { stderr } = await run('ffmpeg', ['-v', 'error', '-i', target, '-f', 'null', '-'], {
    maxBuffer: 16 * 1024 * 1024,
  });
  if (stderr.trim())
    throw new SmokeError(`ffmpeg could not decode the recording cleanly: ${stderr.trim().slice(0, 300)}`);
}
