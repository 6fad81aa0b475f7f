/**
 * Who is watching the presenter's live right now, from `live:viewerJoined` / `live:viewerLeft` (sent to the
 * presenter only): one entry per account, however many of its connections watch.
 */
import { markRaw, reactive } from 'vue';
import type { UserSummary } from '../../../api/contract/signalling.js';
import type { SignallingClient } from '../signalling/SignallingClient.js';

interface Watching {
  viewer: UserSummary;
  connections: number;
  since: string;
}

export class Audience {
  readonly state = reactive({ liveId: null as string | null, viewers: [] as Watching[] });
  readonly #unsubscribe: Array<() => void>;

  constructor(client: SignallingClient) {
    markRaw(this);
    this.#unsubscribe = [
      client.on('live:viewerJoined', (msg) => {
        if (msg.liveId !== this.state.liveId) return;
        const entry = this.state.viewers.find((v) => v.viewer.id === msg.viewer.id);
        if (entry) entry.connections++;
        else this.state.viewers.push({ viewer: msg.viewer, connections: 1, since: msg.at });
      }),
      client.on('live:viewerLeft', (msg) => {
        if (msg.liveId !== this.state.liveId) return;
        const entry = this.state.viewers.find((v) => v.viewer.id === msg.viewer.id);
        if (entry && --entry.connections <= 0)
          this.state.viewers = this.state.viewers.filter((v) => v.viewer.id !== msg.viewer.id);
      }),
    ];
  }

  /** Follows this live (null: none); the list starts empty. */
  follow(liveId: string | null): void {
    if (liveId === this.state.liveId) return;
    this.state.liveId = liveId;
    this.state.viewers = [];
  }

  close(): void {
    for (const off of this.#unsubscribe.splice(0)) off();
  }
}
