/** Media checks for tests: the media server's pipelines, and what ffprobe says of a recording. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { isSeekable, webmInfo } from '../../api/recordings/webmInfo.js';
import type { TestServer } from './server.js';

const run = promisify(execFile);

/** Pipelines the test server's media server holds right now. */
export async function pipelineCount(server: TestServer): Promise<number> {
  const media = server.server.services.media;
  if (!media) throw new Error('this test server runs without media');
  return (await media.server.pipelineIds()).length;
}

export interface ProbedFile {
  durationS: number;
  codecs: string[];
  /** A duration and Cues (an index) in the WebM header: a browser can seek it. */
  seekable: boolean;
}

/** ffprobe of a media file: container duration, stream codecs. */
export async function probe(file: string): Promise<ProbedFile> {
  const { stdout } = await run('ffprobe', [
    '-v',
    'error',
    '-show_entries',
    'format=duration:stream=codec_name',
    '-of',
    'json',
    file,
  ]);
  const parsed = JSON.parse(stdout) as { format?: { duration?: string }; streams?: Array<{ codec_name: string }> };
  return {
    durationS: Number(parsed.format?.duration ?? 0),
    codecs: (parsed.streams ?? []).map((s) => s.codec_name).sort(),
    seekable: isSeekable(await webmInfo(file)),
  };
}

/**
 * Decodes the whole file; resolves the decoder's error lines (empty when it decodes cleanly). Frames keep their
 * times in the container's time base: two frames closer than a frame interval (a loaded browser's capture times)
 * are fine, two at one time are reported.
 */
export async function decodeErrors(file: string): Promise<string> {
  const args = ['-v', 'error', '-i', file, '-fps_mode', 'passthrough', '-enc_time_base', '-1', '-f', 'null', '-'];
  const { stderr } = await run('ffmpeg', args, {
    maxBuffer: 32 * 1024 * 1024,
  });
  return stderr.trim();
}
