import {
  ID,
  UNKNOWN_SIZE,
  concat,
  element,
  float64,
  idBytes,
  sizeBytes,
  string,
  uint,
  uint64,
  voidOf,
} from './Ebml.js';
import type { FileSink } from './FileSink.js';
import type { MediaKind } from './types.js';

export interface WebmTrack {
  /** 1-based track number, as blocks refer to it. */
  number: number;
  kind: MediaKind;
  codecId: 'V_VP8' | 'V_MPEG4/ISO/AVC' | 'A_OPUS';
  codecPrivate?: Uint8Array;
  width?: number;
  height?: number;
  sampleRate?: number;
  channels?: number;
}

/** Clusters never span more than this, so that relative block times fit and a crash loses little. */
const MAX_CLUSTER_MS = 5000;
/** Without video, a cluster (and a cue) every this often. */
const AUDIO_CLUSTER_MS = 2000;
/** Room kept after the Segment header for the SeekHead written at the end. */
const SEEK_HEAD_RESERVE = 96;
/** A Duration element: 2-byte id, 1-byte size, 8-byte float. */
const DURATION_RESERVE = 11;

interface CuePoint {
  timeMs: number;
  track: number;
  clusterOffset: number;
}

interface TrackProgress {
  lastMs: number;
  lastDeltaMs: number;
  endMs: number;
}

/**
 * Writes a WebM file progressively and finishes it in place, for a recording that may be cut short at any moment:
 * - while recording, the Segment and the open Cluster have the "unknown" size and every block goes to disk as it
 *   comes, so a file whose writer was killed still reads up to its last block;
 * - a Cluster's size is filled in when the next one starts; on `finish()` the Cues are appended and the SeekHead,
 *   the Duration and the Segment size are written into space reserved at the start, so that a browser can seek.
 * Timestamps are integer milliseconds; blocks come in (roughly) timeline order from the caller.
 */
export class WebmWriter {
  readonly #sink: FileSink;
  readonly #tracks: WebmTrack[];
  readonly #hasVideo: boolean;
  #segmentSizeAt = 0;
  #segmentDataAt = 0;
  #seekHeadAt = 0;
  #durationAt = 0;
  #infoOffset = 0;
  #tracksOffset = 0;
  #cluster: { at: number; timeMs: number; blocks: number } | undefined;
  #cues: CuePoint[] = [];
  #progress = new Map<number, TrackProgress>();
  #finished = false;

  constructor(sink: FileSink, tracks: WebmTrack[]) {
    if (tracks.length === 0) throw new TypeError('a WebM file needs at least one track');
    this.#sink = sink;
    this.#tracks = tracks;
    this.#hasVideo = tracks.some((track) => track.kind === 'video');
    this.#writeHeader();
  }

