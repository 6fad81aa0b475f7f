import { invoke, release, type KurentoObject, type KurentoPipeline, type MediaProfile } from './kurento.js';

export interface RecordingResult {
  /** Whether the media server confirmed the file was finalised (Stopped). */
  stopped: boolean;
}

/**
 * One RecorderEndpoint writing a live to a file:// URI that onair built itself.
 * Stop waits for the recorder's `Stopped` before anything releases the pipeline (releasing first leaves an
 * empty or truncated file).
 */
export class Recording {
  readonly uri: string;
  readonly #kurento: KurentoObject;
  #started = false;
  #stopping: Promise<RecordingResult> | undefined;
  #closed = false;

  private constructor(uri: string, kurento: KurentoObject) {
    this.uri = uri;
    this.#kurento = kurento;
  }

  static async create(pipeline: KurentoPipeline, uri: string, profile: MediaProfile = 'WEBM'): Promise<Recording> {
    if (!uri.startsWith('file:///')) throw new TypeError(`recording URI must be an absolute file:// URI, got ${uri}`);
    const kurento = await pipeline.create('RecorderEndpoint', { uri, mediaProfile: profile, stopOnEndOfStream: true });
    return new Recording(uri, kurento);
  }

  get kurento(): KurentoObject {
    return this.#kurento;
  }

  async start(): Promise<void> {
    await invoke(this.#kurento, 'record');
    this.#started = true;
  }

  /** Stop and wait until the file is finalised (or `timeoutMs` passes). Idempotent. */
  stop(timeoutMs = 10_000): Promise<RecordingResult> {
    this.#stopping ??= this.#stop(timeoutMs);
    return this.#stopping;
  }

  async #stop(timeoutMs: number): Promise<RecordingResult> {
    if (!this.#started || this.#closed) return { stopped: false };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    try {
      const outcome = await Promise.race([
        invoke(this.#kurento, 'stopAndWait').then(() => 'stopped' as const),
        timeout,
      ]);
      return { stopped: outcome === 'stopped' };
    } catch {
      return { stopped: false };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Release the recorder (after stop). Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await release(this.#kurento);
  }

  /** The pipeline or server is gone: local state only. */
  parentClosed(): void {
    this.#closed = true;
  }
}
