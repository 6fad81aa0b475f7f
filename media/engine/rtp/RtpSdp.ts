/**
 * The SDP of an RtpEndpoint, as KMS writes and reads it: one audio and one video section, each on
 * its own RTP port with RTCP on the next one (`a=rtcp:`), RTP/AVPF, or RTP/SAVPF with one SDES
 * `a=crypto` key per section; no ICE, no DTLS, no BUNDLE. The remote's address is its `c=` line
 * (media level before session level) and its ports; `a=rtcp-mux` sends RTCP to the RTP port.
 */
import { isIP } from 'node:net';
import { KurentoError } from '../protocol/KurentoError.js';
import type { CodecName, MediaKind } from './MediaTypes.js';
import { sectionCodecs, type SdpCodec } from './SdpCodecs.js';

export type Direction = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

/** One SDES key line: `a=crypto:<tag> <suite> inline:<key||salt base64>`. */
export interface SdesKey {
  tag: number;
  suite: string;
  keyBase64: string;
}

/** A media section this endpoint writes. */
export interface LocalSection {
  kind: string;
  /** A rejected section echoes the offer's profile and formats; otherwise RTP/AVPF or RTP/SAVPF and the codecs. */
  proto?: string;
  formats?: string[];
  /** 0 rejects the section. */
  port: number;
  rtcpPort: number;
  codecs: SdpCodec[];
  direction: Direction;
  mid: string;
  ssrc: number;
  cname: string;
  crypto: SdesKey | undefined;
  /** b=AS in kbps (0: none). */
  bandwidthKbps: number;
}

/** A media section of the remote's SDP. */
export interface RemoteSection {
  kind: string;
  index: number;
  port: number;
  proto: string;
  /** The m-line's formats, as written. */
  formats: string[];
  address: string;
  rtcpPort: number;
  rtcpAddress: string;
  rtcpMux: boolean;
  codecs: SdpCodec[];
  /** The remote's own direction. */
  direction: Direction;
  mid: string | undefined;
  crypto: SdesKey[];
  /** b=AS in kbps, if given. */
  bandwidthKbps: number | undefined;
}

const DIRECTIONS: readonly Direction[] = ['sendrecv', 'sendonly', 'recvonly', 'inactive'];

export function writeSdp(opts: {
  sessionId: string;
  version: number;
  address: string;
  sections: LocalSection[];
}): string {
  const family = opts.address.includes(':') ? 'IP6' : 'IP4';
  const lines = [
    'v=0',
    `o=- ${opts.sessionId} ${opts.version} IN ${family} ${opts.address}`,
    's=Kurento Media Server',
    `c=IN ${family} ${opts.address}`,
    't=0 0',
  ];
  for (const s of opts.sections) {
    const proto = s.proto ?? (s.crypto ? 'RTP/SAVPF' : 'RTP/AVPF');
    const pts = s.formats?.length ? s.formats : s.codecs.length ? s.codecs.map((c) => c.payloadType) : [0];
    lines.push(`m=${s.kind} ${s.port} ${proto} ${pts.join(' ')}`);
    if (s.port === 0) {
      lines.push(`a=mid:${s.mid}`, 'a=inactive');
      continue;
    }
    if (s.bandwidthKbps > 0) lines.push(`b=AS:${s.bandwidthKbps}`);
    for (const c of s.codecs) {
      const name = c.name === 'OPUS' ? 'opus' : c.name;
      lines.push(`a=rtpmap:${c.payloadType} ${name}/${c.clockRate}${c.channels ? `/${c.channels}` : ''}`);
      if (c.fmtp) lines.push(`a=fmtp:${c.payloadType} ${c.fmtp}`);
      for (const fb of c.rtcpFeedback) lines.push(`a=rtcp-fb:${c.payloadType} ${fb}`);
    }
    lines.push(`a=rtcp:${s.rtcpPort}`);
    if (s.crypto) lines.push(`a=crypto:${s.crypto.tag} ${s.crypto.suite} inline:${s.crypto.keyBase64}`);
    lines.push(`a=${s.direction}`, `a=mid:${s.mid}`, `a=ssrc:${s.ssrc} cname:${s.cname}`);
  }
  return lines.join('\r\n') + '\r\n';
}

