/**
 * The chat and reactions of a live: who may say what, moderation by the presenter, delivery to the live's
 * audience room (through the socket.io adapter, so across API processes), storage with the offset into the live,
 * and the replay of a recording's chat. Calls have no chat.
 *
 * State in the store, per live (every key has a TTL and is removed when the live ends): its settings (slow mode),
 * its muted accounts, each viewer's slow-mode wait; per account, the message rate window.
 */
import { Op, type Sequelize } from 'sequelize';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import {
  CHAT_HISTORY_SIZE,
  DEFAULT_PRESENTER_MEDIA,
  type PresenterMedia,
  REACTION_KINDS,
  type ChatMessage,
  type ChatState,
  type ReactionKind,
  type RecordingInteractions,
} from '../contract/chat.js';
import { OnairError } from '../contract/errors.js';
import type { RecordingView } from '../contract/rest.js';
import type { Database } from '../db/index.js';
import { rooms, type Notifier, type SocketUser } from '../signalling/sockets.js';
import type { LiveEntry, LiveRegistry } from '../live/LiveRegistry.js';
import type { Logger } from '../logger.js';
import type { Store } from '../store/Store.js';
import { defineChatModels, type ChatMessageRow, type ChatModels } from './models.js';
import { ReactionAggregator } from './ReactionAggregator.js';
import { chatText } from './text.js';

/** The most a recording may start after its live (beyond it, the figures are not trusted). */
const MAX_RECORDING_START_MS = 15_000;

/** How long the chat state of a live may outlive it if its end is never seen (a crash). */
const LIVE_STATE_TTL_MS = 12 * 3600_000;

const settingsKey = (liveId: string) => `chat:${liveId}:settings`;
const mutedKey = (liveId: string) => `chat:${liveId}:muted`;
const mediaKey = (liveId: string) => `chat:${liveId}:media`;
const slowKey = (liveId: string, userId: number) => `chat:${liveId}:slow:${userId}`;
const rateKey = (userId: number) => `chat:rate:${userId}`;

export interface ChatServiceOptions {
  db: Database;
  store: Store;
  registry: LiveRegistry;
  notifier: Notifier;
  log: Logger;
  avatarUrl: (userId: number) => string;
  /** Whether a socket of this process is in a room (the live's audience: its presenter and viewers). */
  inRoom: (socketId: string, room: string) => boolean;
  /** Messages one account may send per window, in all lives (default 8 per 10 s). */
  messageRate?: { messages: number; windowMs: number };
  /** Reactions of one account counted per second, per API process (default 10). */
  reactionsPerSecond?: number;
}

export class ChatService {
  readonly #opts: ChatServiceOptions;
  readonly #models: ChatModels;
  readonly #reactions: ReactionAggregator;
  readonly #reactionLimiter: RateLimiterMemory;
  readonly #rate: { messages: number; windowMs: number };

