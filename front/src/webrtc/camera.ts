/** The camera and microphone a presenter sends, and what to tell them when the browser refuses. */

/** Why the camera could not be opened. */
export type CameraProblem = 'denied' | 'notFound' | 'busy' | 'insecure' | 'unsupported' | 'other';

const MESSAGES: Record<CameraProblem, string> = {
  denied:
    'Camera and microphone access was refused. Allow both for this site in your browser (the camera icon in the address bar), then try again.',
  notFound: 'No camera or microphone was found. Connect one, then try again.',
  busy: 'Your camera or microphone is in use by another application. Close it, then try again.',
  insecure: 'Your browser only allows the camera on a secure (https) page.',
  unsupported: 'This browser cannot send video. Use a recent Chrome, Edge, Firefox or Safari.',
  other: 'The camera could not be started. Check it, then try again.',
};

export class CameraError extends Error {
  readonly problem: CameraProblem;
  /** What to show (catalog key, in the chosen language). */
  readonly messageKey: string;
  constructor(problem: CameraProblem, cause?: unknown) {
    super(MESSAGES[problem], { cause });
    this.name = 'CameraError';
    this.problem = problem;
    this.messageKey = `camera.${problem}`;
  }
}

/** 720p at most, 30 frames a second: the browser scales down by itself when the connection or CPU cannot keep up. */
export const CAMERA_CONSTRAINTS: MediaStreamConstraints = {
  audio: { echoCancellation: true, noiseSuppression: true },
  video: { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30, max: 30 } },
};

/** Asks for the camera and microphone; throws a `CameraError` saying what went wrong. */
export async function openCamera(constraints: MediaStreamConstraints = CAMERA_CONSTRAINTS): Promise<MediaStream> {
  if (!window.isSecureContext) throw new CameraError('insecure');
  if (!navigator.mediaDevices?.getUserMedia || typeof RTCPeerConnection === 'undefined')
    throw new CameraError('unsupported');
  try {
    return await navigator.mediaDevices.getUserMedia(constraints);
  } catch (error) {
    throw new CameraError(problemOf(error), error);
  }
}

function problemOf(error: unknown): CameraProblem {
  switch ((error as { name?: string } | null)?.name) {
    case 'NotAllowedError':
    case 'PermissionDeniedError':
    case 'SecurityError':
      return 'denied';
    case 'NotFoundError':
    case 'DevicesNotFoundError':
    case 'OverconstrainedError':
      return 'notFound';
    case 'NotReadableError':
    case 'TrackStartError':
    case 'AbortError':
      return 'busy';
    default:
      return 'other';
  }
}

/** A stream of clones of `stream`'s tracks (a closed peer stops the tracks it sent; clones outlive them). */
export function cloneStream(stream: MediaStream): MediaStream {
  return new MediaStream(stream.getTracks().map((track) => track.clone()));
}