/** Parses a remote SDP; what is not an SDP an RtpEndpoint can use is SDP_PARSE_ERROR. */
export function parseRemoteSdp(sdp: string, what: 'offer' | 'answer'): RemoteSection[] {
  const lines = sdp.split(/\r?\n/).filter((l) => l.length > 0);
  if (lines[0] !== 'v=0' || !lines.some((l) => l.startsWith('m='))) {
    throw new KurentoError('SDP_PARSE_ERROR', `SDP ${what} could not be parsed`);
  }
  const codecs = sectionCodecs(sdp);
  let sessionAddress: string | undefined;
  let sessionDirection: Direction = 'sendrecv';
  const out: RemoteSection[] = [];
  let current: (RemoteSection & { hasAddress: boolean; rtcpGiven: boolean }) | undefined;
  let mediaIndex = 0;
  const finish = () => {
    if (!current) return;
    if (!current.hasAddress) current.address = sessionAddress ?? '';
    if (!current.rtcpGiven) current.rtcpPort = current.rtcpMux ? current.port : current.port + 1;
    if (!current.rtcpAddress) current.rtcpAddress = current.address;
    if (current.port !== 0 && !isIP(current.address)) {
      throw new KurentoError('SDP_PARSE_ERROR', `SDP ${what} has no usable connection address for ${current.kind}`);
    }
    const { hasAddress: _a, rtcpGiven: _r, ...section } = current;
    out.push(section);
  };
  for (const line of lines) {
    if (line.startsWith('m=')) {
      finish();
      const [kind = '', portText = '', proto = '', ...formats] = line.slice(2).split(' ');
      const port = Number(portText.split('/')[0]);
      if (!Number.isInteger(port) || port < 0 || port > 65535) {
        throw new KurentoError('SDP_PARSE_ERROR', `SDP ${what} has an invalid port in '${line.slice(0, 60)}'`);
      }
      const isMedia = kind === 'audio' || kind === 'video';
      current = {
        kind,
        index: out.length,
        port,
        proto,
        formats,
        address: '',
        rtcpPort: 0,
        rtcpAddress: '',
        rtcpMux: false,
        codecs: isMedia ? (codecs[mediaIndex++]?.codecs ?? []) : [],
        direction: sessionDirection,
        mid: undefined,
        crypto: [],
        bandwidthKbps: undefined,
        hasAddress: false,
        rtcpGiven: false,
      };
      continue;
    }
    if (line.startsWith('c=')) {
      const address = /^c=IN IP[46] ([^/\s]+)/.exec(line)?.[1];
      if (!address) throw new KurentoError('SDP_PARSE_ERROR', `SDP ${what} has an invalid connection line`);
      if (current) {
        current.address = address;
        current.hasAddress = true;
      } else {
        sessionAddress = address;
      }
      continue;
    }
    const direction = /^a=(sendrecv|sendonly|recvonly|inactive)$/.exec(line)?.[1] as Direction | undefined;
    if (direction && DIRECTIONS.includes(direction)) {
      if (current) current.direction = direction;
      else sessionDirection = direction;
      continue;
    }
    if (!current) continue;
    const rtcp = /^a=rtcp:(\d+)(?: IN IP[46] (\S+))?/.exec(line);
    if (rtcp) {
      current.rtcpPort = Number(rtcp[1]);
      current.rtcpAddress = rtcp[2] ?? '';
      current.rtcpGiven = true;
    } else if (line === 'a=rtcp-mux') {
      current.rtcpMux = true;
      if (!current.rtcpGiven) current.rtcpPort = current.port;
    } else if (line.startsWith('a=mid:')) {
      current.mid = line.slice(6).trim();
    } else if (line.startsWith('b=AS:')) {
      current.bandwidthKbps = Number(line.slice(5)) || undefined;
    } else {
      const crypto = /^a=crypto:(\d+) (\S+) inline:([A-Za-z0-9+/=]+)/.exec(line);
      if (crypto) current.crypto.push({ tag: Number(crypto[1]), suite: crypto[2]!, keyBase64: crypto[3]! });
    }
  }
  finish();
  return out;
}

/** The direction an answer takes given the remote offer's direction and what this side wants. */
export function answerDirection(remote: Direction, wantSend: boolean, wantReceive: boolean): Direction {
  const send = wantSend && (remote === 'sendrecv' || remote === 'recvonly');
  const receive = wantReceive && (remote === 'sendrecv' || remote === 'sendonly');
  if (send && receive) return 'sendrecv';
  if (send) return 'sendonly';
  return receive ? 'recvonly' : 'inactive';
}

export function canSend(local: Direction): boolean {
  return local === 'sendrecv' || local === 'sendonly';
}

export function canReceive(local: Direction): boolean {
  return local === 'sendrecv' || local === 'recvonly';
}

const VIDEO_FEEDBACK = ['nack', 'nack pli', 'ccm fir', 'goog-remb'];

/** The codecs this endpoint offers for a kind: the preferred video codec only when it is known (no transcoding). */
export function ownCodecs(kind: MediaKind, preferredVideo: CodecName | undefined): SdpCodec[] {
  if (kind === 'audio') {
    return [{ payloadType: 111, name: 'OPUS', clockRate: 48_000, channels: 2, fmtp: undefined, rtcpFeedback: [] }];
  }
  const vp8: SdpCodec = {
    payloadType: 96,
    name: 'VP8',
    clockRate: 90_000,
    channels: undefined,
    fmtp: undefined,
    rtcpFeedback: [...VIDEO_FEEDBACK],
  };
  const h264: SdpCodec = {
    payloadType: 102,
    name: 'H264',
    clockRate: 90_000,
    channels: undefined,
    fmtp: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
    rtcpFeedback: [...VIDEO_FEEDBACK],
  };
  if (preferredVideo === 'VP8') return [vp8];
  if (preferredVideo === 'H264') return [h264];
  return [vp8, h264];
}

/**
 * The codec taken from a remote section: the preferred one if offered, else the first acceptable one in
 * the remote's order (Opus; VP8; H.264 with packetization-mode=1). The answer keeps the remote's payload type.
 */
export function pickCodec(kind: MediaKind, offered: SdpCodec[], preferredVideo?: CodecName): SdpCodec | undefined {
  const acceptable = offered.filter((c) =>
    kind === 'audio'
      ? c.name === 'OPUS'
      : c.name === 'VP8' || (c.name === 'H264' && /packetization-mode=1/.test(c.fmtp ?? '')),
  );
  const picked = acceptable.find((c) => c.name === preferredVideo) ?? acceptable[0];
  if (!picked) return undefined;
  const feedback = kind === 'video' ? VIDEO_FEEDBACK.filter((fb) => picked.rtcpFeedback.includes(fb)) : [];
  return { ...picked, rtcpFeedback: feedback };
}
