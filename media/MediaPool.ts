import { MediaError } from './errors.js';
import { createElement, invoke, release, type KurentoObject } from './kurento.js';
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

/** A viewer placed on a live here: counted until its endpoint is (the API makes it once placed), or for a while. */
function viewerPlaced(member: Member, live: Live): void {
  const before = live.viewerCount;
  member.reserve(1, () => live.closed || live.viewerCount > before);
}

/** A new live's endpoints: the presenter's, and the recorder's when it records. */
/** How long a viewer's placement counts before its endpoint is known here (the API makes it after placement). */
const RESERVATION_MS = 5000;

export function endpointsOfLive(recording: boolean): number {
  return recording ? 2 : 1;
}

/** A cascaded live's relay held by this process: the offering RtpEndpoint on the live's server, the relay on another. */
interface Relay {
  liveId: string;
  origin: Member;
  target: Member;
  /** The RtpEndpoint in the live's pipeline on its own server, fed by the presenter, sending to the relay. */
  source: KurentoObject;
  live: Live;
}

class Member {
  readonly server: MediaServer;
  readonly capacity: number | null;
  readonly index: number;
  load: ServerLoad | null = null;
  /** What the last sample counted beyond this process's own endpoints then: other clients' (API processes). */
  others = 0;
  /** Endpoints this process is placing here and has not made yet: dropped once made, or after RESERVATION_MS. */
  pending: Array<{ at: number; count: number; made?: () => boolean }> = [];
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

