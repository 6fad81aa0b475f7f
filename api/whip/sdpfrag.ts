/**
 * The SDP work of WHIP and WHEP (RFC 9725, RFC 8840): a gathered answer (the media server's candidates written
 * into its answer, for clients that do not trickle), trickle-ice-sdpfrag bodies read into candidates, and the ICE
 * credentials and mids of an offer.
 */
import type { IceCandidateInit } from '../contract/signalling.js';

function splitLines(sdp: string): string[] {
  return sdp.split(/\r?\n/).filter((line) => line.length > 0);
}

interface Section {
  mid: string | null;
  lines: string[];
}

function sectionsOf(lines: string[]): { session: string[]; media: Section[] } {
  const session: string[] = [];
  const media: Section[] = [];
  for (const line of lines) {
    if (line.startsWith('m=')) media.push({ mid: null, lines: [line] });
    else if (media.length === 0) session.push(line);
    else {
      const section = media[media.length - 1]!;
      section.lines.push(line);
      const mid = /^a=mid:(\S+)$/.exec(line)?.[1];
      if (mid !== undefined) section.mid = mid;
    }
  }
  return { session, media };
}

/**
 * The answer with `candidates` added to their media sections (by mid, else by index, else the first section), those
 * already in it left alone, and `a=end-of-candidates` in every section when `complete`.
 */
export function withCandidates(sdp: string, candidates: IceCandidateInit[], complete: boolean): string {
  const { session, media } = sectionsOf(splitLines(sdp));
  if (media.length === 0) return sdp;
  const present = new Set(media.flatMap((s) => s.lines.filter((l) => l.startsWith('a=candidate:'))));
  for (const candidate of candidates) {
    const line = `a=${candidate.candidate.replace(/^a=/, '')}`;
    if (!line.startsWith('a=candidate:') || present.has(line)) continue;
    present.add(line);
    const byMid = media.find((s) => candidate.sdpMid != null && s.mid === candidate.sdpMid);
    const byIndex = candidate.sdpMLineIndex != null ? media[candidate.sdpMLineIndex] : undefined;
    (byMid ?? byIndex ?? media[0]!).lines.push(line);
  }
  if (complete)
    for (const section of media)
      if (!section.lines.includes('a=end-of-candidates')) section.lines.push('a=end-of-candidates');
  return [...session, ...media.flatMap((s) => s.lines)].join('\r\n') + '\r\n';
}

/** The ICE username fragment of an SDP (the session's, or the first section's). */
export function iceUfragOf(sdp: string): string | null {
  for (const line of splitLines(sdp)) {
    const ufrag = /^a=ice-ufrag:(\S+)$/.exec(line)?.[1];
    if (ufrag !== undefined) return ufrag;
  }
  return null;
}

/** The mids of an offer's media sections, in order (null for a section without one). */
export function midsOf(sdp: string): (string | null)[] {
  return sectionsOf(splitLines(sdp)).media.map((s) => s.mid);
}

/** What a trickle-ice-sdpfrag PATCH body carries: its ICE username fragment and its candidates. */
export interface SdpFragment {
  ufrag: string | null;
  candidates: IceCandidateInit[];
}

/**
 * Read a trickle-ice-sdpfrag body (RFC 8840): `a=ice-ufrag`, `a=ice-pwd`, then `m=` sections with `a=mid` and
 * `a=candidate` lines. Each candidate gets the mid of its section and that mid's index in the offer (`mids`).
 * Returns null when the body is not such a fragment.
 */
export function parseSdpFragment(body: string, mids: (string | null)[]): SdpFragment | null {
  const lines = splitLines(body);
  if (lines.some((l) => !/^[a-z]=/.test(l))) return null;
  let ufrag: string | null = null;
  let mid: string | null = null;
  let index = -1;
  const candidates: IceCandidateInit[] = [];
  for (const line of lines) {
    if (line.startsWith('m=')) {
      index++;
      mid = null;
      continue;
    }
    const u = /^a=ice-ufrag:(\S+)$/.exec(line)?.[1];
    if (u !== undefined) ufrag ??= u;
    const m = /^a=mid:(\S+)$/.exec(line)?.[1];
    if (m !== undefined) mid = m;
    if (line.startsWith('a=candidate:')) {
      const sectionMid = mid ?? mids[Math.max(index, 0)] ?? null;
      const at = sectionMid === null ? -1 : mids.indexOf(sectionMid);
      candidates.push({
        candidate: line.slice(2),
        sdpMid: sectionMid,
        sdpMLineIndex: at >= 0 ? at : Math.max(index, 0),
      });
    }
  }
  return { ufrag, candidates };
}
