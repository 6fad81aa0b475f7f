import { MediaError } from './errors.js';
import type { EndpointIce, VideoBandwidth } from './Endpoint.js';
import {
  connectKurento,
  createElement,
  createPipeline,
  invoke,
  listChildren,
  listen,
  listPipelines,
  release,
  tagsOf,
  type KurentoClient,
  type KurentoObject,
  type KurentoPipeline,
} from './kurento.js';
import { Live, type PresenterOptions } from './Live.js';
import { SafeEmitter } from './SafeEmitter.js';

/** The logger shape media/ needs (pino's). */
export interface MediaLog {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface MediaServerOptions {
  /** ws://host:port/kurento of a Kurento Media Server or onair's engine. */
  uri: string;
  log: MediaLog;
  /** How long a dropped connection may take to come back with the same session before lives are ended. */
  lossGraceMs?: number;
  /** How often the connection is checked (a request the server must answer). */
  heartbeatMs?: number;
  requestTimeoutMs?: number;
  /** STUN/TURN for the server's endpoints. */
  ice?: EndpointIce;
  /** Video bitrate bounds of every endpoint (Kurento's default caps video at 500 kbps). */
  bandwidth?: VideoBandwidth;
  /**
   * The tag value marking this deployment's pipelines on the media server (tag `onair.deployment`); only pipelines
   * with this tag are ever released as orphans, so a media server shared with other applications is left alone.
   */
  deployment?: string;
  /** How often the lives are compared with what the media server holds (ghosts, orphans); 0 = never. */
  reconcileMs?: number;
}

/** What a media server holds and reports about itself, sampled (see `MediaServer.sampleLoad`). */
export interface ServerLoad {
  /** Pipelines on the server (every client's). */
  pipelines: number;
  /** Endpoints of those pipelines (WebRTC, recorders, RTP, players...). */
  endpoints: number;
  /** The ServerManager's figures, null where the server does not report them. */
  usedMemoryKiB: number | null;
  cpuCount: number | null;
  /** Percentage of the machine's CPU the server used over a short interval. */
  usedCpuPercent: number | null;
}

/** Tags on every pipeline onair creates: its deployment, and the live it carries. */
export const PIPELINE_TAGS = { deployment: 'onair.deployment', live: 'onair.live' } as const;

/** A pipeline of this deployment on the media server: its id and the live it was made for. */
export interface TaggedPipeline {
  pipelineId: string;
  liveId: string;
}

export interface MediaServerEvents {
  /** The media server is gone (or restarted): every live on it has ended. */
  lost: [reason: string];
  /** The connection is back (a new session when it had been lost). */
  restored: [];
}

/**
 * The connection to the media server and the lives this process holds on it.
 *
 * Reconnection is kurento-client's (unbounded, backing off). The policy on top: a connection that drops and comes
 * back with the same session within `lossGraceMs` changes nothing; otherwise every live ends through its
 * local-only path (its objects are void on a restarted server), and the `lost` event tells the API.
 *
 * Liveness is asked on a second connection of its own: Kurento answers one connection's requests one at a time,
 * so a heartbeat queued behind a slow stopAndWait or processOffer would take a busy server for a lost one.
 *
 * The media server never tells a client about objects released behind its back except through the
 * ServerManager's `ObjectDestroyed`: every live hears it, and a periodic reconciliation with `getPipelines` and
 * each pipeline's children catches what an event could not (a missed event, a reconnection).
 */
export class MediaServer extends SafeEmitter<MediaServerEvents> {
  readonly uri: string;
  /** Its name in a pool (see serverIdOf). */
  readonly id: string;
  readonly #client: KurentoClient;
  /** The liveness connection: heartbeats only, never a media object. */
  readonly #liveness: KurentoClient;
  readonly #log: MediaLog;
  /** The URI without its secret (an engine's access_token), for logs. */
  readonly #logUri: string;
  readonly #lossGraceMs: number;
  readonly #ice: EndpointIce;
  readonly #bandwidth: VideoBandwidth | undefined;
  readonly #deployment: string | undefined;
  #reconcileTimer: NodeJS.Timeout | undefined;
  #reconciling: Promise<void> | undefined;
  /** Whether a pipeline of this deployment belongs to a live on air somewhere (set by the API). */
  #isHeld: ((liveId: string) => Promise<boolean>) | undefined;
  readonly #lives = new Map<string, Live>();
  /** Owned lives ended by a loss; released on the server if the same session comes back. */
  #orphans: Live[] = [];
  #connected = true;
  #lossTimer: NodeJS.Timeout | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #beating = false;
  /**
   * The reject functions of the calls in flight under `guard()`, all rejected when the connection is declared lost.
   * (Not a `Promise.race` against one long-lived "lost" promise: every race adds a reaction to it that holds the
   * call's closures, endpoints included, until that promise settles, so every viewer who ever joined stayed in memory.)
   */
  readonly #inFlight = new Set<(error: Error) => void>();
  #closed = false;

