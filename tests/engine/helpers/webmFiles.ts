/**
 * Test fixtures and inspection for WebM files: clips made with ffmpeg at test time, ffprobe packet lists, an
 * ffmpeg decode pass, and a small EBML reader for the file's layout (SeekHead, Duration, Cues, sizes).
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface ClipOptions {
  seconds: number;
  video?: 'vp8' | 'h264' | 'none';
  audio?: boolean;
  fps?: number;
  /** Keyframe interval in frames. */
  gop?: number;
}

/** A test clip (640x480 test pattern, 440 Hz tone) written into `dir`; returns its path. */
export async function makeClip(dir: string, name: string, options: ClipOptions): Promise<string> {
  const file = path.join(dir, name);
  const fps = options.fps ?? 20;
  const video = options.video ?? 'vp8';
  const args = ['-v', 'error', '-y'];
  if (video !== 'none') args.push('-f', 'lavfi', '-i', `testsrc=size=640x480:rate=${fps}`);
  if (options.audio ?? true) args.push('-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000');
  args.push('-t', String(options.seconds));
  if (video === 'vp8')
    args.push(
      '-c:v',
      'libvpx',
      '-deadline',
      'realtime',
      '-cpu-used',
      '8',
      '-b:v',
      '500k',
      '-g',
      String(options.gop ?? fps),
    );
  if (video === 'h264')
    args.push(
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-tune',
      'zerolatency',
      '-bf',
      '0',
      '-g',
      String(options.gop ?? fps),
      '-pix_fmt',
      'yuv420p',
    );
  if (options.audio ?? true) args.push('-c:a', 'libopus', '-b:a', '48k');
  await run('ffmpeg', [...args, file]);
  return file;
}

export interface ProbedPacket {
  pts: number;
  duration: number;
  key: boolean;
}

/** The packets of a file's audio or video stream as ffprobe reads them (seconds). */
export async function probePackets(file: string, stream: 'a' | 'v'): Promise<ProbedPacket[]> {
  const { stdout } = await run(
    'ffprobe',
    [
      '-v',
      'error',
      '-select_streams',
      stream,
      '-show_entries',
      'packet=pts_time,duration_time,flags',
      '-of',
      'csv=p=0',
      file,
    ],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  return stdout
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => {
      const [pts, duration, flags] = line.split(',');
      return { pts: Number(pts), duration: Number(duration) || 0, key: (flags ?? '').includes('K') };
    });
}

export interface ProbedFile {
  codecs: string[];
  /** Format duration in seconds, NaN when ffprobe has none. */
  duration: number;
}

export async function probeFile(file: string): Promise<ProbedFile> {
  const { stdout } = await run('ffprobe', [
    '-v',
    'error',
    '-show_entries',
    'format=duration:stream=codec_name',
    '-of',
    'json',
    file,
  ]);
  const json = JSON.parse(stdout) as { streams?: { codec_name: string }[]; format?: { duration?: string } };
  return { codecs: (json.streams ?? []).map((s) => s.codec_name).sort(), duration: Number(json.format?.duration) };
}

/**
 * Decode the whole file with ffmpeg: its exit code and whatever it reports at level error. Frames keep their own
 * times, in the container's time base (`-fps_mode passthrough -enc_time_base -1`): a live source's uneven frame
 * spacing is not an error, two frames at one time is. (With the default 1/frame-rate time base, two frames closer
 * than a frame interval, as a loaded browser's capture times can be, would be reported as one time.)
 */
