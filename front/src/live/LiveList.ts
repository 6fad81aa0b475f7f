/**
 * The lives on air, kept current: loaded from `GET /api/lives` and updated by `lives:updated` / `lives:removed`.
 * Events that come while a load is under way are replayed over its answer, so none is lost or undone; after a
 * lost connection the list is loaded again (events were missed meanwhile). `state` is reactive for the page.
 */
import { computed, markRaw, reactive, watch, type ComputedRef, type WatchStopHandle } from 'vue';
import type { LiveSummary } from '../../../api/contract/signalling.js';
import { api } from '../rest/api.js';
import { errorMessage } from '../rest/ApiError.js';
import type { SignallingClient } from '../signalling/SignallingClient.js';

type Change = { type: 'updated'; live: LiveSummary } | { type: 'removed'; liveId: string };

export interface LiveListState {
  lives: Map<string, LiveSummary>;
  /** True until the first answer. */
  loading: boolean;
  /** Why the last load failed ('' when it did not). */
  error: string;
}

export class LiveList {
  readonly state: LiveListState = reactive({ lives: new Map<string, LiveSummary>(), loading: true, error: '' });
  /** Newest first. */
  readonly sorted: ComputedRef<LiveSummary[]>;

  readonly #unsubscribe: Array<() => void> = [];
  readonly #stopWatching: WatchStopHandle;
  /** Changes seen during the load under way; null when none is. */
  #buffer: Change[] | null = null;
  #load = 0;
  #closed = false;

  constructor(client: SignallingClient) {
    markRaw(this);
    this.sorted = computed(() => [...this.state.lives.values()].sort((a, b) => b.startedAt.localeCompare(a.startedAt)));
    this.#unsubscribe.push(
      client.on('lives:updated', (live) => this.#apply({ type: 'updated', live })),
      client.on('lives:removed', ({ liveId }) => this.#apply({ type: 'removed', liveId })),
    );
    this.#stopWatching = watch(client.status, (status, before) => {
      // Pushes reach this tab only once its socket is in the room: a list loaded before the first connection can
      // miss a change made in between, just as one loaded before a lost connection came back.
      if (status === 'connected' && before !== 'connected') void this.load();
    });
  }

  /** (Re)loads the list; a newer load supersedes an older one. */
  async load(): Promise<void> {
    const load = ++this.#load;
    this.#buffer = [];
    try {
      const { lives } = await api.get<{ lives: LiveSummary[] }>('/api/lives');
      if (load !== this.#load || this.#closed) return;
      const next = new Map(lives.map((live) => [live.id, live]));
      for (const change of this.#buffer ?? []) applyTo(next, change);
      this.state.lives = next;
      this.state.error = '';
    } catch (error) {
      if (load !== this.#load || this.#closed) return;
      this.state.error = errorMessage(error);
    } finally {
      if (load === this.#load) {
        this.#buffer = null;
        this.state.loading = false;
      }
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopWatching();
    for (const off of this.#unsubscribe.splice(0)) off();
  }

  #apply(change: Change): void {
    this.#buffer?.push(change);
    applyTo(this.state.lives, change);
  }
}

function applyTo(lives: Map<string, LiveSummary>, change: Change): void {
  if (change.type === 'updated') lives.set(change.live.id, change.live);
  else lives.delete(change.liveId);
}
