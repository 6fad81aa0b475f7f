import {
  createElement,
  invoke,
  listen,
  type KurentoObject,
  type KurentoPipeline,
  type MediaProfile,
} from './kurento.js';
import { SafeEmitter } from './SafeEmitter.js';

/** How a recording ended. */
export interface RecordingEnd {
  /** Whether the media server confirmed the file was finalised (`Stopped`, and no `Error` on the recorder). */
  stopped: boolean;
}

export interface RecordingEvents {
  /** The recorder reported an error (it cannot write, ...): the file is incomplete, whatever follows. Once. */
  failed: [description: string];
}

/** How long `stop` waits for the file to be finalised, by default (Kurento's own stopAndWait gives up after 4 s). */
export const RECORDING_STOP_TIMEOUT_MS = 10_000;

/**
 * One RecorderEndpoint writing a live to a file:// URI that onair built itself.
 *
 * A recorder reports a failure only through its asynchronous `Error` event, and Kurento's `stopAndWait` answers
 * after its own timeout even when the file was not finalised: the outcome is the `Stopped` event (awaited with a
 * bound) and no `Error`. Stop must complete before anything releases the recorder or its pipeline (releasing
 * first leaves an empty or truncated file).
 */
export class Recording extends SafeEmitter<RecordingEvents> {
  readonly uri: string;
  readonly profile: MediaProfile;
  readonly #kurento: KurentoObject;
  #started = false;
  #stopping: Promise<RecordingEnd> | undefined;
  #closed = false;
  #failure: string | undefined;
  #stoppedEvent = false;
  #onStopped: (() => void) | undefined;

  private constructor(uri: string, profile: MediaProfile, kurento: KurentoObject) {
    super();
    this.uri = uri;
    this.profile = profile;
    this.#kurento = kurento;
  }

  static async create(pipeline: KurentoPipeline, uri: string, profile: MediaProfile = 'WEBM'): Promise<Recording> {
    if (!uri.startsWith('file:///')) throw new TypeError(`recording URI must be an absolute file:// URI, got ${uri}`);
    const kurento = await createElement(pipeline, 'RecorderEndpoint', {
      uri,
      mediaProfile: profile,
      stopOnEndOfStream: true,
    });
    const recording = new Recording(uri, profile, kurento);
    // Subscribed before recording starts, so that neither event can be missed.
    listen(kurento, 'Error', (ev) => recording.#fail(`${ev.type ?? 'error'}: ${ev.description ?? ''}`));
    listen(kurento, 'Stopped', () => {
      recording.#stoppedEvent = true;
      recording.#onStopped?.();
    });
    return recording;
  }

  get kurento(): KurentoObject {
    return this.#kurento;
  }

  /** The recorder's error, once it reported one. */
  get failure(): string | undefined {
    return this.#failure;
  }

  async start(): Promise<void> {
    await invoke(this.#kurento, 'record');
    this.#started = true;
  }

  /** Stop and wait until the file is finalised (the `Stopped` event), for at most `timeoutMs`. Idempotent. */
  stop(timeoutMs = RECORDING_STOP_TIMEOUT_MS): Promise<RecordingEnd> {
    this.#stopping ??= this.#stop(timeoutMs);
    return this.#stopping;
  }

  async #stop(timeoutMs: number): Promise<RecordingEnd> {
    if (!this.#started || this.#closed) return { stopped: false };
    let timer: NodeJS.Timeout | undefined;
    const stopped = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
      this.#onStopped = () => resolve(true);
      if (this.#stoppedEvent) resolve(true);
    });
    try {
      // stopAndWait's answer is not the outcome (it answers after a timeout too), and an error answer may still
      // be followed by Stopped: the event decides, within the bound.
      await Promise.race([invoke(this.#kurento, 'stopAndWait').catch(() => undefined), stopped]);
      const confirmed = await stopped;
      return { stopped: confirmed && this.#failure === undefined };
    } finally {
      clearTimeout(timer);
      this.#onStopped = undefined;
    }
  }

  /** The pipeline or server is gone: local state only. */
  parentClosed(): void {
    this.#closed = true;
  }

  /** The recorder was released behind this live's back: the file was not finalised. */
  lost(): void {
    this.#closed = true;
    this.#fail('the recorder was released on the media server');
  }

  #fail(description: string): void {
    if (this.#failure !== undefined) return;
    this.#failure = description;
    this.safeEmit('failed', description);
  }
}
