/**
 * ffmpeg feeding a clip as plain RTP, the way both sides of `bench:fanout` get their source: looped, at its own pace
 * (-re), copied without transcoding, in packets of at most 1212 bytes (the engine player's 1200-byte payloads and a
 * 12-byte header), VP8 and Opus each to a port of its own, without RTCP. The engine's RtpEndpoint and Janus's
 * streaming mountpoint receive the same packets, and ffmpeg's CPU stays out of both figures, as a browser
 * presenter's does in production.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export const FEED_PAYLOAD_TYPES = { video: 96, audio: 111 } as const;

/**
 * Starts ffmpeg sending `clip` to `ports` on `host` (127.0.0.1 by default); the caller ends it (kill). It loops
 * forever, so it is also killed when this process exits without having ended it (a bench that threw).
 */
export function feedClip(
  clip: string,
  ports: { video: number; audio: number },
  log: (line: string) => void,
  host = '127.0.0.1',
): ChildProcess {
  const out = (kind: 'video' | 'audio') => [
    ...['-map', kind === 'video' ? '0:v:0' : '0:a:0', '-c', 'copy'],
    ...['-payload_type', String(FEED_PAYLOAD_TYPES[kind]), '-pkt_size', '1212'],
    ...['-rtpflags', 'skip_rtcp', '-f', 'rtp', `rtp://${host}:${ports[kind]}`],
  ];
  const feed = spawn(
    'ffmpeg',
    ['-v', 'error', '-re', '-stream_loop', '-1', '-i', clip, ...out('video'), ...out('audio')],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  feed.stderr.on('data', (data: Buffer) => log(`[ffmpeg feed] ${data.toString().trim()}`));
  feed.once('error', (error) => log(`[bench] ffmpeg feed: ${error.message}`));
  const orphaned = () => feed.kill('SIGKILL');
  process.once('exit', orphaned);
  feed.once('exit', () => process.off('exit', orphaned));
  return feed;
}
