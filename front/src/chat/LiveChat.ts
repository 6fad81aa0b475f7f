/**
 * The chat and reactions of one live, over the app's signalling connection (api/contract/signalling.ts):
 * `chat:join` for the history and settings, then live updates (messages, deletions, mutes, slow mode) and the
 * reaction bursts. `state` is reactive for the components; `close()` stops listening.
 */
import { markRaw, reactive } from 'vue';
import {
  DEFAULT_PRESENTER_MEDIA,
  type ChatMessage,
  type PresenterMedia,
  type ReactionBurst,
  type ReactionKind,
} from '../../../api/contract/chat.js';
import { ApiError } from '../rest/ApiError.js';
import type { SignallingClient } from '../signalling/SignallingClient.js';

const KEEP = 200;

export interface LiveChatState {
  joined: boolean;
  messages: ChatMessage[];
  slowModeSeconds: number;
  muted: boolean;
  mutedUserIds: number[];
  moderator: boolean;
  /** The last refusal (too long, too fast, muted...), shown near the input. */
  error: string;
  sending: boolean;
  /** What the presenter sends (camera, microphone, screen). */
  media: PresenterMedia;
}

export type BurstListener = (counts: ReactionBurst['counts']) => void;

export class LiveChat {
  readonly liveId: string;
  readonly state: LiveChatState = reactive({
    joined: false,
    messages: [],
    slowModeSeconds: 0,
    muted: false,
    mutedUserIds: [],
    moderator: false,
    error: '',
    sending: false,
    media: { ...DEFAULT_PRESENTER_MEDIA },
  });

  readonly #client: SignallingClient;
  readonly #myUserId: number | null;
  readonly #unsubscribe: Array<() => void> = [];
  readonly #bursts = new Set<BurstListener>();
  #closed = false;
  #joining = 0;

  constructor(client: SignallingClient, liveId: string, myUserId: number | null) {
    markRaw(this);
    this.#client = client;
    this.liveId = liveId;
    this.#myUserId = myUserId;
    this.#unsubscribe.push(
      client.on('chat:message', (message) => {
        if (message.liveId === liveId) this.#add(message);
      }),
      client.on('chat:deleted', ({ liveId: id, messageId }) => {
        if (id === liveId) this.state.messages = this.state.messages.filter((m) => m.id !== messageId);
      }),
      client.on('chat:settings', ({ liveId: id, slowModeSeconds }) => {
        if (id === liveId) this.state.slowModeSeconds = slowModeSeconds;
      }),
      client.on('chat:muted', ({ liveId: id, userId, muted }) => {
        if (id !== liveId) return;
        if (userId === this.#myUserId) this.state.muted = muted;
        if (this.state.moderator) {
          const others = this.state.mutedUserIds.filter((u) => u !== userId);
          this.state.mutedUserIds = muted ? [...others, userId] : others;
        }
      }),
      client.on('live:media', ({ liveId: id, ...media }) => {
        if (id === liveId) this.state.media = media;
      }),
      client.on('reaction:burst', (burst) => {
        if (burst.liveId !== liveId) return;
        for (const listener of this.#bursts) listener(burst.counts);
      }),
    );
  }

  /** Joins the chat (again after a reconnection): history and settings. Retries while the watch is settling. */
  async join(): Promise<void> {
    const attempt = ++this.#joining;
    for (let tries = 0; tries < 5 && !this.#closed && attempt === this.#joining; tries++) {
      try {
        const [joined, { media }] = await Promise.all([
          this.#client.request('chat:join', { liveId: this.liveId }),
          this.#client.request('live:mediaState', { liveId: this.liveId }),
        ]);
        if (this.#closed || attempt !== this.#joining) return;
        this.state.media = media;
        const known = new Map(joined.messages.map((m) => [m.id, m]));
        for (const m of this.state.messages)
          if (!known.has(m.id) && m.id > (joined.messages.at(-1)?.id ?? 0)) known.set(m.id, m);
        Object.assign(this.state, {
          joined: true,
          messages: [...known.values()].sort((x, y) => x.id - y.id).slice(-KEEP),
          slowModeSeconds: joined.slowModeSeconds,
          muted: joined.muted,
          mutedUserIds: joined.mutedUserIds,
          moderator: joined.moderator,
        });
        return;
      } catch (error) {
        if (!(error instanceof ApiError) || error.code !== 'live.notWatching') return;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }

  /** Sends a message; resolves true when it was accepted (the refusal is in `state.error`). */
  async send(text: string): Promise<boolean> {
    if (this.#closed || this.state.sending) return false;
    this.state.sending = true;
    this.state.error = '';
    try {
      const { message } = await this.#client.request('chat:send', { liveId: this.liveId, text });
      this.#add(message);
      return true;
    } catch (error) {
      this.state.error = error instanceof Error ? error.message : String(error);
      return false;
    } finally {
      this.state.sending = false;
    }
  }

  async remove(messageId: number): Promise<void> {
    await this.#moderate(() => this.#client.request('chat:delete', { liveId: this.liveId, messageId }));
  }

  async mute(userId: number, muted: boolean): Promise<void> {
    await this.#moderate(() => this.#client.request('chat:mute', { liveId: this.liveId, userId, muted }));
  }

  async setSlowMode(seconds: number): Promise<void> {
    await this.#moderate(() => this.#client.request('chat:slowMode', { liveId: this.liveId, seconds }));
  }

  /** Taps a reaction (shown to everybody with the next burst). */
  async react(reaction: ReactionKind): Promise<void> {
    try {
      await this.#client.request('reaction:send', { liveId: this.liveId, reaction });
    } catch {
      // Too many taps: the extra ones are simply not counted.
    }
  }

  /** Listens to the reaction bursts; returns the function that stops listening. */
  onBurst(listener: BurstListener): () => void {
    this.#bursts.add(listener);
    return () => this.#bursts.delete(listener);
  }

  close(): void {
    this.#closed = true;
    for (const off of this.#unsubscribe.splice(0)) off();
    this.#bursts.clear();
  }

  async #moderate(work: () => Promise<unknown>): Promise<void> {
    this.state.error = '';
    try {
      await work();
    } catch (error) {
      this.state.error = error instanceof Error ? error.message : String(error);
    }
  }

  #add(message: ChatMessage): void {
    if (this.state.messages.some((m) => m.id === message.id)) return;
    const messages = [...this.state.messages, message].sort((x, y) => x.id - y.id);
    this.state.messages = messages.slice(-KEEP);
  }
}
