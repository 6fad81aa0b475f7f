import { MediaError } from './errors.js';
import type { Live, PresenterOptions } from './Live.js';
import type { MediaLog, MediaServer, ServerLoad, TaggedPipeline } from './MediaServer.js';
import { SafeEmitter } from './SafeEmitter.js';

export interface PoolServerOptions {
  server: MediaServer;
  /** Endpoints this server takes (every client's, recorders included); null: no limit. */
  capacity: number | null;
}

export interface MediaPoolOptions {
  log: MediaLog;
  /** How often each server's load is sampled (default 5000 ms); 0: only when a server has never been sampled. */
  sampleMs?: number;
}

/** Where a live's media is, as the registry keeps it; no `serverId` (an entry older than the pool): the first. */
export interface LivePlace {
  serverId?: string | undefined;
  pipelineId: string;
  presenterEndpointId: string;
}

/** One server of the pool as /metrics and /healthz see it. */
export interface PoolServerStatus {
  id: string;
  available: boolean;
  capacity: number | null;
  /** The last sample of the server's own figures; null before the first. */
  load: ServerLoad | null;
  /** Endpoints counted for placement: the sample, plus what this process placed since it was taken. */
  endpoints: number;
  /** Lives this process holds on it (owned or attached). */
  lives: number;
  /** Viewers this process holds on it. */
  viewers: number;
  /** Relays of a cascaded live this process holds on it (none until RtpEndpoint relays are wired). */
  relays: number;
  /** Placement decisions this process made for it, by what was placed. */
  placements: { live: number; viewer: number };
}

export interface MediaPoolEvents {
  /** One server is gone (or restarted): every live this process held on it has ended. */
  lost: [serverId: string, reason: string];
  /** A server's connection is back: it takes new lives again. */
  restored: [serverId: string];
}

/** A new live's endpoints: the presenter's, and the recorder's when it records. */
export function endpointsOfLive(recording: boolean): number {
  return recording ? 2 : 1;
}

class Member {
  readonly server: MediaServer;
  readonly capacity: number | null;
  readonly index: number;
  load: ServerLoad | null = null;
  /** Endpoints this process placed here, with when: those placed before the current sample was taken are in it. */
  pending: Array<{ at: number; count: number }> = [];
  readonly placements = { live: 0, viewer: 0 };

  constructor(options: PoolServerOptions, index: number) {
    this.server = options.server;
    this.capacity = options.capacity;
    this.index = index;
  }

  get id(): string {
    return this.server.id;
  }

  /** This process's own endpoints here (known exactly, whatever the sample's age). */
  get localEndpoints(): number {
    let count = 0;
    for (const live of this.server.lives) count += live.endpointCount;
    return count;
  }

  get endpoints(): number {
    const sampled = (this.load?.endpoints ?? 0) + this.pending.reduce((sum, p) => sum + p.count, 0);
    return Math.max(sampled, this.localEndpoints);
  }

  hasRoom(need: number): boolean {
    return this.capacity === null || this.endpoints + need <= this.capacity;
  }

  /**
   * Lower is less loaded. With a capacity: the larger of the fill (endpoints over capacity) and the CPU share the
   * server reports; without: the endpoint count, the CPU share (0..1) breaking ties between equal counts.
   */
  get score(): number {
    const cpu = Math.min(1, Math.max(0, (this.load?.usedCpuPercent ?? 0) / 100));
    if (this.capacity === null) return this.endpoints + cpu;
    return Math.max(this.endpoints / this.capacity, cpu);
  }

  reserve(count: number): void {
    this.pending.push({ at: Date.now(), count });
  }

  sampled(load: ServerLoad, takenAt: number): void {
    this.load = load;
    this.pending = this.pending.filter((p) => p.at >= takenAt);
  }
}

/**
 * Several media servers as one. Every API process connects to each; a new live goes to the least-loaded server
 * that has room for it (its capacity in endpoints), a viewer to the server its live is on (the registry says
 * which). Each server is a MediaServer of its own: losing one ends only what it held, and kurento-client's
 * reconnection brings it back into the pool.
 *
 * Load is what the servers hold, every client's (pipelines and endpoints, sampled through a short-lived
 * connection), plus what this process placed since the sample, and the servers' own figures (ServerManager's
 * getUsedMemory, getCpuCount, getUsedCpu).
 */