  /** Other clients' endpoints (as last sampled), this process's own, and those being placed. */
  get endpoints(): number {
    const since = Date.now() - RESERVATION_MS;
    this.pending = this.pending.filter((p) => p.at > since && !p.made?.());
    return this.others + this.localEndpoints + this.pending.reduce((sum, p) => sum + p.count, 0);
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

  /** Count `count` endpoints as being placed here; the function returned drops them (once made, or failed). */
  reserve(count: number, made?: () => boolean): () => void {
    const entry = { at: Date.now(), count, ...(made ? { made } : {}) };
    this.pending.push(entry);
    return () => {
      this.pending = this.pending.filter((p) => p !== entry);
    };
  }

  sampled(load: ServerLoad, localAtStart: number): void {
    this.load = load;
    this.others = Math.max(0, load.endpoints - localAtStart);
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
  /** Relays this process holds, by live id; set-ups under way, by live id. */
  readonly #relays = new Map<string, Relay[]>();
  readonly #relaying = new Map<string, Promise<Relay>>();
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
        member.others = 0;
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
    const lives = this.#members.map((m) => m.server.live(id)).filter((l): l is Live => l !== undefined);
    return lives.find((l) => l.owner && !l.relay) ?? lives.find((l) => !l.relay) ?? lives[0];
  }

  /** The live (the live's own, or a relay of it) on which this process holds the viewer `key`. */
  liveOfViewer(id: string, key: string): Live | undefined {
    for (const member of this.#members) {
      const live = member.server.live(id);
      if (live?.endpoint('viewer', key)) return live;
    }
    return undefined;
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
        relays: lives.filter((live) => live.relay).length,
        placements: { ...m.placements },
      };
    });
  }

  /**
   * Start a live on the least-loaded server with room for it; resolves with the live, the presenter's SDP answer
   * and the server's id. No server available: `server.unavailable`; none with room: `server.capacity`.
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
      throw new MediaError('server.capacity', 'every media server is at its capacity: try again later');
    }
    const placed = member.reserve(need);
    member.placements.live++;
    try {
      const { live, answer } = await member.server.startLive(id, presenter);
      return { live, answer, serverId: member.id };
    } finally {
      placed();
    }
  }

  /**
   * The live a new viewer of this process joins: on the server the live is on (attached there when another
   * process owns it). That server unavailable: `server.unavailable`; at its capacity: `server.capacity`.
   */
  async viewerLive(id: string, place: LivePlace): Promise<Live> {
    const member = this.#memberOf(place.serverId);
    if (!member?.server.available)
      throw new MediaError('server.unavailable', `the media server of live "${id}" is unavailable`);
    if (member.hasRoom(1)) {
      const placed = member.reserve(1);
      member.placements.viewer++;
      try {
        const live =
          member.server.live(id) ?? (await member.server.attachLive(id, place.pipelineId, place.presenterEndpointId));
        viewerPlaced(member, live);
        return live;
      } finally {
        placed();
      }
    }
    // The live's server is full: the viewer joins a relay of the live on another server (made on demand).
    const relay = await this.#relayFor(id, place, member);
    viewerPlaced(relay.target, relay.live);
    relay.target.placements.viewer++;
    return relay.live;
  }

  /** A relay of live `id` with room for a viewer: one this process holds, or a new one (one set-up at a time). */
  async #relayFor(id: string, place: LivePlace, origin: Member): Promise<Relay> {
    for (;;) {
      const existing = (this.#relays.get(id) ?? []).find(
        (r) => !r.live.closed && r.target.server.available && r.target.hasRoom(1),
      );
      if (existing) return existing;
      const pending = this.#relaying.get(id);
      if (!pending) break;
      await pending.catch(() => undefined);
    }
    const target = this.#members
      .filter((m) => m !== origin && m.server.available && !m.server.live(id) && m.hasRoom(2))
      .sort((a, b) => a.score - b.score || a.index - b.index)[0];
    if (!target) {
      this.#refusals.viewer++;
      this.#log.warn(
        { liveId: id, server: origin.id, endpoints: origin.endpoints, capacity: origin.capacity },
        'the media server of a live is full and no other server has room for a relay',
      );
      throw new MediaError('server.capacity', 'every media server is at its capacity: try again later');
    }
    const setUp = this.#startRelay(id, place, origin, target).finally(() => this.#relaying.delete(id));
    this.#relaying.set(id, setUp);
    return setUp;
  }

  /**
   * Cascade live `id` from its server to `target`, the standard Kurento way: an RtpEndpoint in the live's pipeline
   * fed by the presenter offers (generateOffer), an RtpEndpoint in a new pipeline on the target answers
   * (processOffer), the offerer takes the answer (processAnswer). Keyframe requests travel back across the pair.
   * The relay ends when its last viewer leaves, when the live ends here, or with either server.
   */
  async #startRelay(id: string, place: LivePlace, origin: Member, target: Member): Promise<Relay> {
    const originLive =
      origin.server.live(id) ?? (await origin.server.attachLive(id, place.pipelineId, place.presenterEndpointId));
    if (!originLive.source) throw new MediaError('live.noPresenter', 'the live has no presenter yet');
    const guard = origin.server.guard;
    const source = await guard(createElement(originLive.pipeline, 'RtpEndpoint'));
    let live: Live | undefined;
    try {
      await originLive.feed(source);
      const offer = await guard(invoke<string>(source, 'generateOffer'));
      const placed = target.reserve(1);
      const started = await target.server.startRelay(id, offer).finally(placed);
      live = started.live;
      await guard(invoke(source, 'processAnswer', started.answer));
    } catch (error) {
      originLive.unfeed(source);
      await live?.end('failed');
      await release(source);
      throw error;
    }
    const relay: Relay = { liveId: id, origin, target, source, live };
    this.#relays.set(id, [...(this.#relays.get(id) ?? []), relay]);
    const relayLive = live;
    relayLive.on('viewerClosed', () => {
      if (relayLive.viewerCount === 0 && !relayLive.closed) void relayLive.end('stopped');
    });
    const originEnded = () => void relayLive.end('endedElsewhere');
    originLive.once('ended', originEnded);
    relayLive.once('ended', (end) => {
      originLive.off('ended', originEnded);
      originLive.unfeed(source);
      const left = (this.#relays.get(id) ?? []).filter((r) => r !== relay);
      if (left.length) this.#relays.set(id, left);
      else this.#relays.delete(id);
      if (!originLive.closed) void release(source);
      this.#log.info({ liveId: id, from: origin.id, to: target.id, reason: end.reason }, 'relay of a live released');
    });
    this.#log.info({ liveId: id, from: origin.id, to: target.id }, 'live cascaded to another media server');
    return relay;
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
    const local = member.localEndpoints;
    try {
      member.sampled(await member.server.sampleLoad(), local);
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