  private constructor(client: KurentoClient, liveness: KurentoClient, options: MediaServerOptions) {
    super();
    this.uri = options.uri;
    this.id = serverIdOf(options.uri);
    this.#client = client;
    this.#liveness = liveness;
    this.#log = options.log;
    this.#logUri = redactUri(options.uri);
    this.#lossGraceMs = options.lossGraceMs ?? 4000;
    this.#ice = options.ice ?? {};
    this.#bandwidth = options.bandwidth;
    this.#deployment = options.deployment;
    client.on('reconnected', (sameSession) => this.#onReconnected(sameSession));
    client._re.on('disconnect', () => this.#onDisconnect());
    const heartbeatMs = options.heartbeatMs ?? 1000;
    this.#heartbeat = setInterval(() => void this.#beat(heartbeatMs), heartbeatMs);
    this.#heartbeat.unref();
    const reconcileMs = options.reconcileMs ?? 30_000;
    if (reconcileMs > 0) {
      this.#reconcileTimer = setInterval(() => void this.reconcile(), reconcileMs);
      this.#reconcileTimer.unref();
    }
  }

  /** Connect (the main connection and the liveness one); rejects when the media server cannot be reached. */
  static async connect(options: MediaServerOptions): Promise<MediaServer> {
    const connect = () =>
      connectKurento(options.uri, {
        requestTimeoutMs: options.requestTimeoutMs ?? 15_000,
        onSocketError: (error) =>
          options.log.warn({ uri: redactUri(options.uri), err: error.message }, 'media server socket error'),
      });
    const { client } = await connect();
    let liveness: KurentoClient;
    try {
      ({ client: liveness } = await connect());
    } catch (error) {
      client.close();
      throw error;
    }
    const server = new MediaServer(client, liveness, options);
    await server
      .#watchReleases()
      .catch((error: unknown) =>
        options.log.warn(
          { uri: redactUri(options.uri), err: (error as Error).message },
          'cannot hear releases on the media server',
        ),
      );
    return server;
  }

  /**
   * How the API tells whether a pipeline of this deployment still has a live on air somewhere (any process): the
   * ones that do not are orphans, released by `releaseOrphans`.
   */
  setOwnershipCheck(isHeld: (liveId: string) => Promise<boolean>): void {
    this.#isHeld = isHeld;
  }

  /** Whether new lives can start now. */
  get available(): boolean {
    return this.#connected && !this.#closed;
  }

  get lives(): Live[] {
    return [...this.#lives.values()];
  }

  live(id: string): Live | undefined {
    return this.#lives.get(id);
  }

  /** Start a live on a new pipeline; resolves with the live and the presenter's SDP answer. */
  async startLive(id: string, presenter: PresenterOptions): Promise<{ live: Live; answer: string }> {
    this.#assertAvailable();
    if (this.#lives.has(id)) throw new MediaError('live.exists', `live "${id}" already exists`);
    const pipeline = await this.guard(createPipeline(this.#client));
    const live = this.#adopt(new Live(id, pipeline, this.#liveOptions(true)));
    try {
      if (this.#deployment !== undefined) {
        await this.guard(invoke(pipeline, 'addTag', PIPELINE_TAGS.deployment, this.#deployment));
        await this.guard(invoke(pipeline, 'addTag', PIPELINE_TAGS.live, id));
      }
      const answer = await live.startPresenter(presenter);
      return { live, answer };
    } catch (error) {
      await live.end('failed');
      throw error;
    }
  }

  /**
   * A relay of live `id` on this server (cascading from the live's own server): a pipeline of its own, tagged as
   * the live's, with an RtpEndpoint answering the live server's `offer` as the source of its viewers. Resolves the
   * relay (a Live with `relay` set, owned here) and the SDP answer for the offering RtpEndpoint.
   */
  async startRelay(id: string, offer: string): Promise<{ live: Live; answer: string }> {
    this.#assertAvailable();
    if (this.#lives.has(id)) throw new MediaError('live.exists', `live "${id}" is already on this media server`);
    const pipeline = await this.guard(createPipeline(this.#client));
    try {
      if (this.#deployment !== undefined) {
        await this.guard(invoke(pipeline, 'addTag', PIPELINE_TAGS.deployment, this.#deployment));
        await this.guard(invoke(pipeline, 'addTag', PIPELINE_TAGS.live, id));
      }
      const rtp = await this.guard(createElement(pipeline, 'RtpEndpoint'));
      const answer = await this.guard(invoke<string>(rtp, 'processOffer', offer));
      const live = this.#adopt(new Live(id, pipeline, { ...this.#liveOptions(true), source: rtp, relay: true }));
      return { live, answer };
    } catch (error) {
      await release(pipeline);
      throw error;
    }
  }

  /** Attach to a live whose pipeline another API process owns, to add viewers from this process. */
  async attachLive(id: string, pipelineId: string, presenterEndpointId: string): Promise<Live> {
    this.#assertAvailable();
    const existing = this.#lives.get(id);
    if (existing) return existing;
    let pipeline: KurentoPipeline;
    let source;
    try {
      pipeline = (await this.guard(this.#client.getMediaobjectById(pipelineId))) as KurentoPipeline;
      source = await this.guard(this.#client.getMediaobjectById(presenterEndpointId));
    } catch (error) {
      if (error instanceof MediaError) throw error;
      throw new MediaError('live.gone', `live "${id}" is not on the media server any more`);
    }
    const raced = this.#lives.get(id);
    if (raced) return raced;
    return this.#adopt(new Live(id, pipeline, { ...this.#liveOptions(false), source }));
  }

  /** The owner of an attached live resumed its presenter on a new endpoint: this process's viewers follow it. */
  async followPresenter(id: string, presenterEndpointId: string): Promise<void> {
    const live = this.#lives.get(id);
    if (!live || live.owner || live.closed) return;
    const source = await this.guard(this.#client.getMediaobjectById(presenterEndpointId));
    await live.useSource(source);
  }

  #liveOptions(owner: boolean): ConstructorParameters<typeof Live>[2] {
    return {
      owner,
      guard: this.guard,
      ice: this.#ice,
      log: this.#log,
      ...(this.#bandwidth ? { bandwidth: this.#bandwidth } : {}),
    };
  }

  /** Race a media-server call against the loss of the connection (so no request hangs on a dead server). */
  readonly guard = <T>(promise: Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      this.#inFlight.add(reject);
      promise.then(resolve, reject).finally(() => this.#inFlight.delete(reject));
    });

  /** Ids of every pipeline the media server holds (all clients). */
  pipelineIds(): Promise<string[]> {
    return this.guard(listPipelines(this.#client));
  }

  /**
   * Compare the lives of this process with what the media server holds, then release this deployment's orphan
   * pipelines. Runs on a timer; concurrent calls share one round. Never throws.
   */
  reconcile(): Promise<void> {
    this.#reconciling ??= this.#reconcileRound().finally(() => (this.#reconciling = undefined));
    return this.#reconciling;
  }

  async #reconcileRound(): Promise<void> {
    if (!this.available) return;
    try {
      await this.#reconcileLives();
      await this.releaseOrphans();
    } catch (error) {
      this.#log.warn({ uri: this.#logUri, err: (error as Error).message }, 'media reconciliation failed');
    }
  }

  /** Lives whose pipeline, presenter or viewers are gone on the media server are ended or trimmed (ghosts). */
  async #reconcileLives(): Promise<void> {
    const lives = this.lives.filter((live) => !live.closed);
    if (lives.length === 0) return;
    const known = new Map(lives.map((live) => [live, live.objectIds()]));
    const pipelines = new Set(await this.guard(listPipelines(this.#client)));
    for (const live of lives) {
      let children: string[] | null = null;
      if (pipelines.has(live.pipelineId)) {
        try {
          children = await this.guard(listChildren(live.pipeline));
        } catch (error) {
          if (!isNotFound(error)) throw error;
        }
      }
      const before = live.viewerCount;
      live.reconcile(known.get(live) ?? [], children);
      if (children === null || live.viewerCount !== before)
        this.#log.warn(
          { liveId: live.id, pipelineGone: children === null, viewersGone: before - live.viewerCount },
          'media objects of a live were gone on the media server',
        );
    }
  }

  /**
   * Release this deployment's pipelines that no live on air owns (left by a crash or a redeploy): recorders are
   * stopped first, so that their files are finalised. Only pipelines tagged with this deployment are considered,
   * and nothing is done before the API said how to tell ownership. Resolves with what was released.
   *
   * Looking at pipelines that are not this process's goes through a short-lived connection: on Kurento, an object
   * a session touched is kept for that session, and this process must not keep other clients' objects alive.
   */
  async releaseOrphans(): Promise<TaggedPipeline[]> {
    const isHeld = this.#isHeld;
    if (!isHeld || this.#deployment === undefined || !this.available) return [];
    const ours = new Set(this.lives.map((live) => live.pipelineId));
    const candidates = (await this.guard(listPipelines(this.#client))).filter((id) => !ours.has(id));
    if (candidates.length === 0) return [];
    const { client } = await connectKurento(this.uri, {
      failAfter: 1,
      requestTimeoutMs: 15_000,
      onSocketError: () => undefined,
    });
    const released: TaggedPipeline[] = [];
    try {
      for (const pipelineId of candidates) {
        let pipeline: KurentoObject;
        let tags: Map<string, string>;
        try {
          pipeline = await client.getMediaobjectById(pipelineId);
          tags = await tagsOf(pipeline);
        } catch {
          continue; // released meanwhile, or not a pipeline this client can describe
        }
        const liveId = tags.get(PIPELINE_TAGS.live);
        if (tags.get(PIPELINE_TAGS.deployment) !== this.#deployment || liveId === undefined) continue;
        if (this.#lives.has(liveId) || (await isHeld(liveId))) continue;
        await stopRecorders(client, pipeline);
        const error = await release(pipeline);
        if (error && !isNotFound(error)) {
          this.#log.warn({ pipelineId, liveId, err: error.message }, 'could not release an orphan pipeline');
          continue;
        }
        released.push({ pipelineId, liveId });
      }
    } finally {
      client.close();
    }
    if (released.length) this.#log.warn({ released }, 'orphan pipelines released on the media server');
    return released;
  }

  /**
   * Release a pipeline this process does not own, by id (its owning API process died): its recorders are stopped
   * first, so that their files are finalised. Resolves whether the pipeline was released (or already gone) and
   * whether every recorder confirmed its stop. Through a short-lived connection, as for orphans.
   */
  async releasePipeline(pipelineId: string): Promise<{ released: boolean; recordingStopped: boolean }> {
    return this.#withSideConnection(async (client) => {
      let pipeline: KurentoObject;
      try {
        pipeline = await client.getMediaobjectById(pipelineId);
      } catch {
        return { released: true, recordingStopped: false }; // already gone
      }
      const recordingStopped = await stopRecorders(client, pipeline);
      const error = await release(pipeline);
      if (error && !isNotFound(error)) {
        this.#log.warn({ pipelineId, err: error.message }, 'could not release the pipeline of a dead API process');
        return { released: false, recordingStopped };
      }
      return { released: true, recordingStopped };
    });
  }

  /**
   * What the server holds (pipelines and their endpoints, every client's) and its own figures (ServerManager's
   * getUsedMemory, getCpuCount, getUsedCpu over `cpuIntervalMs`). Through a short-lived connection: the figures
   * take a while (getUsedCpu waits its interval) and must not delay this process's requests or its heartbeat.
   */
  async sampleLoad(cpuIntervalMs = 200): Promise<ServerLoad> {
    return this.#withSideConnection(async (client) => {
      const manager = await client.getServerManager();
      const pipelines = await listPipelines(client);
      let endpoints = 0;
      for (const id of pipelines) {
        try {
          endpoints += (await listChildren(await client.getMediaobjectById(id))).filter(isEndpointId).length;
        } catch {
          // released meanwhile
        }
      }
      const figure = async (operation: string, ...args: unknown[]): Promise<number | null> => {
        try {
          const value = Number(await invoke(manager, operation, ...args));
          return Number.isFinite(value) ? value : null;
        } catch {
          return null;
        }
      };
      return {
        pipelines: pipelines.length,
        endpoints,
        usedMemoryKiB: await figure('getUsedMemory'),
        cpuCount: await figure('getCpuCount'),
        usedCpuPercent: await figure('getUsedCpu', cpuIntervalMs),
      };
    });
  }

  /** Release one media object by id (a viewer endpoint a dead API process left); resolves whether it is gone. */
  async releaseObject(objectId: string): Promise<boolean> {
    return this.#withSideConnection(async (client) => {
      let object: KurentoObject;
      try {
        object = await client.getMediaobjectById(objectId);
      } catch {
        return true; // already gone
      }
      const error = await release(object);
      if (error && !isNotFound(error)) {
        this.#log.warn({ objectId, err: error.message }, 'could not release a media object of a dead API process');
        return false;
      }
      return true;
    });
  }

  async #withSideConnection<T>(work: (client: KurentoClient) => Promise<T>): Promise<T> {
    this.#assertAvailable();
    const { client } = await connectKurento(this.uri, {
      failAfter: 1,
      requestTimeoutMs: 15_000,
      onSocketError: () => undefined,
    });
    try {
      return await this.guard(work(client));
    } finally {
      client.close();
    }
  }

  /** Hear every release on the media server (ServerManager's ObjectDestroyed); subscribed again on a new session. */
  async #watchReleases(): Promise<void> {
    const manager = await this.guard(this.#client.getServerManager());
    listen(
      manager,
      'ObjectDestroyed',
      (event) => {
        // Kurento names the field objectId; accept `object` too.
        const raw = event as { objectId?: unknown; object?: unknown };
        const id = typeof raw.objectId === 'string' ? raw.objectId : raw.object;
        if (typeof id === 'string') this.#objectDestroyed(id);
      },
      (error) => this.#log.warn({ uri: this.#logUri, err: error.message }, 'ObjectDestroyed subscription failed'),
    );
  }

  #objectDestroyed(id: string): void {
    for (const live of this.#lives.values()) {
      if (live.objectGone(id)) {
        this.#log.warn({ liveId: live.id, objectId: id }, 'a media object of a live was released on the media server');
        return;
      }
    }
  }

  /** True when the media server answers within the timeout. */
  async probe(timeoutMs = 2000): Promise<boolean> {
    if (this.#closed) return false;
    return this.#ping(timeoutMs);
  }

  async #ping(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    try {
      const ok = this.#liveness
        .getServerManager()
        .then((m) => invoke(m, 'getUsedMemory'))
        .then(
          () => true,
          () => false,
        );
      return await Promise.race([ok, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** End every owned live (recordings finalised) and close the connection. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#lossTimer);
    clearInterval(this.#heartbeat);
    clearInterval(this.#reconcileTimer);
    await this.#reconciling;
    await Promise.all(this.lives.map((live) => live.end('shutdown')));
    this.#client.close();
    this.#liveness.close();
  }

  #adopt(live: Live): Live {
    this.#lives.set(live.id, live);
    live.once('ended', () => {
      if (this.#lives.get(live.id) === live) this.#lives.delete(live.id);
    });
    return live;
  }

  /** Rejects every call in flight under `guard()` (the connection is declared lost). */
  #declareLost(reason: string): void {
    const error = new MediaError('server.unavailable', `the media server is unavailable (${reason})`);
    const pending = [...this.#inFlight];
    this.#inFlight.clear();
    for (const reject of pending) reject(error);
  }

  /**
   * kurento-client does not tell when its socket drops, only when it comes back: ask the server regularly.
   * An answer while the connection was thought down means it is up again (the client's `reconnected` tells a
   * restarted server apart; a slow answer that only looked like a drop changes nothing).
   */
  async #beat(intervalMs: number): Promise<void> {
    if (this.#beating || this.#closed || !this.#liveness._re.connected) return;
    this.#beating = true;
    try {
      const answered = await this.#ping(Math.max(1500, intervalMs * 2));
      if (!answered && this.#connected) this.#onDisconnect();
      // Up again only once the main connection is back too (its `reconnected` tells a restarted server apart).
      else if (answered && !this.#connected && this.#client._re.connected) this.#onReconnected(true);
    } finally {
      this.#beating = false;
    }
  }

  #onDisconnect(): void {
    if (this.#closed || !this.#connected) return;
    this.#connected = false;
    this.#log.warn({ uri: this.#logUri }, 'media server connection dropped');
    this.#lossTimer = setTimeout(() => this.#loseAll('connection lost'), this.#lossGraceMs);
  }

  #onReconnected(sameSession: boolean): void {
    if (this.#closed || (sameSession && this.#connected)) return;
    clearTimeout(this.#lossTimer);
    this.#lossTimer = undefined;
    if (!sameSession) this.#loseAll('media server restarted');
    const orphans = this.#orphans;
    this.#orphans = [];
    if (sameSession) for (const live of orphans) void live.releaseRemains();
    this.#connected = true;
    this.#log.info({ uri: this.#logUri, sameSession }, 'media server connection restored');
    if (!sameSession)
      void this.#watchReleases().catch((error: unknown) =>
        this.#log.warn(
          { uri: this.#logUri, err: (error as Error).message },
          'cannot hear releases on the media server',
        ),
      );
    this.safeEmit('restored');
  }

  #loseAll(reason: string): void {
    if (this.#closed) return;
    const lives = this.lives;
    this.#lives.clear();
    this.#declareLost(reason);
    this.#orphans.push(...lives.filter((live) => live.owner));
    for (const live of lives) void live.gone('mediaServerLost');
    this.#log.error({ uri: this.#logUri, reason, lives: lives.length }, 'media server lost: its lives have ended');
    this.safeEmit('lost', reason);
  }

  #assertAvailable(): void {
    if (!this.available) throw new MediaError('server.unavailable', 'the media server is unavailable');
  }
}

/** Whether a media object id (`<pipeline>/<uuid>_kurento.<Type>`) is an endpoint's. */
function isEndpointId(id: string): boolean {
  return /Endpoint$/.test(id);
}

/** Kurento's "object not found" (the object was released): code 40101, or the engine's message. */
function isNotFound(error: unknown): boolean {
  const e = error as { code?: number; type?: string; message?: string } | undefined;
  return e?.code === 40101 || e?.type === 'MEDIA_OBJECT_NOT_FOUND' || /not found/i.test(e?.message ?? '');
}

/**
 * Stop every recorder of a pipeline and wait for each (bounded by the request timeout), before its release.
 * Resolves whether it had recorders and every one confirmed its stop.
 */
async function stopRecorders(client: KurentoClient, pipeline: KurentoObject): Promise<boolean> {
  let children: string[];
  try {
    children = await listChildren(pipeline);
  } catch {
    return false;
  }
  const recorders = children.filter((c) => c.endsWith('kurento.RecorderEndpoint'));
  let stopped = recorders.length > 0;
  for (const id of recorders) {
    try {
      await invoke(await client.getMediaobjectById(id), 'stopAndWait');
    } catch {
      stopped = false; // gone or already stopped: nothing to finalise
    }
  }
  return stopped;
}

/**
 * A media server's name in the pool, the same in every API process that lists it: host, port and path of its URI
 * (never the access_token). Stored in the registry and used as the `server` label of the metrics.
 */
export function serverIdOf(uri: string): string {
  try {
    const url = new URL(uri);
    return `${url.host}${url.pathname}`;
  } catch {
    return uri;
  }
}

/** A media-server URI fit for logs: without its access_token. */
export function redactUri(uri: string): string {
  try {
    const url = new URL(uri);
    if (url.searchParams.has('access_token')) url.searchParams.set('access_token', 'redacted');
    return url.toString();
  } catch {
    return '(invalid URI)';
  }
}
