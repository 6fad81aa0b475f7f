import type { LiveKind } from '../contract/rest.js';
import type { LiveSummary, UserSummary } from '../contract/signalling.js';
import type { Store } from '../store/Store.js';

/** A live as the store knows it, shared by every API process. */
export interface LiveEntry {
  id: string;
  kind: LiveKind;
  status: 'starting' | 'live';
  title: string;
  userId: number;
  nickname: string;
  startedAt: string;
  /** The API process that owns the pipeline. */
  owner: string;
  pipelineId?: string;
  presenterEndpointId?: string;
  callId?: string;
  viewers: number;
  peakViewers: number;
  totalViewers: number;
}

const HEARTBEAT_MS = 5000;
const INSTANCE_TTL_MS = 15_000;
/** A presenter's hold on "one live at a time"; refreshed while live. */
const USER_LOCK_TTL_MS = 12 * 3600_000;

const liveKey = (id: string) => `live:${id}`;
const userKey = (userId: number) => `user:${userId}:live`;
const instanceKey = (id: string) => `instance:${id}`;
const ON_AIR = 'lives:onair';

/**
 * The registry of lives on air, in the store: what "Live now" lists, where a viewer on any API process finds the
 * pipeline of a live, and the one-live-per-user lock. Entries of an API process that stopped heart-beating are
 * treated as gone and cleaned when met.
 */
export class LiveRegistry {
  readonly instanceId: string;
  readonly #store: Store;
  readonly #avatarUrl: (userId: number) => string;
  #heartbeat: NodeJS.Timeout | undefined;

  constructor(store: Store, instanceId: string, avatarUrl: (userId: number) => string) {
    this.#store = store;
    this.instanceId = instanceId;
    this.#avatarUrl = avatarUrl;
  }

  /** Announce this process as alive, and keep doing so until close(). */
  async start(): Promise<void> {
    await this.#beat();
    this.#heartbeat = setInterval(() => void this.#beat().catch(() => undefined), HEARTBEAT_MS);
    this.#heartbeat.unref();
  }

  async close(): Promise<void> {
    clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
    await this.#store.del(instanceKey(this.instanceId)).catch(() => 0);
  }

  /** Take the user's one-live lock; false when they already have a live (or a call) going. */
  lockUser(userId: number, liveId: string): Promise<boolean> {
    return this.#store.set(userKey(userId), liveId, { nx: true, ttlMs: USER_LOCK_TTL_MS });
  }

  /** Release the user's lock if it is still this live's. */
  async unlockUser(userId: number, liveId: string): Promise<void> {
    await this.#store.compareAndSet(userKey(userId), liveId, null);
  }