  /** The file's duration so far: the end of its last frame (ms). */
  get durationMs(): number {
    let end = 0;
    for (const progress of this.#progress.values()) end = Math.max(end, progress.endMs);
    return end;
  }

  /** Append one frame; `durationMs` when known (audio), else the track's last frame spacing is assumed. */
  writeFrame(trackNumber: number, timeMs: number, data: Uint8Array, keyframe: boolean, durationMs?: number): void {
    if (this.#finished) return;
    const track = this.#tracks.find((candidate) => candidate.number === trackNumber);
    if (!track) throw new RangeError(`no track ${trackNumber}`);
    timeMs = Math.max(0, Math.round(timeMs));
    if (this.#startsCluster(track, timeMs, keyframe)) this.#openCluster(track, timeMs, keyframe);
    const cluster = this.#cluster!;
    const header = new Uint8Array(4);
    header[0] = 0x80 | trackNumber;
    new DataView(header.buffer).setInt16(1, timeMs - cluster.timeMs);
    header[3] = keyframe ? 0x80 : 0x00;
    this.#sink.append(concat([idBytes(ID.SimpleBlock), sizeBytes(header.byteLength + data.byteLength), header]));
    this.#sink.append(data);
    cluster.blocks++;
    this.#advance(trackNumber, timeMs, durationMs);
  }

  /** Close the last cluster, append the cues, fill in SeekHead, Duration and Segment size. Returns the duration. */
  finish(): number {
    if (this.#finished) return this.durationMs;
    this.#finished = true;
    this.#closeCluster();
    let cuesOffset: number | undefined;
    if (this.#cues.length > 0) {
      cuesOffset = this.#sink.size - this.#segmentDataAt;
      this.#sink.append(element(ID.Cues, ...this.#cues.map((cue) => this.#cuePoint(cue))));
    }
    const seeks = [
      this.#seek(ID.Info, this.#infoOffset),
      this.#seek(ID.Tracks, this.#tracksOffset),
      ...(cuesOffset === undefined ? [] : [this.#seek(ID.Cues, cuesOffset)]),
    ];
    const seekHead = element(ID.SeekHead, ...seeks);
    this.#sink.patch(this.#seekHeadAt, concat([seekHead, voidOf(SEEK_HEAD_RESERVE - seekHead.byteLength)]));
    const durationMs = this.durationMs;
    this.#sink.patch(this.#durationAt, float64(ID.Duration, durationMs));
    this.#sink.patch(this.#segmentSizeAt, sizeBytes(this.#sink.size - this.#segmentDataAt, 8));
    return durationMs;
  }

  #writeHeader(): void {
    const sink = this.#sink;
    sink.append(
      element(
        ID.EBML,
        uint(ID.EBMLVersion, 1),
        uint(ID.EBMLReadVersion, 1),
        uint(ID.EBMLMaxIDLength, 4),
        uint(ID.EBMLMaxSizeLength, 8),
        // H.264 is not a WebM codec: a file that carries it is Matroska (same structure, its own DocType).
        string(ID.DocType, this.#tracks.some((t) => t.codecId === 'V_MPEG4/ISO/AVC') ? 'matroska' : 'webm'),
        uint(ID.DocTypeVersion, 4),
        uint(ID.DocTypeReadVersion, 2),
      ),
    );
    const segmentAt = sink.append(concat([idBytes(ID.Segment), UNKNOWN_SIZE]));
    this.#segmentSizeAt = segmentAt + 4;
    this.#segmentDataAt = segmentAt + 12;
    this.#seekHeadAt = sink.append(voidOf(SEEK_HEAD_RESERVE));

    const infoBefore = concat([
      uint(ID.TimestampScale, 1_000_000),
      string(ID.MuxingApp, 'onair'),
      string(ID.WritingApp, 'onair'),
    ]);
    const info = element(ID.Info, infoBefore, voidOf(DURATION_RESERVE));
    const infoAt = sink.append(info);
    this.#infoOffset = infoAt - this.#segmentDataAt;
    this.#durationAt = infoAt + info.byteLength - DURATION_RESERVE;

    const tracksAt = sink.append(element(ID.Tracks, ...this.#tracks.map((track) => this.#trackEntry(track))));
    this.#tracksOffset = tracksAt - this.#segmentDataAt;
  }

  #trackEntry(track: WebmTrack): Uint8Array {
    const children = [
      uint(ID.TrackNumber, track.number),
      uint(ID.TrackUID, track.number),
      uint(ID.TrackType, track.kind === 'video' ? 1 : 2),
      uint(ID.FlagLacing, 0),
      string(ID.CodecID, track.codecId),
    ];
    if (track.codecPrivate) children.push(element(ID.CodecPrivate, track.codecPrivate));
    if (track.kind === 'video') {
      children.push(
        element(ID.Video, uint(ID.PixelWidth, track.width ?? 640), uint(ID.PixelHeight, track.height ?? 480)),
      );
    } else {
      if (track.codecId === 'A_OPUS') children.push(uint(ID.CodecDelay, 0), uint(ID.SeekPreRoll, 80_000_000));
      children.push(
        element(
          ID.Audio,
          float64(ID.SamplingFrequency, track.sampleRate ?? 48_000),
          uint(ID.Channels, track.channels ?? 2),
        ),
      );
    }
    return element(ID.TrackEntry, ...children);
  }

  #startsCluster(track: WebmTrack, timeMs: number, keyframe: boolean): boolean {
    const cluster = this.#cluster;
    if (!cluster) return true;
    if (cluster.blocks === 0) return false;
    const spanMs = timeMs - cluster.timeMs;
    if (spanMs >= MAX_CLUSTER_MS || spanMs < -MAX_CLUSTER_MS) return true;
    if (this.#hasVideo) return track.kind === 'video' && keyframe;
    return spanMs >= AUDIO_CLUSTER_MS;
  }

  #openCluster(track: WebmTrack, timeMs: number, keyframe: boolean): void {
    this.#closeCluster();
    const at = this.#sink.append(concat([idBytes(ID.Cluster), UNKNOWN_SIZE, uint(ID.Timestamp, timeMs)]));
    this.#cluster = { at, timeMs, blocks: 0 };
    // A cue where playback can start: a video keyframe, or any cluster of an audio-only file.
    if (keyframe && (track.kind === 'video' || !this.#hasVideo)) {
      this.#cues.push({ timeMs, track: track.number, clusterOffset: at - this.#segmentDataAt });
    }
  }

  #closeCluster(): void {
    const cluster = this.#cluster;
    if (!cluster) return;
    this.#cluster = undefined;
    this.#sink.patch(cluster.at + 4, sizeBytes(this.#sink.size - (cluster.at + 12), 8));
  }

  #advance(trackNumber: number, timeMs: number, durationMs: number | undefined): void {
    const progress = this.#progress.get(trackNumber);
    if (!progress) {
      this.#progress.set(trackNumber, {
        lastMs: timeMs,
        lastDeltaMs: durationMs ?? 0,
        endMs: timeMs + (durationMs ?? 0),
      });
      return;
    }
    const deltaMs = timeMs - progress.lastMs;
    if (deltaMs > 0 && deltaMs <= 1000) progress.lastDeltaMs = deltaMs;
    progress.lastMs = Math.max(progress.lastMs, timeMs);
    progress.endMs = Math.max(progress.endMs, timeMs + (durationMs ?? progress.lastDeltaMs));
  }

  #cuePoint(cue: CuePoint): Uint8Array {
    return element(
      ID.CuePoint,
      uint(ID.CueTime, cue.timeMs),
      element(ID.CueTrackPositions, uint(ID.CueTrack, cue.track), uint(ID.CueClusterPosition, cue.clusterOffset)),
    );
  }

  #seek(id: number, offset: number): Uint8Array {
    return element(ID.Seek, element(ID.SeekID, idBytes(id)), uint64(ID.SeekPosition, offset));
  }
}
