/**
 * ffmpeg and ffprobe, when the machine has them: detected once (a missing tool is not an error, only a
 * capability less), then used to remux a WebM without re-encoding, measure its duration and grab a poster frame.
 */
import { execFile } from 'node:child_process';

export interface MediaToolsOptions {
  /** Commands or paths to try (default `ffmpeg` and `ffprobe` on the PATH). */
  ffmpeg?: string;
  ffprobe?: string;
}

export interface ProbeResult {
  /** Container duration, or null when the file does not say (N/A). */
  durationMs: number | null;
  hasVideo: boolean;
  hasAudio: boolean;
}

const DETECT_TIMEOUT_MS = 10_000;
/** A remux copies packets: even hours of media take seconds; this bounds a stuck process. */
const RUN_TIMEOUT_MS = 10 * 60_000;

function run(command: string, args: string[], signal?: AbortSignal, timeoutMs = RUN_TIMEOUT_MS): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: timeoutMs, maxBuffer: 4 * 1024 * 1024, signal, windowsHide: true }, (err, stdout, stderr) => {
      if (err) {
        const detail = String(stderr).trim().split('\n').slice(-3).join(' | ');
        reject(new Error(`${command} failed: ${detail || err.message}`, { cause: err }));
      } else {
        resolve({ stdout: String(stdout), stderr: String(stderr) });
      }
    });
  });
}

async function available(command: string): Promise<boolean> {
  try {
    await run(command, ['-hide_banner', '-version'], undefined, DETECT_TIMEOUT_MS);
    return true;
  } catch {
    return false;
  }
}

export class MediaTools {
  /** The ffmpeg command, or null when there is none. */
  readonly ffmpeg: string | null;
  /** The ffprobe command, or null when there is none. */
  readonly ffprobe: string | null;

  constructor(ffmpeg: string | null, ffprobe: string | null) {
    this.ffmpeg = ffmpeg;
    this.ffprobe = ffprobe;
  }

  /** Finds out which tools work here. Never rejects. */
  static async detect(options: MediaToolsOptions = {}): Promise<MediaTools> {
    const ffmpeg = options.ffmpeg ?? 'ffmpeg';
    const ffprobe = options.ffprobe ?? 'ffprobe';
    const [hasFfmpeg, hasFfprobe] = await Promise.all([available(ffmpeg), available(ffprobe)]);
    return new MediaTools(hasFfmpeg ? ffmpeg : null, hasFfprobe ? ffprobe : null);
  }

  /** Rewrites `src` into `dst` (WebM, or Matroska for `.mkv`) without re-encoding: duration and cues (the index) are written. */
  async remux(src: string, dst: string, signal?: AbortSignal): Promise<void> {
    if (!this.ffmpeg) throw new Error('ffmpeg is not available');
    // `-map 0` keeps every stream; a file cut short is copied up to its last readable packet.
    await run(this.ffmpeg, ['-hide_banner', '-nostdin', '-v', 'error', '-y', '-i', src, '-map', '0', '-c', 'copy', '-f', containerOf(src), dst], signal);
  }

  /**
   * Writes the part [startMs, endMs] of `src` into `dst` as WebM by stream copy (no re-encoding): the cut starts at
   * the keyframe at or before `startMs`, so it may begin a little early; it ends at `endMs`.
   */
  async cut(src: string, dst: string, startMs: number, endMs: number, signal?: AbortSignal): Promise<void> {
    if (!this.ffmpeg) throw new Error('ffmpeg is not available');
    await run(this.ffmpeg, [
      '-hide_banner', '-nostdin', '-v', 'error', '-y', '-ss', (startMs / 1000).toFixed(3), '-i', src,
      '-t', ((endMs - startMs) / 1000).toFixed(3), '-map', '0', '-c', 'copy', '-avoid_negative_ts', 'make_zero', '-f', containerOf(src), dst,
    ], signal);
  }

  /** Writes one JPEG frame of `src` taken at `atSeconds` into `dst` (at most 640 px wide). */
  async poster(src: string, dst: string, atSeconds: number, signal?: AbortSignal): Promise<void> {
    if (!this.ffmpeg) throw new Error('ffmpeg is not available');
    await run(this.ffmpeg, [
      '-hide_banner', '-nostdin', '-v', 'error', '-y', '-ss', atSeconds.toFixed(3), '-i', src,
      '-map', '0:v:0', '-frames:v', '1', '-vf', "scale='min(640,iw)':-2", '-q:v', '4', '-f', 'image2', '-c:v', 'mjpeg', dst,
    ], signal);
  }

  /** Duration and streams of a media file. */
  async probe(file: string, signal?: AbortSignal): Promise<ProbeResult> {
    if (!this.ffprobe) throw new Error('ffprobe is not available');
    const { stdout } = await run(this.ffprobe, ['-hide_banner', '-v', 'error', '-show_entries', 'format=duration:stream=codec_type', '-of', 'json', file], signal);
    const parsed = JSON.parse(stdout) as { format?: { duration?: string }; streams?: Array<{ codec_type?: string }> };
    const seconds = Number(parsed.format?.duration);
    const types = new Set((parsed.streams ?? []).map((s) => s.codec_type));
    return {
      durationMs: Number.isFinite(seconds) && seconds > 0 ? Math.round(seconds * 1000) : null,
      hasVideo: types.has('video'),
      hasAudio: types.has('audio'),
    };
  }
}

/** ffmpeg's muxer for a recording: Matroska for `.mkv` (H.264), else WebM. */
function containerOf(file: string): 'matroska' | 'webm' {
  return file.endsWith('.mkv') ? 'matroska' : 'webm';
}