export class MediaPool extends SafeEmitter<MediaPoolEvents> {
  readonly #members: Member[];
  readonly #log: MediaLog;
  #sampleTimer: NodeJS.Timeout | undefined;
  #sampling: Promise<void> | undefined;
  #refusals = { live: 0, viewer: 0 };
  #closed = false;

  constructor(servers: PoolServerOptions[], options: MediaPoolOptions) {
    super();
    if (servers.length === 0) throw new Error('a media pool needs at least one server');
    this.#members = servers.map((s, i) => new Member(s, i));
    this.#log = options.log;
    for (const member of this.#members) {
      member.server.on('lost', (reason) => {
        // Whatever it held is gone: sampled again (before any placement) once it is back.
        member.load = null;
        member.pending = [];
        this.safeEmit('lost', member.id, reason);
      });
      member.server.on('restored', () => {
        void this.#sample(member);
        this.safeEmit('restored', member.id);
      });
    }
    const sampleMs = options.sampleMs ?? 5000;
    if (sampleMs > 0) {
      this.#sampleTimer = setInterval(() => void this.sample(), sampleMs);
      this.#sampleTimer.unref();
    }
  }

  /** Every server, in configuration order. */
  get servers(): MediaServer[] {
    return this.#members.map((m) => m.server);
  }

  server(id: string): MediaServer | undefined {
    return this.#members.find((m) => m.id === id)?.server;
  }

  /** Whether any server takes new lives. */
  get available(): boolean {
    return !this.#closed && this.#members.some((m) => m.server.available);
  }

  /** Lives this process holds, on every server. */
  get lives(): Live[] {
    return this.#members.flatMap((m) => m.server.lives);
  }

  /** A live this process holds (the owned one first, when it holds it on several servers). */
  live(id: string): Live | undefined {
    let found: Live | undefined;
    for (const member of this.#members) {
      const live = member.server.live(id);
      if (live?.owner) return live;
      found ??= live;
    }
    return found;
  }

  /** The id of the server a live object of this process is on. */
  serverIdOf(live: Live): string | undefined {
    return this.#members.find((m) => m.server.live(live.id) === live)?.id;
  }

