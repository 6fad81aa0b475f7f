import { MediaError } from './errors.js';
import { Endpoint, type EndpointIce, type VideoBandwidth } from './Endpoint.js';
import {
  invoke,
  release,
  type IceCandidateInit,
  type KurentoObject,
  type KurentoPipeline,
  type MediaProfile,
} from './kurento.js';
import { Recording, type RecordingEnd } from './Recording.js';
import type { MediaLog } from './MediaServer.js';
import { SafeEmitter } from './SafeEmitter.js';
import type { LiveEndReason } from './shared.js';
import { offersOnlyH264, sentMedia, validateOffer } from './sdp.js';

export type { LiveEndReason };

export interface LiveEnd {
  reason: LiveEndReason;
  /** The recorder's outcome; null when the live had no recorder here or it never started. */
  recording: RecordingEnd | null;
}

export interface LiveEvents {
  /** A viewer's endpoint went away (left, or released with the live). */
  viewerClosed: [key: string];
  /** The recorder failed (it cannot write...): the live goes on, its recording will be incomplete. Once. */
  recordingFailed: [description: string];
  /** The media server reported an error on one of the live's endpoints (logged; a release follows if fatal). */
  mediaError: [role: 'presenter' | 'viewer', description: string];
  /** The live is over on this process; emitted once. */
  ended: [LiveEnd];
}

/**
 * The recorder profile for what an offer sends: a kind that never flows would leave KMS's recorder waiting. Video
 * that can only be H.264 (an offer without VP8, as OBS's WHIP) is recorded as is, in Matroska (WebM has no H.264).
 */
export function recordingProfileFor(offer: string): MediaProfile {
  const { audio, video } = sentMedia(offer);
  const container = recordingContainerFor(offer) === 'mkv' ? 'MKV' : 'WEBM';
  if (audio && video) return container;
  return video ? `${container}_VIDEO_ONLY` : `${container}_AUDIO_ONLY`;
}

/** The recording's file type for an offer: `mkv` when its video can only be H.264, else `webm`. */
export function recordingContainerFor(offer: string): 'webm' | 'mkv' {
  return offersOnlyH264(offer) ? 'mkv' : 'webm';
}

/** Races a media-server promise against the loss of the media server. */
export type Guard = <T>(promise: Promise<T>) => Promise<T>;

export interface PresenterOptions {
  offer: unknown;
  /** Where the recorder writes (a file:// URI onair built); null records nothing. */
  recordingUri: string | null;
  onCandidate: (candidate: IceCandidateInit) => void;
  /** Send the presenter's stream back to it (the preview); false for a client that does not play (WHIP). */
  loopback?: boolean;
}

/**
 * One live broadcast on the media server: its MediaPipeline, the presenter's WebRtcEndpoint connected to itself
 * (loopback preview) and to a RecorderEndpoint, and the viewers' receive-only endpoints fed by the presenter's.
 *
 * The process that started the live owns the pipeline; another API process `attach`es to it to add its own
 * viewers and releases only those. Owned children are kept in maps and announce their own end.
 */
export class Live extends SafeEmitter<LiveEvents> {
  readonly id: string;
  /** Whether this process created (and must release) the pipeline. */
  readonly owner: boolean;
  /**
   * A relay of a live cascaded from another media server: its own pipeline (owned), fed by an RtpEndpoint that
   * receives the presenter's media from the live's server; it has viewers, no presenter, no recorder.
   */
  readonly relay: boolean;
  readonly #pipeline: KurentoPipeline;
  readonly #guard: Guard;
  readonly #ice: EndpointIce;
  readonly #bandwidth: VideoBandwidth | undefined;
  readonly #log: MediaLog | undefined;
  #presenter: Endpoint | undefined;
  /** The presenter's endpoint as a media source (also set on attached lives). */
  #source: KurentoObject | undefined;
  #recording: Recording | undefined;
  readonly #viewers = new Map<string, Endpoint>();
  /** RtpEndpoints of this pipeline relaying the presenter to another media server (cascading). */
  readonly #relaySinks = new Set<KurentoObject>();
  #ending: Promise<LiveEnd> | undefined;
  #endReason: LiveEndReason | undefined;
  #closed = false;

