/**
 * Who is online: users with at least one connected socket, on any API process sharing the store.
 *
 * Each process keeps its own sockets per user in memory and mirrors the counts into one store hash of its own
 * (`presence:users:<instance>`). Whether a user is online is asked of every live process's hash (liveness is the
 * cluster Membership's); when a process dies, the survivor that takes it over forgets its hash, and its users go
 * offline unless they are connected elsewhere. A user with several tabs counts once.
 */
import type { GoneMember, Membership } from '../cluster/Membership.js';
import type { UserSummary } from '../contract/signalling.js';
import { rooms, type Notifier } from '../signalling/sockets.js';
import type { Logger } from '../logger.js';
import type { Store } from '../store/Store.js';
import { SafeEmitter } from '../../media/SafeEmitter.js';

export interface PresenceOptions {
  store: Store;
  /** Where `presence:online` / `presence:offline` go (every signed-in socket, through the adapter). */
  notifier: Notifier;
  log: Logger;
  avatarUrl: (userId: number) => string;
  /** Which processes are alive; a dead one's users are swept by the survivor that takes it over. */
  membership: Membership;
}

export interface PresenceEvents {
  /** A user has no socket left on any process. */
  offline: [userId: number];
  /** Another API process died; these users had sockets on it. */
  instanceGone: [instanceId: string, userIds: number[]];
}

const usersKey = (instanceId: string) => `presence:users:${instanceId}`;
/** The counts of a process outlive its heart-beat long enough for another process to sweep them. */
const USERS_TTL_MS = 10 * 60_000;

export class Presence extends SafeEmitter<PresenceEvents> {
  readonly instanceId: string;
  readonly #opts: PresenceOptions;
  readonly #store: Store;
  readonly #membership: Membership;
  /** Sockets of each user on this process. */
  readonly #local = new Map<number, number>();
  /** Per user, the store updates in flight (kept in order). */
  readonly #chains = new Map<number, Promise<unknown>>();
  #heartbeat: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(opts: PresenceOptions) {
    super();
    this.#opts = opts;
    this.#store = opts.store;
    this.#membership = opts.membership;
    this.instanceId = opts.membership.instanceId;
    opts.membership.onGone('presence', (member) => this.#instanceGone(member));
  }

  async start(): Promise<void> {
    await this.#refresh();
    this.#heartbeat = setInterval(() => {
      void this.#refresh().catch((error: unknown) => this.#opts.log.warn({ err: error }, 'presence refresh failed'));
    }, this.#membership.heartbeatMs);
    this.#heartbeat.unref();
  }

  /** Forget this process's sockets in the store; users connected nowhere else go offline. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#heartbeat);
    await Promise.allSettled(this.#chains.values());
    const users = [...this.#local.keys()];
    this.#local.clear();
    try {
      await this.#store.del(usersKey(this.instanceId));
      for (const userId of users) if (!(await this.#onlineElsewhere(userId))) this.#wentOffline(userId);
    } catch (error) {
      this.#opts.log.warn({ err: error }, 'presence clean-up failed');
    }
  }

  /** A socket of this user connected to this process. */
  socketJoined(user: { userId: number; nickname: string }): Promise<void> {
    return this.#serial(user.userId, async () => {
      if (this.#closed) return;
      const before = this.#local.get(user.userId) ?? 0;
      this.#local.set(user.userId, before + 1);
      await this.#store.hset(usersKey(this.instanceId), { [user.userId]: String(before + 1) });
      await this.#store.expire(usersKey(this.instanceId), USERS_TTL_MS);
      if (before === 0 && !(await this.#onlineElsewhere(user.userId))) {
        const summary: UserSummary = {
          id: user.userId,
          nickname: user.nickname,
          avatarUrl: this.#opts.avatarUrl(user.userId),
        };
        this.#opts.notifier.toRoom(rooms.everyone, 'presence:online', { user: summary });
      }
    });
  }

  /** A socket of this user left this process; resolves whether the user is still online anywhere. */
  socketLeft(userId: number): Promise<boolean> {
    return this.#serial(userId, async () => {
      if (this.#closed) return false;
      const left = (this.#local.get(userId) ?? 0) - 1;
      if (left > 0) {
        this.#local.set(userId, left);
        await this.#store.hset(usersKey(this.instanceId), { [userId]: String(left) });
        return true;
      }
      this.#local.delete(userId);
      await this.#store.hdel(usersKey(this.instanceId), String(userId));
      if (await this.#onlineElsewhere(userId)) return true;
      this.#wentOffline(userId);
      return false;
    });
  }

  async isOnline(userId: number): Promise<boolean> {
    return (this.#local.get(userId) ?? 0) > 0 || (await this.#onlineElsewhere(userId));
  }

  /** Every user online on any live process. */
  async onlineUserIds(): Promise<number[]> {
    const ids = new Set(this.#local.keys());
    for (const instanceId of await this.#membership.aliveOthers()) {
      for (const [field, count] of Object.entries(await this.#store.hgetall(usersKey(instanceId)))) {
        if (Number(count) > 0) ids.add(Number(field));
      }
    }
    return [...ids].filter((id) => Number.isInteger(id) && id > 0);
  }

  /** A dead process (this one is the survivor that took it over): its users go offline unless connected elsewhere. */
  async #instanceGone({ instanceId }: GoneMember): Promise<void> {
    if (this.#closed) throw new Error('presence is closed: left to another process');
    const counts = await this.#store.hgetall(usersKey(instanceId));
    if ((await this.#store.del(usersKey(instanceId))) !== 1) return;
    const userIds = Object.entries(counts)
      .filter(([, c]) => Number(c) > 0)
      .map(([id]) => Number(id));
    this.#opts.log.warn({ instanceId, users: userIds.length }, 'an API process stopped: its users are disconnected');
    this.safeEmit('instanceGone', instanceId, userIds);
    for (const userId of userIds) if (!(await this.isOnline(userId))) this.#wentOffline(userId);
  }

  protected override onListenerError(event: string, error: unknown): void {
    this.#opts.log.error({ event, err: error }, 'a presence listener failed');
  }

  #wentOffline(userId: number): void {
    this.#opts.notifier.toRoom(rooms.everyone, 'presence:offline', { userId });
    this.safeEmit('offline', userId);
  }

  async #onlineElsewhere(userId: number): Promise<boolean> {
    for (const instanceId of await this.#membership.aliveOthers()) {
      if (Number(await this.#store.hget(usersKey(instanceId), String(userId))) > 0) return true;
    }
    return false;
  }

  /** Rewrite this process's counts (so that a wrongly swept process heals itself). */
  async #refresh(): Promise<void> {
    if (this.#closed) return;
    if (this.#local.size === 0) return;
    await this.#store.hset(
      usersKey(this.instanceId),
      Object.fromEntries([...this.#local].map(([id, n]) => [String(id), String(n)])),
    );
    await this.#store.expire(usersKey(this.instanceId), USERS_TTL_MS);
  }

  #serial<T>(userId: number, work: () => Promise<T>): Promise<T> {
    const previous = this.#chains.get(userId) ?? Promise.resolve();
    const next = previous.then(work, work);
    const settled = next.catch(() => undefined);
    this.#chains.set(userId, settled);
    void settled.then(() => {
      if (this.#chains.get(userId) === settled) this.#chains.delete(userId);
    });
    return next;
  }
}