  /** Live placement refusals (no server had room), by what was asked. */
  get refusals(): { live: number; viewer: number } {
    return { ...this.#refusals };
  }

  status(): PoolServerStatus[] {
    return this.#members.map((m) => {
      const lives = m.server.lives;
      return {
        id: m.id,
        available: m.server.available,
        capacity: m.capacity,
        load: m.load,
        endpoints: m.endpoints,
        lives: lives.length,
        viewers: lives.reduce((sum, live) => sum + live.viewerCount, 0),
        relays: 0,
        placements: { ...m.placements },
      };
    });
  }

  /**
   * Start a live on the least-loaded server with room for it; resolves with the live, the presenter's SDP answer
   * and the server's id. No server available: `server.unavailable`; none with room: `server.full`.
   */
  async startLive(id: string, presenter: PresenterOptions): Promise<{ live: Live; answer: string; serverId: string }> {
    const need = endpointsOfLive(presenter.recordingUri !== null);
    await this.#sampleUnsampled();
    const candidates = this.#members.filter((m) => m.server.available);
    if (candidates.length === 0) throw new MediaError('server.unavailable', 'no media server is available');
    const roomy = candidates.filter((m) => m.hasRoom(need));
    const member = roomy.sort((a, b) => a.score - b.score || a.index - b.index)[0];
    if (!member) {
      this.#refusals.live++;
      this.#log.warn(
        { liveId: id, servers: candidates.map((m) => ({ id: m.id, endpoints: m.endpoints, capacity: m.capacity })) },
        'no media server has room for a new live',
      );
      throw new MediaError('server.full', 'every media server is at its capacity: try again later');
    }
    member.reserve(need);
    member.placements.live++;
    const { live, answer } = await member.server.startLive(id, presenter);
    return { live, answer, serverId: member.id };
  }

  /**
   * The live a new viewer of this process joins: on the server the live is on (attached there when another
   * process owns it). That server unavailable: `server.unavailable`; at its capacity: `server.full`.
   */
  async viewerLive(id: string, place: LivePlace): Promise<Live> {
    const member = this.#memberOf(place.serverId);
    if (!member?.server.available)
      throw new MediaError('server.unavailable', `the media server of live "${id}" is unavailable`);
    if (!member.hasRoom(1)) {
      this.#refusals.viewer++;
      this.#log.warn(
        { liveId: id, server: member.id, endpoints: member.endpoints, capacity: member.capacity },
        'the media server of a live has no room for another viewer',
      );
      throw new MediaError('server.full', 'the media server of this live is at its capacity: try again later');
    }
    member.reserve(1);
    member.placements.viewer++;
    return member.server.live(id) ?? (await member.server.attachLive(id, place.pipelineId, place.presenterEndpointId));
  }

  /** The owner of a live resumed its presenter on a new endpoint: this process's viewers follow it. */
  async followPresenter(id: string, presenterEndpointId: string): Promise<void> {
    await Promise.all(
      this.#members.filter((m) => m.server.live(id)).map((m) => m.server.followPresenter(id, presenterEndpointId)),
    );
  }

  setOwnershipCheck(isHeld: (liveId: string) => Promise<boolean>): void {
    for (const member of this.#members) member.server.setOwnershipCheck(isHeld);
  }

  /** Release this deployment's orphan pipelines on every available server; resolves with what was released. */
  async releaseOrphans(): Promise<Array<TaggedPipeline & { serverId: string }>> {
    const rounds = await Promise.allSettled(
      this.#members.map(async (m) => (await m.server.releaseOrphans()).map((p) => ({ ...p, serverId: m.id }))),
    );
    return rounds.flatMap((round, i) => {
      if (round.status === 'fulfilled') return round.value;
      this.#log.warn(
        { server: this.#members[i]!.id, err: (round.reason as Error).message },
        'could not release orphan pipelines',
      );
      return [];
    });
  }

  /** Release a pipeline a dead API process left on a server (see MediaServer.releasePipeline). */
  releasePipeline(serverId: string | undefined, pipelineId: string) {
    return this.#need(serverId).releasePipeline(pipelineId);
  }

  /** Release one media object a dead API process left on a server (see MediaServer.releaseObject). */
  releaseObject(serverId: string | undefined, objectId: string): Promise<boolean> {
    return this.#need(serverId).releaseObject(objectId);
  }

  /** Whether each server answers now. */
  async probe(timeoutMs?: number): Promise<Array<{ id: string; ok: boolean }>> {
    return Promise.all(this.#members.map(async (m) => ({ id: m.id, ok: await m.server.probe(timeoutMs) })));
  }

  /** Sample every available server's load now (the timer does it every `sampleMs`). Never throws. */
  sample(): Promise<void> {
    this.#sampling ??= Promise.all(this.#members.map((m) => this.#sample(m)))
      .then(() => undefined)
      .finally(() => (this.#sampling = undefined));
    return this.#sampling;
  }

  /** Stop sampling, end every owned live on every server (recordings finalised), disconnect. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sampleTimer);
    await this.#sampling;
    await Promise.all(this.#members.map((m) => m.server.close()));
  }

  async #sample(member: Member): Promise<void> {
    if (this.#closed || !member.server.available) return;
    const takenAt = Date.now();
    try {
      member.sampled(await member.server.sampleLoad(), takenAt);
    } catch (error) {
      if (member.server.available)
        this.#log.warn({ server: member.id, err: (error as Error).message }, 'could not sample a media server');
    }
  }

  async #sampleUnsampled(): Promise<void> {
    const unsampled = this.#members.filter((m) => m.load === null && m.server.available);
    if (unsampled.length) await Promise.all(unsampled.map((m) => this.#sample(m)));
  }

  /** A server by id; no id (a registry entry older than the pool): the first. */
  #memberOf(serverId: string | undefined): Member | undefined {
    if (serverId === undefined || serverId === '') return this.#members[0];
    return this.#members.find((m) => m.id === serverId);
  }

  #need(serverId: string | undefined): MediaServer {
    const member = this.#memberOf(serverId);
    if (!member) throw new MediaError('server.unavailable', `media server "${serverId}" is not in the pool`);
    return member.server;
  }
}
