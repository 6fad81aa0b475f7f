import type { LiveKind } from '../contract/rest.js';
import type { Membership } from '../cluster/Membership.js';
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
  /** The media server (its pool id) holding the pipeline; absent on entries older than the pool: the first. */
  mediaServer?: string;
  callId?: string;
  /** Viewers on every process (derived from the per-process viewer hashes). */
  viewers: number;
  peakViewers: number;
  totalViewers: number;
}

/** A viewer as the store knows it: who, and their endpoint on the media server (released if their process dies). */
export interface ViewerEntry {
  socketId: string;
  userId: number;
  nickname: string;
  endpointId: string;
  /** The media server (pool id) holding the endpoint; absent: the live's. */
  mediaServer?: string;
}

type Figures = Pick<LiveEntry, 'viewers' | 'peakViewers' | 'totalViewers'>;

/** A presenter's hold on "one live at a time"; refreshed while live. */
const USER_LOCK_TTL_MS = 12 * 3600_000;

const liveKey = (id: string) => `live:${id}`;
const userKey = (userId: number) => `user:${userId}:live`;
/** The viewers one process holds on a live: socket id → ViewerEntry (JSON). */
const viewersKey = (liveId: string, instanceId: string) => `live:${liveId}:viewers:${instanceId}`;
/** The processes that hold (or held) viewers of a live. */
const viewerProcessesKey = (liveId: string) => `live:${liveId}:processes`;
/** The lives a process owns (set up or on air) and the lives it holds viewers of: what a survivor takes over. */
const ownedKey = (instanceId: string) => `lives:owned:${instanceId}`;
const watchedKey = (instanceId: string) => `lives:watched:${instanceId}`;
const ON_AIR = 'lives:onair';

/**
 * The registry of lives on air, in the store: what "Live now" lists, where a viewer on any API process finds the
 * pipeline of a live, who watches it from which process, and the one-live-per-user lock. Entries of a process
 * that stopped heart-beating are hidden at once, and cleaned by the survivor that takes it over.
 */
export class LiveRegistry {
  readonly instanceId: string;
  readonly #store: Store;
  readonly #membership: Membership;
  readonly #avatarUrl: (userId: number) => string;

  constructor(store: Store, membership: Membership, avatarUrl: (userId: number) => string) {
    this.#store = store;
    this.#membership = membership;
    this.instanceId = membership.instanceId;
    this.#avatarUrl = avatarUrl;
  }