  constructor(
    id: string,
    pipeline: KurentoPipeline,
    opts: {
      owner: boolean;
      guard: Guard;
      ice?: EndpointIce;
      bandwidth?: VideoBandwidth;
      source?: KurentoObject;
      log?: MediaLog;
      relay?: boolean;
    },
  ) {
    super();
    this.id = id;
    this.owner = opts.owner;
    this.relay = opts.relay ?? false;
    this.#pipeline = pipeline;
    this.#guard = opts.guard;
    this.#ice = opts.ice ?? {};
    this.#bandwidth = opts.bandwidth;
    this.#source = opts.source;
    this.#log = opts.log;
  }

  /** The pipeline as a media-server object (for tags and children). */
  get pipeline(): KurentoPipeline {
    return this.#pipeline;
  }

  /** The recorder's profile, when this live records here. */
  get recordingProfile(): MediaProfile | undefined {
    return this.#recording?.profile;
  }

  get pipelineId(): string {
    return this.#pipeline.id;
  }

  /** The presenter's endpoint as a media source (a relay's: its RtpEndpoint), once it exists. */
  get source(): KurentoObject | undefined {
    return this.#source;
  }

  /** The presenter endpoint's id on the media server, once it exists. */
  get presenterEndpointId(): string | undefined {
    return this.#source?.id;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Why the live ended here, once it is ending (set before its viewers are closed). */
  get endReason(): LiveEndReason | undefined {
    return this.#endReason;
  }

  get viewerCount(): number {
    return this.#viewers.size;
  }

  /** Endpoints this live holds here (presenter or a relay's RtpEndpoint, recorder, viewers): its capacity share. */
  get endpointCount(): number {
    const source = this.relay ? 1 : this.#presenter && !this.#presenter.closed ? 1 : 0;
    return source + (this.#recording ? 1 : 0) + this.#viewers.size;
  }

  /** The presenter's endpoint (owner only), or a viewer's by key. */
  endpoint(role: 'presenter' | 'viewer', key?: string): Endpoint | undefined {
    return role === 'presenter' ? this.#presenter : key === undefined ? undefined : this.#viewers.get(key);
  }

  /**
   * Set up the presenter: endpoint, loopback, recorder, offer → answer, candidates gathering, recording.
   * Re-checks after every await that the live was not ended meanwhile (what was just created is then released
   * with the pipeline). Returns the SDP answer.
   */
  async startPresenter(opts: PresenterOptions): Promise<string> {
    if (!this.owner) throw new Error('only the owning process starts the presenter');
    if (this.#presenter) throw new MediaError('live.exists', 'this live already has its presenter');
    const offer = validateOffer(opts.offer, 'presenter');
    const presenter = await this.#guard(Endpoint.create(this.#pipeline, 'presenter', this.#ice, this.#bandwidth));
    if (this.#closed) {
      presenter.parentClosed();
      throw new MediaError('closed', 'the live ended during set-up');
    }
    this.#presenter = presenter;
    this.#source = presenter.kurento;
    presenter.on('candidate', opts.onCandidate);
    presenter.on('failed', (description) => this.safeEmit('mediaError', 'presenter', description));
    if (opts.loopback !== false) await this.#guard(presenter.connect(presenter.kurento));
    if (opts.recordingUri) {
      const recording = await this.#guard(
        Recording.create(this.#pipeline, opts.recordingUri, recordingProfileFor(offer)),
      );
      this.#recording = recording;
      recording.once('failed', (description) => this.safeEmit('recordingFailed', description));
      this.#assertOpen();
      await this.#guard(presenter.connect(recording.kurento));
    }
    const answer = await this.#guard(presenter.processOffer(opts.offer));
    this.#assertOpen();
    if (this.#recording) await this.#guard(this.#recording.start());
    this.#assertOpen();
    return answer;
  }

  /**
   * The presenter came back (a dropped connection): a new endpoint in the same pipeline, answering the new offer,
   * feeds itself (loopback), the same recorder and the same viewers; the old endpoint is then released. The
   * recorder carries on in the same file (the engine's re-anchors a new SSRC and RTP clock). Until the new
   * endpoint is connected, the old one is kept: a failed resume leaves the live as it was. Returns the SDP answer.
   */
  async resumePresenter(opts: Omit<PresenterOptions, 'recordingUri'>): Promise<string> {
    if (!this.owner) throw new Error('only the owning process resumes the presenter');
    this.#assertOpen();
    validateOffer(opts.offer, 'presenter');
    const presenter = await this.#guard(Endpoint.create(this.#pipeline, 'presenter', this.#ice, this.#bandwidth));
    if (this.#closed) {
      presenter.parentClosed();
      throw new MediaError('closed', 'the live ended while the presenter resumed');
    }
    let answer: string;
    try {
      presenter.on('candidate', opts.onCandidate);
      presenter.on('failed', (description) => this.safeEmit('mediaError', 'presenter', description));
      await this.#guard(presenter.connect(presenter.kurento));
      answer = await this.#guard(presenter.processOffer(opts.offer));
      this.#assertOpen();
    } catch (error) {
      await presenter.close();
      throw error;
    }
    const old = this.#presenter;
    this.#presenter = presenter;
    this.#source = presenter.kurento;
    // A sink has one source per kind: connecting the new endpoint replaces the old one (on KMS as in the engine).
    const sinks = [
      ...(this.#recording ? [this.#recording.kurento] : []),
      ...[...this.#viewers.values()].map((v) => v.kurento),
      ...this.#relaySinks,
    ];
    await Promise.all(
      sinks.map((sink) =>
        this.#guard(presenter.connect(sink)).catch((error: unknown) => {
          if (!this.#closed) this.safeEmit('mediaError', 'presenter', `could not feed ${sink.id}: ${String(error)}`);
        }),
      ),
    );
    await old?.close();
    this.#assertOpen();
    return answer;
  }

  /** On an attached live: the owner resumed its presenter on a new endpoint; this process's viewers follow it. */
  async useSource(source: KurentoObject): Promise<void> {
    if (this.owner || this.#closed) return;
    this.#source = source;
    await Promise.all(
      [...[...this.#viewers.values()].map((v) => v.kurento), ...this.#relaySinks].map((sink) =>
        this.#guard(invoke(source, 'connect', sink)).catch((error: unknown) =>
          this.safeEmit('mediaError', 'viewer', `could not follow the resumed presenter: ${String(error)}`),
        ),
      ),
    );
  }

  /**
   * Feed the presenter's media to an element of this pipeline that relays it to another media server (an
   * RtpEndpoint): kept fed when the presenter resumes on a new endpoint, until `unfeed`.
   */
  async feed(sink: KurentoObject): Promise<void> {
    this.#assertOpen();
    if (!this.#source) throw new MediaError('live.noPresenter', 'the live has no presenter yet');
    this.#relaySinks.add(sink);
    try {
      await this.#guard(invoke(this.#source, 'connect', sink));
    } catch (error) {
      this.#relaySinks.delete(sink);
      throw error;
    }
  }

  /** The relay is gone: stop keeping `sink` fed (its release is the relay's owner's). */
  unfeed(sink: KurentoObject): void {
    this.#relaySinks.delete(sink);
  }

  /** Add a viewer fed by the presenter; resolves with the SDP answer for the viewer's browser. */
  async addViewer(key: string, offer: unknown, onCandidate: (c: IceCandidateInit) => void): Promise<string> {
    this.#assertOpen();
    if (!this.#source) throw new MediaError('live.noPresenter', 'the live has no presenter yet');
    if (this.#viewers.has(key)) throw new MediaError('viewer.exists', 'already watching this live');
    const viewer = await this.#guard(Endpoint.create(this.#pipeline, 'viewer', this.#ice, this.#bandwidth));
    if (this.#closed) {
      this.#released('a viewer endpoint', await viewer.close());
      throw new MediaError('closed', 'the live ended while joining');
    }
    this.#viewers.set(key, viewer);
    viewer.once('closed', () => {
      if (this.#viewers.get(key) === viewer) this.#viewers.delete(key);
      this.safeEmit('viewerClosed', key);
    });
    viewer.on('candidate', onCandidate);
    viewer.on('failed', (description) => this.safeEmit('mediaError', 'viewer', description));
    try {
      await this.#guard(invoke(this.#source, 'connect', viewer.kurento));
      const answer = await this.#guard(viewer.processOffer(offer));
      this.#assertOpen();
      return answer;
    } catch (error) {
      this.#released('a viewer endpoint', await viewer.close());
      throw error;
    }
  }

  /** Ids of the media-server objects this live holds here (pipeline, presenter, recorder, viewers). */
  objectIds(): string[] {
    const ids = [this.#pipeline.id];
    if (this.#source) ids.push(this.#source.id);
    if (this.#recording) ids.push(this.#recording.kurento.id);
    for (const viewer of this.#viewers.values()) ids.push(viewer.id);
    return ids;
  }

  /**
   * One of the live's objects was released on the media server, not by this live (a set-up timeout of the server,
   * another client, an operator). The pipeline or the presenter's endpoint gone ends the live ('failed'): with the
   * pipeline, nothing is left to release; with the presenter's endpoint, the recorder is stopped and the pipeline
   * released. A viewer's endpoint gone removes that viewer. The recorder gone leaves the recording incomplete.
   * Returns whether the id was one of the live's.
   */
  objectGone(id: string): boolean {
    if (this.#closed) return false;
    if (id === this.#pipeline.id) {
      void this.gone('failed');
      return true;
    }
    if (id === this.#source?.id) {
      // On an attached live, the owning process ends it for everyone; its viewers here go with the pipeline.
      if (this.owner) void this.end('failed');
      return true;
    }
    if (this.#recording && id === this.#recording.kurento.id) {
      this.#recording.lost();
      return true;
    }
    for (const viewer of this.#viewers.values()) {
      if (viewer.id === id) {
        viewer.parentClosed();
        return true;
      }
    }
    return false;
  }

  /**
   * Compare with what the media server holds: `children` are the pipeline's elements, null when the pipeline itself
   * is gone; `known` is `objectIds()` taken before the server was asked (an object made since is not judged).
   * Whatever of `known` is missing is handled as released (see objectGone).
   */
  reconcile(known: string[], children: string[] | null): void {
    if (this.#closed) return;
    if (children === null) {
      this.objectGone(this.#pipeline.id);
      return;
    }
    const present = new Set(children);
    for (const id of known.slice(1)) if (!present.has(id)) this.objectGone(id);
  }

  /** Release one viewer's endpoint. Idempotent. */
  async removeViewer(key: string): Promise<void> {
    const viewer = this.#viewers.get(key);
    if (viewer) this.#released('a viewer endpoint', await viewer.close());
  }

  /**
   * End the live: stop the recorder and wait for its `Stopped`, then release the pipeline (owner) or this
   * process's viewers (attached). Idempotent: every caller gets the same outcome.
   */
  end(reason: LiveEndReason): Promise<LiveEnd> {
    this.#ending ??= this.#end(reason);
    return this.#ending;
  }

  async #end(reason: LiveEndReason): Promise<LiveEnd> {
    this.#closed = true;
    this.#endReason = reason;
    let recording: RecordingEnd | null = null;
    if (this.owner) {
      if (this.#recording) recording = await this.#recording.stop();
      this.#released('the pipeline', await release(this.#pipeline));
      this.#presenter?.parentClosed();
      this.#recording?.parentClosed();
      for (const viewer of [...this.#viewers.values()]) viewer.parentClosed();
    } else {
      const viewers = [...this.#viewers.values()];
      for (const error of await Promise.all(viewers.map((v) => v.close()))) this.#released('a viewer endpoint', error);
    }
    const end: LiveEnd = { reason, recording };
    this.safeEmit('ended', end);
    return end;
  }

  /** The media server (or the owning process) is gone: local state only, nothing is sent to the server. */
  gone(reason: LiveEndReason): Promise<LiveEnd> {
    if (!this.#ending) {
      this.#closed = true;
      this.#endReason = reason;
      this.#presenter?.parentClosed();
      this.#recording?.parentClosed();
      for (const viewer of [...this.#viewers.values()]) viewer.parentClosed();
      const end: LiveEnd = { reason, recording: this.#recording ? { stopped: false } : null };
      this.#ending = Promise.resolve(end);
      this.safeEmit('ended', end);
    }
    return this.#ending;
  }

  /** After a loss that turned out to keep the session (a long network blip): release what is left. */
  async releaseRemains(): Promise<void> {
    if (this.owner) this.#released('the pipeline', await release(this.#pipeline));
  }

  /** A failed release is logged, never thrown: the object may already be gone on the media server. */
  #released(what: string, error: Error | undefined): void {
    if (error) this.#log?.warn({ liveId: this.id, err: error.message }, `could not release ${what} of a live`);
  }

  #assertOpen(): void {
    if (this.#closed) throw new MediaError('closed', 'the live has ended');
  }
}