  /** The live id holding the user's lock, if any (stale locks of dead processes are cleared). */
  async userLive(userId: number): Promise<string | null> {
    const liveId = await this.#store.get(userKey(userId));
    if (!liveId) return null;
    const entry = await this.get(liveId);
    if (entry) return liveId;
    const raw = await this.#store.hgetall(liveKey(liveId));
    if (Object.keys(raw).length === 0 || !(await this.#alive(raw.owner ?? ''))) {
      await this.#store.compareAndSet(userKey(userId), liveId, null);
      return null;
    }
    return liveId;
  }

  /** Record a live being set up (not listed yet). */
  async reserve(entry: Pick<LiveEntry, 'id' | 'kind' | 'title' | 'userId' | 'nickname' | 'callId'>): Promise<void> {
    await this.#store.hset(liveKey(entry.id), {
      id: entry.id,
      kind: entry.kind,
      status: 'starting',
      title: entry.title,
      userId: String(entry.userId),
      nickname: entry.nickname,
      owner: this.instanceId,
      startedAt: new Date().toISOString(),
      viewers: '0',
      peakViewers: '0',
      totalViewers: '0',
      ...(entry.callId ? { callId: entry.callId } : {}),
    });
  }

  /** The live is on air: where its media is, and it is listed. */
  async publish(
    id: string,
    media: { pipelineId: string; presenterEndpointId: string; startedAt: Date },
  ): Promise<void> {
    await this.#store.hset(liveKey(id), {
      status: 'live',
      pipelineId: media.pipelineId,
      presenterEndpointId: media.presenterEndpointId,
      startedAt: media.startedAt.toISOString(),
    });
    await this.#store.sadd(ON_AIR, id);
  }

  /** The presenter resumed on a new endpoint: processes that attach from now on connect to it. */
  async setPresenterEndpoint(id: string, presenterEndpointId: string): Promise<void> {
    await this.#store.hset(liveKey(id), { presenterEndpointId });
  }

  /** Forget a live entirely. */
  async remove(id: string): Promise<void> {
    await this.#store.srem(ON_AIR, id);
    await this.#store.del(liveKey(id));
  }

  /** A viewer joined (+1) or left (-1); resolves the live's figures after the change. */
  async countViewer(
    id: string,
    delta: 1 | -1,
  ): Promise<Pick<LiveEntry, 'viewers' | 'peakViewers' | 'totalViewers'> | null> {
    const key = liveKey(id);
    if (!(await this.#store.hget(key, 'id'))) return null;
    const viewers = await this.#store.hincr(key, 'viewers', delta);
    let totalViewers = Number(await this.#store.hget(key, 'totalViewers'));
    if (delta > 0) totalViewers = await this.#store.hincr(key, 'totalViewers', 1);
    let peakViewers = Number(await this.#store.hget(key, 'peakViewers'));
    if (viewers > peakViewers) {
      peakViewers = viewers;
      await this.#store.hset(key, { peakViewers: String(viewers) });
    }
    return { viewers: Math.max(0, viewers), peakViewers, totalViewers };
  }

  /** A live's audience figures, whatever its status; null when unknown. */
  async figures(id: string): Promise<Pick<LiveEntry, 'viewers' | 'peakViewers' | 'totalViewers'> | null> {
    const raw = await this.#store.hgetall(liveKey(id));
    if (!raw.id) return null;
    const { viewers, peakViewers, totalViewers } = parseEntry(raw);
    return { viewers, peakViewers, totalViewers };
  }

  /** A live that is on air (status live, owner alive), or null. */
  async get(id: string): Promise<LiveEntry | null> {
    const raw = await this.#store.hgetall(liveKey(id));
    if (raw.status !== 'live') return null;
    if (!(await this.#alive(raw.owner ?? ''))) {
      await this.remove(id);
      return null;
    }
    return parseEntry(raw);
  }

  /** Whether a live (on air or being set up) is held by a process that is alive: its media must stay. */
  async holds(id: string): Promise<boolean> {
    const raw = await this.#store.hgetall(liveKey(id));
    return raw.id !== undefined && (await this.#alive(raw.owner ?? ''));
  }

  /** Every broadcast on air, newest first. */
  async list(): Promise<LiveEntry[]> {
    const ids = await this.#store.smembers(ON_AIR);
    const entries = await Promise.all(ids.map((id) => this.get(id)));
    return entries
      .filter((e): e is LiveEntry => e !== null && e.kind === 'broadcast')
      .sort((a, b) => b.startedAt.localeCompare(a.startedAt));
  }

  summary(entry: LiveEntry): LiveSummary {
    const presenter: UserSummary = {
      id: entry.userId,
      nickname: entry.nickname,
      avatarUrl: this.#avatarUrl(entry.userId),
    };
    return { id: entry.id, title: entry.title, presenter, startedAt: entry.startedAt, viewerCount: entry.viewers };
  }

  async #alive(instanceId: string): Promise<boolean> {
    if (instanceId === this.instanceId) return true;
    return instanceId !== '' && (await this.#store.get(instanceKey(instanceId))) !== null;
  }

  async #beat(): Promise<void> {
    await this.#store.set(instanceKey(this.instanceId), String(Date.now()), { ttlMs: INSTANCE_TTL_MS });
  }
}

function parseEntry(raw: Record<string, string>): LiveEntry {
  return {
    id: raw.id ?? '',
    kind: raw.kind === 'call' ? 'call' : 'broadcast',
    status: raw.status === 'live' ? 'live' : 'starting',
    title: raw.title ?? '',
    userId: Number(raw.userId),
    nickname: raw.nickname ?? '',
    startedAt: raw.startedAt ?? '',
    owner: raw.owner ?? '',
    ...(raw.pipelineId ? { pipelineId: raw.pipelineId } : {}),
    ...(raw.presenterEndpointId ? { presenterEndpointId: raw.presenterEndpointId } : {}),
    ...(raw.callId ? { callId: raw.callId } : {}),
    viewers: Math.max(0, Number(raw.viewers ?? 0)),
    peakViewers: Number(raw.peakViewers ?? 0),
    totalViewers: Number(raw.totalViewers ?? 0),
  };
}