  /** Forget this process's indexes (its lives have ended, its viewers left). */
  async close(): Promise<void> {
    await this.#store.del(ownedKey(this.instanceId), watchedKey(this.instanceId)).catch(() => 0);
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
      peakViewers: '0',
      totalViewers: '0',
      ...(entry.callId ? { callId: entry.callId } : {}),
    });
    await this.#store.sadd(ownedKey(this.instanceId), entry.id);
  }

  /** The live is on air: where its media is, and it is listed. */
  async publish(
    id: string,
    media: { pipelineId: string; presenterEndpointId: string; mediaServer: string; startedAt: Date },
  ): Promise<void> {
    await this.#store.hset(liveKey(id), {
      status: 'live',
      mediaServer: media.mediaServer,
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

  /** Forget a live entirely (its viewers on every process too). */
  async remove(id: string): Promise<void> {
    await this.#store.srem(ON_AIR, id);
    const owner = await this.#store.hget(liveKey(id), 'owner');
    await this.#store.del(liveKey(id));
    if (owner) await this.#store.srem(ownedKey(owner), id);
    for (const instanceId of await this.#store.smembers(viewerProcessesKey(id))) {
      await this.#store.del(viewersKey(id, instanceId));
      await this.#store.srem(watchedKey(instanceId), id);
    }
    await this.#store.del(viewerProcessesKey(id));
  }

  /** A viewer of this process is watching; resolves the live's figures after the change (null: no such live). */
  async viewerJoined(id: string, viewer: ViewerEntry): Promise<Figures | null> {
    const key = liveKey(id);
    if (!(await this.#store.hget(key, 'id'))) return null;
    await this.#store.sadd(viewerProcessesKey(id), this.instanceId);
    await this.#store.sadd(watchedKey(this.instanceId), id);
    await this.#store.hset(viewersKey(id, this.instanceId), { [viewer.socketId]: JSON.stringify(viewer) });
    const totalViewers = await this.#store.hincr(key, 'totalViewers', 1);
    const viewers = await this.#viewerCount(id);
    let peakViewers = Number(await this.#store.hget(key, 'peakViewers'));
    if (viewers > peakViewers) {
      peakViewers = viewers;
      await this.#store.hset(key, { peakViewers: String(viewers) });
    }
    return { viewers, peakViewers, totalViewers };
  }

  /**
   * A viewer left (of this process, or of a dead one being taken over); resolves the figures after the change, or
   * null when that viewer was not counted (already left) or the live is unknown. Idempotent.
   */
  async viewerLeft(id: string, socketId: string, instanceId = this.instanceId): Promise<Figures | null> {
    if ((await this.#store.hdel(viewersKey(id, instanceId), socketId)) === 0) return null;
    return this.figures(id);
  }

  /** The viewers a process holds on a live. */
  async viewersOf(id: string, instanceId: string): Promise<ViewerEntry[]> {
    const raw = await this.#store.hgetall(viewersKey(id, instanceId));
    const viewers: ViewerEntry[] = [];
    for (const [socketId, json] of Object.entries(raw)) {
      try {
        const v = JSON.parse(json) as Partial<ViewerEntry>;
        viewers.push({
          socketId,
          userId: Number(v.userId),
          nickname: String(v.nickname ?? ''),
          endpointId: String(v.endpointId ?? ''),
          ...(typeof v.mediaServer === 'string' ? { mediaServer: v.mediaServer } : {}),
        });
      } catch {
        viewers.push({ socketId, userId: 0, nickname: '', endpointId: '' });
      }
    }
    return viewers;
  }

  /** The lives a process owns (set up or on air). */
  ownedBy(instanceId: string): Promise<string[]> {
    return this.#store.smembers(ownedKey(instanceId));
  }

  /** The lives a process holds viewers of. */
  watchedBy(instanceId: string): Promise<string[]> {
    return this.#store.smembers(watchedKey(instanceId));
  }

  /** Forget what a process held on a live's audience (once its viewers were counted out). */
  async forgetViewers(id: string, instanceId: string): Promise<void> {
    await this.#store.del(viewersKey(id, instanceId));
    await this.#store.srem(viewerProcessesKey(id), instanceId);
    await this.#store.srem(watchedKey(instanceId), id);
  }

  /** Forget a dead process's indexes (after its take-over). */
  async forgetProcess(instanceId: string): Promise<void> {
    await this.#store.del(ownedKey(instanceId), watchedKey(instanceId));
  }

  /** A live's audience figures, whatever its status; null when unknown. */
  async figures(id: string): Promise<Figures | null> {
    const raw = await this.#store.hgetall(liveKey(id));
    if (!raw.id) return null;
    const { peakViewers, totalViewers } = parseEntry(raw, 0);
    return { viewers: await this.#viewerCount(id), peakViewers, totalViewers };
  }

  /** A live as the store knows it, whatever its status and owner (a take-over reads a dead process's lives). */
  async peek(id: string): Promise<LiveEntry | null> {
    const raw = await this.#store.hgetall(liveKey(id));
    return raw.id ? parseEntry(raw, await this.#viewerCount(id)) : null;
  }

  /** A live that is on air (status live, owner alive), or null. */
  async get(id: string): Promise<LiveEntry | null> {
    const raw = await this.#store.hgetall(liveKey(id));
    if (raw.status !== 'live') return null;
    // A dead owner's live is hidden at once; the survivor that takes the owner over ends it for everyone.
    if (!(await this.#alive(raw.owner ?? ''))) return null;
    return parseEntry(raw, await this.#viewerCount(id));
  }

  /**
   * Whether a live (on air or being set up) is held by a process that is alive, or by a dead one not taken over
   * yet (the survivor that takes it over ends the live): its media and its recording are left alone until then.
   */
  async holds(id: string): Promise<boolean> {
    const owner = await this.#store.hget(liveKey(id), 'owner');
    return owner !== null && (await this.#membership.isMember(owner));
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

  #alive(instanceId: string): Promise<boolean> {
    return this.#membership.isAlive(instanceId);
  }

  /** Viewers on every process: the sum of the per-process hashes (a dead process's until its take-over). */
  async #viewerCount(id: string): Promise<number> {
    let count = 0;
    for (const instanceId of await this.#store.smembers(viewerProcessesKey(id))) {
      count += Object.keys(await this.#store.hgetall(viewersKey(id, instanceId))).length;
    }
    return count;
  }
}

function parseEntry(raw: Record<string, string>, viewers: number): LiveEntry {
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
    ...(raw.mediaServer ? { mediaServer: raw.mediaServer } : {}),
    ...(raw.callId ? { callId: raw.callId } : {}),
    viewers,
    peakViewers: Number(raw.peakViewers ?? 0),
    totalViewers: Number(raw.totalViewers ?? 0),
  };
}