export async function decode(
  file: string,
  extraInput: string[] = [],
): Promise<{ code: number; errors: string; frames: number }> {
  try {
    const args = [
      '-v',
      'error',
      '-stats',
      ...extraInput,
      '-i',
      file,
      '-fps_mode',
      'passthrough',
      '-enc_time_base',
      '-1',
      '-f',
      'null',
      '-',
    ];
    const { stderr } = await run('ffmpeg', args, {
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, ...splitStats(stderr) };
  } catch (error) {
    const failure = error as { code?: number; stderr?: string };
    return { code: failure.code ?? 1, ...splitStats(failure.stderr ?? '') };
  }
}

function splitStats(stderr: string): { errors: string; frames: number } {
  const lines = stderr.split(/[\r\n]+/);
  const stats = lines.filter((line) => line.startsWith('frame='));
  const frames = Number(/frame=\s*(\d+)/.exec(stats.at(-1) ?? '')?.[1] ?? 0);
  return {
    errors: lines.filter((line) => line.trim() && !line.startsWith('frame=') && !line.startsWith('size=')).join('\n'),
    frames,
  };
}

/** The share of [0, end] that packets cover (union of [pts, pts + duration]). */
export function coverage(packets: ProbedPacket[], end: number): number {
  const spans = packets.map((p) => [p.pts, p.pts + p.duration] as const).sort((a, b) => a[0] - b[0]);
  let covered = 0;
  let reach = 0;
  for (const [start, stop] of spans) {
    const from = Math.max(start, reach);
    const to = Math.min(stop, end);
    if (to > from) covered += to - from;
    reach = Math.max(reach, stop);
  }
  return covered / end;
}

/** The largest hole between one packet's end and the next packet's start (seconds). */
export function largestGap(packets: ProbedPacket[]): number {
  let gap = 0;
  for (let i = 1; i < packets.length; i++) {
    gap = Math.max(gap, packets[i]!.pts - (packets[i - 1]!.pts + packets[i - 1]!.duration));
  }
  return gap;
}

export interface WebmLayout {
  docType: string;
  segmentSizeKnown: boolean;
  /** Top-level Segment children in file order (SeekHead, Void, Info, Tracks, Cluster, Cues...). */
  children: string[];
  durationMs: number | undefined;
  /** Element names the SeekHead points to, each checked to be at the position it says. */
  seekTargets: string[];
  cuePoints: number;
  clustersWithUnknownSize: number;
}

const NAMES: Record<number, string> = {
  0x114d9b74: 'SeekHead',
  0x1549a966: 'Info',
  0x1654ae6b: 'Tracks',
  0x1f43b675: 'Cluster',
  0x1c53bb6b: 'Cues',
  0x1254c367: 'Tags',
  0xec: 'Void',
};

/** Read a WebM file's layout (every top-level size must be known, except the unknown ones it reports). */
export async function webmLayout(file: string): Promise<WebmLayout> {
  const bytes = new Uint8Array(await readFile(file));
  const ebml = readElement(bytes, 0);
  const docTypeAt = findChild(bytes, ebml.dataAt, ebml.end, 0x4282);
  const docType = docTypeAt ? new TextDecoder().decode(bytes.subarray(docTypeAt.dataAt, docTypeAt.end)) : '';
  const segment = readElement(bytes, ebml.end);
  const layout: WebmLayout = {
    docType,
    segmentSizeKnown: !segment.unknown,
    children: [],
    durationMs: undefined,
    seekTargets: [],
    cuePoints: 0,
    clustersWithUnknownSize: 0,
  };
  const end = segment.unknown ? bytes.byteLength : segment.end;
  const positions = new Map<number, number>();
  let seeks: { id: number; position: number }[] = [];
  for (let at = segment.dataAt; at < end;) {
    const child = readElement(bytes, at);
    const name = NAMES[child.id] ?? `0x${child.id.toString(16)}`;
    layout.children.push(name);
    positions.set(at - segment.dataAt, child.id);
    if (name === 'Info') {
      const duration = findChild(bytes, child.dataAt, child.end, 0x4489);
      if (duration) layout.durationMs = new DataView(bytes.buffer, duration.dataAt, 8).getFloat64(0);
    } else if (name === 'SeekHead') {
      seeks = readSeeks(bytes, child);
    } else if (name === 'Cues') {
      for (let cue = child.dataAt; cue < child.end; cue = readElement(bytes, cue).end) layout.cuePoints++;
    }
    if (child.unknown) {
      if (name === 'Cluster') layout.clustersWithUnknownSize++;
      break;
    }
    at = child.end;
  }
  layout.seekTargets = seeks
    .filter((seek) => positions.get(seek.position) === seek.id)
    .map((seek) => NAMES[seek.id] ?? '?');
  return layout;
}

interface ElementHeader {
  id: number;
  dataAt: number;
  end: number;
  unknown: boolean;
}

function readVint(
  bytes: Uint8Array,
  at: number,
  keepMarker: boolean,
): { value: number; length: number; allOnes: boolean } {
  const first = bytes[at]!;
  let length = 1;
  while (length <= 8 && !(first & (0x80 >> (length - 1)))) length++;
  let value = keepMarker ? first : first & (0xff >> length);
  let allOnes = value === 0xff >> length;
  for (let i = 1; i < length; i++) {
    value = value * 256 + bytes[at + i]!;
    if (bytes[at + i] !== 0xff) allOnes = false;
  }
  return { value, length, allOnes };
}

function readElement(bytes: Uint8Array, at: number): ElementHeader {
  const id = readVint(bytes, at, true);
  const size = readVint(bytes, at + id.length, false);
  const dataAt = at + id.length + size.length;
  return { id: id.value, dataAt, end: size.allOnes ? Infinity : dataAt + size.value, unknown: size.allOnes };
}

function findChild(bytes: Uint8Array, from: number, to: number, id: number): ElementHeader | undefined {
  for (let at = from; at < to;) {
    const child = readElement(bytes, at);
    if (child.id === id) return child;
    at = child.end;
  }
  return undefined;
}

function readSeeks(bytes: Uint8Array, seekHead: ElementHeader): { id: number; position: number }[] {
  const seeks: { id: number; position: number }[] = [];
  for (let at = seekHead.dataAt; at < seekHead.end;) {
    const seek = readElement(bytes, at);
    const idElement = findChild(bytes, seek.dataAt, seek.end, 0x53ab);
    const positionElement = findChild(bytes, seek.dataAt, seek.end, 0x53ac);
    if (idElement && positionElement) {
      let position = 0;
      for (let i = positionElement.dataAt; i < positionElement.end; i++) position = position * 256 + bytes[i]!;
      seeks.push({ id: readVint(bytes, idElement.dataAt, true).value, position });
    }
    at = seek.end;
  }
  return seeks;
}
