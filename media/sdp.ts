import { MediaError } from './errors.js';

/** Largest SDP accepted from a browser (Chromium's offers are a few kB). */
export const MAX_SDP_BYTES = 32 * 1024;

export type SdpRole = 'presenter' | 'viewer';

/**
 * Check that an SDP offer is well formed and fits its role before it reaches the media server:
 * a presenter must send audio or video, a viewer must send nothing. Throws `sdp.invalid` with the reason.
 */
export function validateOffer(sdp: unknown, role: SdpRole): string {
  if (typeof sdp !== 'string') throw new MediaError('sdp.invalid', 'the SDP offer must be a string');
  if (Buffer.byteLength(sdp) > MAX_SDP_BYTES)
    throw new MediaError('sdp.invalid', `the SDP offer is larger than ${MAX_SDP_BYTES} bytes`);
  const lines = sdp.split(/\r?\n/).filter((l) => l.length > 0);
  if (lines[0] !== 'v=0') throw new MediaError('sdp.invalid', 'the SDP offer does not start with v=0');
  if (!lines.every((l) => /^[a-z]=/.test(l))) throw new MediaError('sdp.invalid', 'the SDP offer has a malformed line');
  const sections = mediaSections(lines);
  if (sections.length === 0) throw new MediaError('sdp.invalid', 'the SDP offer has no media section');
  for (const s of sections) {
    if (!/^m=(audio|video|application) \d+ [A-Z/]+ .+$/.test(s.mLine))
      throw new MediaError('sdp.invalid', `malformed media line: ${s.mLine.slice(0, 80)}`);
  }
  const sends = (s: MediaSection) => s.direction === 'sendrecv' || s.direction === 'sendonly';
  const av = sections.filter((s) => s.kind === 'audio' || s.kind === 'video');
  if (role === 'viewer' && av.some(sends)) throw new MediaError('sdp.invalid', 'a viewer offer must be receive-only');
  if (role === 'presenter' && !av.some(sends)) {
    throw new MediaError('sdp.invalid', 'a presenter offer must send audio or video');
  }
  return sdp;
}

/** Which media an offer actually sends (a `sendrecv` or `sendonly` audio or video section with a port). */
export function sentMedia(sdp: string): { audio: boolean; video: boolean } {
  const sections = mediaSections(sdp.split(/\r?\n/).filter((l) => l.length > 0));
  // A section with port 0 is rejected (RFC 3264): nothing flows in it, whatever its direction says.
  const sends = (kind: string) =>
    sections.some(
      (s) =>
        s.kind === kind && (s.direction === 'sendrecv' || s.direction === 'sendonly') && !/^m=\S+ 0 /.test(s.mLine),
    );
  return { audio: sends('audio'), video: sends('video') };
}

interface MediaSection {
  kind: string;
  mLine: string;
  direction: 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';
}

function mediaSections(lines: string[]): MediaSection[] {
  const sections: MediaSection[] = [];
  let sessionDirection: MediaSection['direction'] = 'sendrecv';
  let current: MediaSection | undefined;
  for (const line of lines) {
    if (line.startsWith('m=')) {
      current = { kind: line.slice(2).split(' ')[0] ?? '', mLine: line, direction: sessionDirection };
      sections.push(current);
      continue;
    }
    const dir = /^a=(sendrecv|sendonly|recvonly|inactive)$/.exec(line)?.[1] as MediaSection['direction'] | undefined;
    if (!dir) continue;
    if (current) current.direction = dir;
    else sessionDirection = dir;
  }
  return sections;
}

/** Whether the offer's video sections offer H.264 and no VP8 (what the media server then must take as is). */
export function offersOnlyH264(sdp: string): boolean {
  const codecs = new Set<string>();
  let inVideo = false;
  for (const line of sdp.split(/\r?\n/)) {
    if (line.startsWith('m=')) inVideo = line.startsWith('m=video ');
    const name = inVideo ? /^a=rtpmap:\d+ ([A-Za-z0-9-]+)\//.exec(line)?.[1] : undefined;
    if (name) codecs.add(name.toUpperCase());
  }
  return codecs.has('H264') && !codecs.has('VP8');
}
