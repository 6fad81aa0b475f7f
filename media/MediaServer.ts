import { OnairError } from '../api/contract/errors.js';
import type { EndpointIce } from './Endpoint.js';
import { connectKurento, invoke, listPipelines, type KurentoClient, type KurentoPipeline } from './kurento.js';
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
 */
export class MediaServer extends SafeEmitter<MediaServerEvents> {
  readonly uri: string;
  readonly #client: KurentoClient;
  readonly #log: MediaLog;
  readonly #lossGraceMs: number;
  readonly #ice: EndpointIce;
  readonly #lives = new Map<string, Live>();
  /** Owned lives ended by a loss; released on the server if the same session comes back. */
  #orphans: Live[] = [];
  #connected = true;
  #lossTimer: NodeJS.Timeout | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #beating = false;
  /** Rejected when the current connection is declared lost; renewed when it comes back. */
  #lost!: Promise<never>;
  #declareLost!: (reason: string) => void;
  #closed = false;

  private constructor(client: KurentoClient, options: MediaServerOptions) {
    super();
    this.uri = options.uri;
    this.#client = client;
    this.#log = options.log;
    this.#lossGraceMs = options.lossGraceMs ?? 4000;
    this.#ice = options.ice ?? {};
    this.#armLoss();
    client.on('reconnected', (sameSession) => this.#onReconnected(sameSession));
    client._re.on('disconnect', () => this.#onDisconnect());
    const heartbeatMs = options.heartbeatMs ?? 1000;
    this.#heartbeat = setInterval(() => void this.#beat(heartbeatMs), heartbeatMs);
    this.#heartbeat.unref();
  }

  /** Connect; rejects when the media server cannot be reached. */
  static async connect(options: MediaServerOptions): Promise<MediaServer> {
    const { client } = await connectKurento(options.uri, {
      requestTimeoutMs: options.requestTimeoutMs ?? 15_000,
      onSocketError: (error) => options.log.warn({ uri: options.uri, err: error.message }, 'media server socket error'),
    });
    return new MediaServer(client, options);
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
    if (this.#lives.has(id)) throw new OnairError('live.alreadyLive', `live "${id}" already exists`);
    const pipeline = await this.guard(this.#client.create('MediaPipeline'));
    const live = this.#adopt(new Live(id, pipeline, { owner: true, guard: this.guard, ice: this.#ice }));
    try {
      const answer = await live.startPresenter(presenter);
      return { live, answer };
    } catch (error) {
      await live.end('failed');
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
      if (error instanceof OnairError) throw error;
      throw new OnairError('live.notFound', `live "${id}" is not on the media server any more`);
    }
    const raced = this.#lives.get(id);
    if (raced) return raced;
    return this.#adopt(new Live(id, pipeline, { owner: false, guard: this.guard, ice: this.#ice, source }));
  }

  /** Race a media-server call against the loss of the connection (so no request hangs on a dead server). */
  readonly guard = <T>(promise: Promise<T>): Promise<T> => Promise.race([promise, this.#lost]);

  /** Ids of every pipeline the media server holds (all clients). */
  pipelineIds(): Promise<string[]> {
    return this.guard(listPipelines(this.#client));
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
      const ok = this.#client
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
    await Promise.all(this.lives.map((live) => live.end('shutdown')));
    this.#client.close();
  }

  #adopt(live: Live): Live {
    this.#lives.set(live.id, live);
    live.once('ended', () => {
      if (this.#lives.get(live.id) === live) this.#lives.delete(live.id);
    });
    return live;
  }

  #armLoss(): void {
    this.#lost = new Promise<never>((_, reject) => {
      this.#declareLost = (reason) =>
        reject(new OnairError('media.unavailable', `the media server is unavailable (${reason})`));
    });
    this.#lost.catch(() => undefined);
  }

  /**
   * kurento-client does not tell when its socket drops, only when it comes back: ask the server regularly.
   * An answer while the connection was thought down means it is up again (the client's `reconnected` tells a
   * restarted server apart; a slow answer that only looked like a drop changes nothing).
   */
  async #beat(intervalMs: number): Promise<void> {
    if (this.#beating || this.#closed || !this.#client._re.connected) return;
    this.#beating = true;
    try {
      const answered = await this.#ping(Math.max(1500, intervalMs * 2));
      if (!answered && this.#connected) this.#onDisconnect();
      else if (answered && !this.#connected) this.#onReconnected(true);
    } finally {
      this.#beating = false;
    }
  }

  #onDisconnect(): void {
    if (this.#closed || !this.#connected) return;
    this.#connected = false;
    this.#log.warn({ uri: this.uri }, 'media server connection dropped');
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
    this.#log.info({ uri: this.uri, sameSession }, 'media server connection restored');
    this.safeEmit('restored');
  }

  #loseAll(reason: string): void {
    if (this.#closed) return;
    const lives = this.lives;
    this.#lives.clear();
    this.#declareLost(reason);
    this.#armLoss();
    this.#orphans.push(...lives.filter((live) => live.owner));
    for (const live of lives) void live.gone('mediaServerLost');
    this.#log.error({ uri: this.uri, reason, lives: lives.length }, 'media server lost: its lives have ended');
    this.safeEmit('lost', reason);
  }

  #assertAvailable(): void {
    if (!this.available) throw new OnairError('media.unavailable', 'the media server is unavailable');
  }
}
