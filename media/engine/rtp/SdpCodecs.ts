/**
 * The engine's explicit codec choice. A remote SDP is cut down to exactly one codec per media section
 * (Opus for audio; for video the preferred codec if offered, else VP8, else H.264 with
 * packetization-mode=1) before werift sees it, so that source and sinks agree on what is forwarded.
 * transport-cc feedback is dropped too: werift would echo it, and Chromium's bandwidth estimate
 * collapses against werift's TWCC.
 */
import { KurentoError } from '../protocol/KurentoError.js';
import type { CodecName, MediaKind } from './MediaTypes.js';

export interface SdpCodec {
  payloadType: number;
  name: CodecName;
  clockRate: number;
  channels: number | undefined;
  fmtp: string | undefined;
  rtcpFeedback: string[];
}

interface Section {
  kind: string;
  lines: string[];
}

const CODEC_NAMES: Record<string, CodecName> = { vp8: 'VP8', h264: 'H264', opus: 'OPUS' };

/** Rejects what is clearly not an SDP with SDP_PARSE_ERROR (werift would fail in less clear ways). */
export function assertSdp(sdp: string, what: 'offer' | 'answer'): void {
  if (sdp.trim().length === 0) throw new KurentoError('SDP_PARSE_ERROR', `Empty SDP ${what}`);
  const lines = splitLines(sdp);
  if (lines[0] !== 'v=0' || !lines.some((l) => l.startsWith('m='))) {
    throw new KurentoError('SDP_PARSE_ERROR', `SDP ${what} could not be parsed`);
  }
  if (!lines.some((l) => l.startsWith('a=fingerprint:'))) {
    throw new KurentoError('SDP_PARSE_ERROR', `SDP ${what} has no DTLS fingerprint`);
  }
}

/** The codecs of each audio/video section, in the remote's order of preference. */
export function sectionCodecs(sdp: string): { kind: MediaKind; codecs: SdpCodec[] }[] {
  return sections(sdp)
    .filter((s) => s.kind === 'audio' || s.kind === 'video')
    .map((s) => ({ kind: s.kind as MediaKind, codecs: codecsOf(s) }));
}

/** The codec the engine uses for `kind` among those offered, or undefined if none is acceptable. */
export function chooseCodec(kind: MediaKind, offered: SdpCodec[], preferredVideo?: CodecName): SdpCodec | undefined {
  if (kind === 'audio') return offered.find((c) => c.name === 'OPUS');
  const h264 = offered.filter((c) => c.name === 'H264' && /packetization-mode=1/.test(c.fmtp ?? ''));
  const bestH264 = h264.find((c) => /profile-level-id=42e01f/i.test(c.fmtp ?? '')) ?? h264[0];
  const vp8 = offered.find((c) => c.name === 'VP8');
  if (preferredVideo === 'H264' && bestH264) return bestH264;
  return vp8 ?? bestH264;
}

/** Rewrites `sdp` so each audio/video section carries only the payload type chosen for it (others are dropped). */
export function keepOnly(sdp: string, chosen: (SdpCodec | undefined)[]): string {
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n';
  const all = sections(sdp);
  let mediaIndex = 0;
  const out: string[] = [];
  for (const section of all) {
    if (section.kind !== 'audio' && section.kind !== 'video') {
      out.push(...section.lines);
      continue;
    }
    const codec = chosen[mediaIndex++];
    out.push(...(codec ? filterSection(section, codec.payloadType) : rejectSection(section)));
  }
  return out.join(eol) + eol;
}

function filterSection(section: Section, payloadType: number): string[] {
  const keep = String(payloadType);
  return section.lines.flatMap((line) => {
    if (line.startsWith('m=')) {
      const [media, port, proto] = line.slice(2).split(' ');
      return [`m=${media} ${port} ${proto} ${keep}`];
    }
    const pt = /^a=(?:rtpmap|fmtp|rtcp-fb):(\d+|\*)\s/.exec(line)?.[1];
    if (pt !== undefined && pt !== keep && pt !== '*') return [];
    if (line.startsWith('a=ssrc-group:FID')) return [];
    if (/^a=rtcp-fb:\S+ transport-cc/.test(line)) return [];
    return [line];
  });
}

/** A section without an acceptable codec is rejected (port 0), as RFC 3264 asks. */
function rejectSection(section: Section): string[] {
  return section.lines.map((line) => {
    if (!line.startsWith('m=')) return line;
    const [media, , proto, ...fmts] = line.slice(2).split(' ');
    return `m=${media} 0 ${proto} ${fmts[0] ?? '0'}`;
  });
}

function codecsOf(section: Section): SdpCodec[] {
  const mline = section.lines[0] ?? '';
  const order = mline.split(' ').slice(3).map(Number);
  const byPt = new Map<number, SdpCodec>();
  for (const line of section.lines) {
    const rtpmap = /^a=rtpmap:(\d+) ([^/\s]+)\/(\d+)(?:\/(\d+))?/.exec(line);
    if (rtpmap) {
      const name = CODEC_NAMES[rtpmap[2]!.toLowerCase()];
      if (!name) continue;
      byPt.set(Number(rtpmap[1]), {
        payloadType: Number(rtpmap[1]),
        name,
        clockRate: Number(rtpmap[3]),
        channels: rtpmap[4] ? Number(rtpmap[4]) : undefined,
        fmtp: undefined,
        rtcpFeedback: [],
      });
    }
  }
  for (const line of section.lines) {
    const fmtp = /^a=fmtp:(\d+) (.*)$/.exec(line);
    if (fmtp) {
      const codec = byPt.get(Number(fmtp[1]));
      if (codec) codec.fmtp = fmtp[2];
    }
    const fb = /^a=rtcp-fb:(\d+) (.*)$/.exec(line);
    if (fb) byPt.get(Number(fb[1]))?.rtcpFeedback.push(fb[2]!);
  }
  return order.flatMap((pt) => (byPt.has(pt) ? [byPt.get(pt)!] : []));
}

function sections(sdp: string): Section[] {
  const out: Section[] = [{ kind: 'session', lines: [] }];
  for (const line of splitLines(sdp)) {
    if (line.startsWith('m=')) out.push({ kind: line.slice(2).split(' ')[0] ?? '', lines: [] });
    out[out.length - 1]!.lines.push(line);
  }
  return out;
}

function splitLines(sdp: string): string[] {
  return sdp.split(/\r?\n/).filter((l) => l.length > 0);
}