  constructor(opts: ChatServiceOptions) {
    this.#opts = opts;
    this.#models = defineChatModels(opts.db.sequelize, opts.db.User);
    this.#rate = opts.messageRate ?? { messages: 8, windowMs: 10_000 };
    this.#reactionLimiter = new RateLimiterMemory({ points: opts.reactionsPerSecond ?? 10, duration: 1 });
    this.#reactions = new ReactionAggregator(
      opts.store,
      {
        broadcast: (burst) => opts.notifier.toRoom(rooms.audience(burst.liveId), 'reaction:burst', burst),
        persist: (liveId, rows) => this.#persistReactions(liveId, rows),
        onAir: async (liveId) => (await opts.registry.get(liveId)) !== null,
      },
      opts.log,
    );
  }

  // ---- chat

  async join(caller: SocketUser, req: { liveId: string }): Promise<ChatState> {
    const entry = await this.#member(caller, req.liveId);
    const moderator = entry.userId === caller.userId;
    const [rows, settings, muted] = await Promise.all([
      this.#models.ChatMessage.findAll({
        where: { liveId: req.liveId },
        order: [['id', 'DESC']],
        limit: CHAT_HISTORY_SIZE,
        include: [{ model: this.#opts.db.User, as: 'user', attributes: ['id', 'nickname'] }],
      }),
      this.#opts.store.hget(settingsKey(req.liveId), 'slowModeSeconds'),
      this.#opts.store.smembers(mutedKey(req.liveId)),
    ]);
    const mutedIds = muted.map(Number);
    return {
      messages: rows.reverse().map((row) => this.#view(row)),
      slowModeSeconds: Number(settings ?? 0),
      muted: mutedIds.includes(caller.userId),
      mutedUserIds: moderator ? mutedIds : [],
      moderator,
    };
  }

  async send(caller: SocketUser, req: { liveId: string; text: string }): Promise<{ message: ChatMessage }> {
    const { liveId } = req;
    const entry = await this.#member(caller, liveId);
    const text = chatText(req.text);
    const store = this.#opts.store;
    if (await store.sismember(mutedKey(liveId), String(caller.userId)))
      throw new OnairError('chat.muted', 'the presenter muted you in this chat');
    const counter = await store.incr(rateKey(caller.userId), 1, this.#rate.windowMs);
    if (counter.value > this.#rate.messages)
      throw new OnairError(
        'chat.rateLimited',
        `at most ${this.#rate.messages} messages every ${this.#rate.windowMs / 1000} s: wait ${Math.ceil(counter.ttlMs / 1000)} s`,
      );
    if (entry.userId !== caller.userId) {
      const slow = Number((await store.hget(settingsKey(liveId), 'slowModeSeconds')) ?? 0);
      if (slow > 0 && !(await store.set(slowKey(liveId, caller.userId), '1', { nx: true, ttlMs: slow * 1000 }))) {
        const left = Math.max(1, Math.ceil(((await store.ttl(slowKey(liveId, caller.userId))) ?? 0) / 1000));
        throw new OnairError('chat.slowMode', `slow mode is on: one message every ${slow} s (wait ${left} s)`);
      }
    }
    const now = new Date();
    const row = await this.#models.ChatMessage.create({
      liveId,
      userId: caller.userId,
      text,
      offsetMs: Math.max(0, now.getTime() - Date.parse(entry.startedAt)),
      createdAt: now,
    });
    const message: ChatMessage = {
      id: row.id,
      liveId,
      user: { id: caller.userId, nickname: caller.nickname, avatarUrl: this.#opts.avatarUrl(caller.userId) },
      text,
      offsetMs: row.offsetMs,
      at: now.toISOString(),
    };
    this.#opts.notifier.toRoom(rooms.audience(liveId), 'chat:message', message);
    return { message };
  }

  /** The presenter deletes a message: gone from the history, and everybody is told to remove it. */
  async remove(caller: SocketUser, req: { liveId: string; messageId: number }): Promise<object> {
    await this.#moderator(caller, req.liveId);
    const deleted = await this.#models.ChatMessage.destroy({ where: { id: req.messageId, liveId: req.liveId } });
    if (deleted === 0)
      throw new OnairError('chat.messageNotFound', `no message ${req.messageId} in the chat of this live`);
    this.#opts.notifier.toRoom(rooms.audience(req.liveId), 'chat:deleted', {
      liveId: req.liveId,
      messageId: req.messageId,
    });
    return {};
  }

  /** The presenter mutes (or unmutes) an account in this live's chat. */
  async mute(caller: SocketUser, req: { liveId: string; userId: number; muted: boolean }): Promise<object> {
    await this.#moderator(caller, req.liveId);
    if (req.userId === caller.userId) throw new OnairError('request.invalid', 'chat:mute: you cannot mute yourself');
    const key = mutedKey(req.liveId);
    if (req.muted) {
      await this.#opts.store.sadd(key, String(req.userId));
      await this.#opts.store.expire(key, LIVE_STATE_TTL_MS);
    } else {
      await this.#opts.store.srem(key, String(req.userId));
    }
    this.#opts.notifier.toRoom(rooms.audience(req.liveId), 'chat:muted', {
      liveId: req.liveId,
      userId: req.userId,
      muted: req.muted,
    });
    return {};
  }

  async slowMode(caller: SocketUser, req: { liveId: string; seconds: number }): Promise<object> {
    await this.#moderator(caller, req.liveId);
    const key = settingsKey(req.liveId);
    await this.#opts.store.hset(key, { slowModeSeconds: String(req.seconds) });
    await this.#opts.store.expire(key, LIVE_STATE_TTL_MS);
    this.#opts.notifier.toRoom(rooms.audience(req.liveId), 'chat:settings', {
      liveId: req.liveId,
      slowModeSeconds: req.seconds,
    });
    return {};
  }

  // ---- reactions

  async react(caller: SocketUser, req: { liveId: string; reaction: ReactionKind }): Promise<object> {
    const entry = await this.#member(caller, req.liveId);
    try {
      await this.#reactionLimiter.consume(`${caller.userId}`);
    } catch {
      throw new OnairError('chat.rateLimited', 'too many reactions: a few a second at most');
    }
    this.#reactions.add(req.liveId, Date.parse(entry.startedAt), req.reaction);
    return {};
  }

  // ---- presenter controls (lives and calls alike)

  /** The presenter's camera, microphone and screen, for everybody watching (and late joiners). */
  async setMedia(caller: SocketUser, req: { liveId: string } & PresenterMedia): Promise<object> {
    const entry = await this.#onAir(req.liveId, true);
    if (entry.userId !== caller.userId)
      throw new OnairError('live.notPresenter', `you are not the presenter of live "${req.liveId}"`);
    const media: PresenterMedia = { camera: req.camera, microphone: req.microphone, screen: req.screen };
    const key = mediaKey(req.liveId);
    await this.#opts.store.hset(key, {
      camera: `${media.camera}`,
      microphone: `${media.microphone}`,
      screen: `${media.screen}`,
    });
    await this.#opts.store.expire(key, LIVE_STATE_TTL_MS);
    this.#opts.notifier.toRoom(rooms.audience(req.liveId), 'live:media', { liveId: req.liveId, ...media });
    return {};
  }

  async mediaState(caller: SocketUser, req: { liveId: string }): Promise<{ media: PresenterMedia }> {
    await this.#onAir(req.liveId, true);
    if (!this.#opts.inRoom(caller.socketId, rooms.audience(req.liveId)))
      throw new OnairError('live.notWatching', `watch live "${req.liveId}" first`);
    const raw = await this.#opts.store.hgetall(mediaKey(req.liveId));
    const flag = (name: keyof PresenterMedia) =>
      raw[name] === undefined ? DEFAULT_PRESENTER_MEDIA[name] : raw[name] === 'true';
    return { media: { camera: flag('camera'), microphone: flag('microphone'), screen: flag('screen') } };
  }

  // ---- lives and recordings

  /** A live of this process ended: pending reactions are stored, its chat state in the store is removed. */
  async liveEnded(liveId: string): Promise<void> {
    await this.#reactions.liveEnded(liveId);
    const slow = await this.#opts.store.keys(`chat:${liveId}:slow:`);
    await this.#opts.store.del(settingsKey(liveId), mutedKey(liveId), mediaKey(liveId), ...slow);
  }

  /**
   * The chat and reactions of the live a recording was made of, by position in the recording (the caller may see
   * the recording). The recording starts when media first flows, a little after the live (its set-up, ICE):
   * `recordingStartMs`, the live's length less the recording's, is taken off every offset.
   */
  async interactions(
    recording: Pick<RecordingView, 'id' | 'liveId' | 'startedAt' | 'endedAt' | 'durationMs'>,
  ): Promise<RecordingInteractions> {
    const { id: recordingId, liveId } = recording;
    const liveMs = recording.endedAt ? Date.parse(recording.endedAt) - Date.parse(recording.startedAt) : NaN;
    const gap = recording.durationMs !== null && Number.isFinite(liveMs) ? liveMs - recording.durationMs : 0;
    const recordingStartMs = Math.round(Math.min(MAX_RECORDING_START_MS, Math.max(0, gap)));
    const at = (offsetMs: number) => Math.max(0, offsetMs - recordingStartMs);
    if (!liveId) return { recordingId, recordingStartMs, messages: [], reactions: [] };
    const [rows, reactionRows] = await Promise.all([
      this.#models.ChatMessage.findAll({
        where: { liveId },
        order: [
          ['offsetMs', 'ASC'],
          ['id', 'ASC'],
        ],
        include: [{ model: this.#opts.db.User, as: 'user', attributes: ['id', 'nickname'] }],
      }),
      this.#models.LiveReaction.findAll({
        where: { liveId, count: { [Op.gt]: 0 } },
        order: [['second', 'ASC']],
      }),
    ]);
    const bySecond = new Map<number, Partial<Record<ReactionKind, number>>>();
    for (const row of reactionRows) {
      if (!REACTION_KINDS.includes(row.reaction as ReactionKind)) continue;
      const counts = bySecond.get(row.second) ?? {};
      counts[row.reaction as ReactionKind] = row.count;
      bySecond.set(row.second, counts);
    }
    return {
      recordingId,
      recordingStartMs,
      messages: rows.map((row) => ({ ...this.#view(row), offsetMs: at(row.offsetMs) })),
      reactions: [...bySecond].map(([second, counts]) => ({ offsetMs: at(second * 1000), counts })),
    };
  }

  async close(): Promise<void> {
    await this.#reactions.close();
  }

  // ---- internals

  /** The live on air, for a socket in its audience (its presenter or a viewer). */
  async #member(caller: SocketUser, liveId: string): Promise<LiveEntry> {
    const entry = await this.#onAir(liveId);
    if (!this.#opts.inRoom(caller.socketId, rooms.audience(liveId)))
      throw new OnairError('live.notWatching', `watch live "${liveId}" before using its chat`);
    return entry;
  }

  async #moderator(caller: SocketUser, liveId: string): Promise<LiveEntry> {
    const entry = await this.#onAir(liveId);
    if (entry.userId !== caller.userId)
      throw new OnairError('live.notPresenter', 'only the presenter of this live moderates its chat');
    return entry;
  }

  /** The live on air; a call's live only with `calls` (chat and reactions are not for calls). */
  async #onAir(liveId: string, calls = false): Promise<LiveEntry> {
    const entry = await this.#opts.registry.get(liveId);
    if (!entry) {
      const row = await this.#opts.db.Live.findByPk(liveId, { attributes: ['id', 'kind'] });
      if (row && (row.kind !== 'call' || calls)) throw new OnairError('live.ended', `live "${liveId}" has ended`);
      throw new OnairError('live.notFound', `no live with id "${liveId}"`);
    }
    if (entry.kind === 'call' && !calls) throw new OnairError('chat.unavailable', 'calls have no chat');
    return entry;
  }

  #view(row: ChatMessageRow): ChatMessage {
    return {
      id: row.id,
      liveId: row.liveId,
      user: {
        id: row.userId,
        nickname: row.user?.nickname ?? '',
        avatarUrl: this.#opts.avatarUrl(row.userId),
      },
      text: row.text,
      offsetMs: row.offsetMs,
      at: row.createdAt.toISOString(),
    };
  }

  async #persistReactions(
    liveId: string,
    rows: Array<{ second: number; reaction: ReactionKind; count: number }>,
  ): Promise<void> {
    const sequelize: Sequelize = this.#opts.db.sequelize;
    const sql =
      this.#opts.db.dialect === 'mysql'
        ? 'INSERT INTO live_reactions (liveId, second, reaction, count) VALUES (?, ?, ?, ?) ' +
          'ON DUPLICATE KEY UPDATE count = count + VALUES(count)'
        : 'INSERT INTO live_reactions (liveId, second, reaction, count) VALUES (?, ?, ?, ?) ' +
          'ON CONFLICT (liveId, second, reaction) DO UPDATE SET count = count + excluded.count';
    for (const row of rows) {
      await sequelize.query(sql, { replacements: [liveId, row.second, row.reaction, row.count] });
    }
  }
}
