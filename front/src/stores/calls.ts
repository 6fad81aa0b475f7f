import { defineStore } from 'pinia';
import { computed, ref, shallowRef, watch } from 'vue';
import type { CallList, OnlineUser, OnlineUsers } from '../../../api/contract/rest.js';
import type { CallView, UserSummary } from '../../../api/contract/signalling.js';
import { api } from '../rest/api.js';
import { errorMessage } from '../rest/ApiError.js';
import type { SignallingClient } from '../signalling/SignallingClient.js';
import { signalling } from '../signalling/signalling.js';
import { useSessionStore } from './session.js';

const PROGRESS: Record<CallView['state'], number> = { ringing: 0, accepted: 1, ended: 2 };

/**
 * Calls, app-wide: who is online (loaded, then kept current by `presence:*`), the calls ringing here, and the one
 * call this tab carries (`active`: one it placed or answered), kept current by `call:state`. Connecting it (done by
 * the app layout while signed in) opens the session's signalling connection, which is what makes the user online.
 * Media are not here: the call page runs them (calls/CallMedia.ts) for the active call.
 */
export const useCallsStore = defineStore('calls', () => {
  const session = useSessionStore();
  const online = ref<OnlineUser[]>([]);
  const onlineLoading = ref(true);
  const onlineError = ref('');
  /** Calls ringing for this user (they show as notifications on every page). */
  const incoming = ref<CallView[]>([]);
  /** The call this tab placed or answered, until it ends. */
  const active = ref<CallView | null>(null);
  /** When this tab saw the active call answered (ms since the epoch): the call's clock. */
  const answeredAt = ref<number | null>(null);
  /** The last `call:peerLive` heard (it may come before the answer's acknowledgement). */
  const peerLive = ref<{ callId: string; liveId: string } | null>(null);
  /** The last call of this tab that ended (for its message), until dismissed. */
  const ended = ref<CallView | null>(null);
  /** Calls that rang here and were missed since the user last opened Calls (the badge on Calls). */
  const missed = ref(0);
  /** The last call missed here (for its toast). */
  const lastMissed = ref<CallView | null>(null);
  /** Bumped whenever a call of this user changes: the history is stale. */
  const historyVersion = ref(0);
  const client = shallowRef<SignallingClient | null>(null);

  const busy = computed(() => active.value !== null);
  /** The other side's live for the active call, once on air. */
  const peerLiveId = computed(() =>
    active.value && peerLive.value?.callId === active.value.id ? peerLive.value.liveId : null,
  );
  /** The newest state seen of each call (events and acknowledgements may cross). */
  const latest = new Map<string, CallView>();
  let unsubscribe: Array<() => void> = [];
  let onlineLoad = 0;

  /** Listens on the session's connection (again when the session changes). Safe to call any number of times. */
  function connect(): void {
    if (session.status !== 'signedIn') return;
    const current = signalling.client();
    if (client.value === current && !current.closed) return;
    disconnect();
    client.value = current;
    unsubscribe = [
      current.on('call:state', (view) => onState(view)),
      current.on('call:peerLive', ({ callId, liveId }) => {
        peerLive.value = { callId, liveId };
      }),
      current.on('presence:online', ({ user }) => presenceChanged({ user })),
      current.on('presence:offline', ({ userId }) => presenceChanged({ userId })),
      // Someone going live is busy for calls from now on; a live that ends may free its presenter.
      current.on('lives:updated', (live) => markBusy(live.presenter.id)),
      current.on('lives:removed', () => void loadOnline()),
    ];
    const stop = watch(current.status, (status, before) => {
      // The server ends the calls of a connection that drops, except an answered one, which waits a while
      // (RESUME_GRACE_MS) for this tab to resume it (calls/CallMedia.ts); what rang here may have changed meanwhile.
      if (status === 'reconnecting' && active.value?.state !== 'accepted') lostConnection();
      // Presence pushes reach this tab only once its socket is in the room: a list loaded before that can miss
      // someone who came online in between, so it is loaded again on every connection, the first one included.
      if (status === 'connected' && before !== 'connected') void loadOnline();
    });
    unsubscribe.push(stop);
    void loadOnline();
  }

  function disconnect(): void {
    for (const off of unsubscribe.splice(0)) off();
    client.value = null;
    reset();
  }

  function reset(): void {
    online.value = [];
    onlineLoading.value = true;
    incoming.value = [];
    active.value = null;
    answeredAt.value = null;
    peerLive.value = null;
    ended.value = null;
    missed.value = 0;
    lastMissed.value = null;
    latest.clear();
  }

  /** Presence changes heard during the load under way (replayed over its answer); null when none is. */
  let presenceBuffer: PresenceChange[] | null = null;

  function presenceChanged(change: PresenceChange): void {
    presenceBuffer?.push(change);
    online.value = applyPresence(online.value, change, session.user?.id);
  }

  function markBusy(userId: number): void {
    if (online.value.some((u) => u.id === userId && !u.busy))
      online.value = online.value.map((u) => (u.id === userId ? { ...u, busy: true } : u));
  }

  async function loadOnline(): Promise<void> {
    const load = ++onlineLoad;
    presenceBuffer = [];
    try {
      const { users } = await api.get<OnlineUsers>('/api/users/online');
      if (load !== onlineLoad) return;
      online.value = (presenceBuffer ?? []).reduce(
        (list, change) => applyPresence(list, change, session.user?.id),
        sortUsers(users),
      );
      onlineError.value = '';
    } catch (error) {
      if (load === onlineLoad) onlineError.value = errorMessage(error);
    } finally {
      if (load === onlineLoad) {
        presenceBuffer = null;
        onlineLoading.value = false;
      }
    }
  }

  /** Rings a user; the call becomes this tab's active call. Throws an ApiError when refused. */
  async function invite(nickname: string): Promise<CallView> {
    const { call } = await request()
      .request('call:invite', { nickname })
      .catch((error: unknown) => {
        // Refused: who is online or busy may have changed since the list was loaded.
        void loadOnline();
        throw error;
      });
    ended.value = null;
    adopt(call);
    return call;
  }

  /** Answers a ringing call here; it becomes this tab's active call. Throws an ApiError when refused. */
  async function accept(callId: string): Promise<CallView> {
    const { call } = await request().request('call:accept', { callId });
    incoming.value = incoming.value.filter((c) => c.id !== callId);
    ended.value = null;
    adopt(call);
    return call;
  }

  async function reject(callId: string): Promise<void> {
    incoming.value = incoming.value.filter((c) => c.id !== callId);
    await request()
      .request('call:reject', { callId })
      .catch(() => undefined);
  }

  /** Ends the active call (a cancel while it rings). Resolves once the server has it. */
  async function hangUp(): Promise<void> {
    const call = active.value;
    if (!call) return;
    try {
      const { call: over } = await request().request('call:hangUp', { callId: call.id });
      onState(over);
    } catch {
      // Over already (call:state says how), or the connection is gone (the server ends it then).
      if (active.value?.id === call.id)
        finish({ ...call, state: 'ended', outcome: call.state === 'ringing' ? 'cancelled' : 'completed' });
    }
  }

  function dismissEnded(): void {
    ended.value = null;
  }

  /** The user has seen their missed calls (they opened Calls). */
  function clearMissed(): void {
    missed.value = 0;
  }

  /** The user's call log. */
  async function history(): Promise<CallView[]> {
    return (await api.get<CallList>('/api/calls')).calls;
  }

  function request(): SignallingClient {
    connect();
    return client.value ?? signalling.client();
  }

  function onState(view: CallView): void {
    const known = latest.get(view.id);
    if (known && PROGRESS[known.state] > PROGRESS[view.state]) return;
    latest.set(view.id, view);
    const me = session.user?.id;
    const rangHere = incoming.value.some((c) => c.id === view.id);
    if (view.state === 'ringing' && view.callee.id === me && active.value?.id !== view.id) {
      if (!rangHere) incoming.value = [...incoming.value, view];
    } else {
      incoming.value = incoming.value.filter((c) => c.id !== view.id);
      // It rang here and nobody answered (it timed out, or the caller gave up): a missed call.
      if (rangHere && view.state === 'ended' && (view.outcome === 'missed' || view.outcome === 'cancelled')) {
        missed.value++;
        lastMissed.value = view;
      }
    }
    if (active.value?.id === view.id) {
      if (view.state === 'ended') finish(view);
      else {
        if (view.state === 'accepted' && active.value.state !== 'accepted') answeredAt.value = Date.now();
        active.value = view;
      }
    }
    historyVersion.value++;
  }

  /** The call from an acknowledgement: the newest state seen wins. */
  function adopt(call: CallView): void {
    const known = latest.get(call.id);
    const view = known && PROGRESS[known.state] > PROGRESS[call.state] ? known : call;
    latest.set(call.id, view);
    answeredAt.value = view.state === 'accepted' ? Date.now() : null;
    if (view.state === 'ended') {
      finish(view);
      return;
    }
    active.value = view;
  }

  function finish(view: CallView): void {
    ended.value = view;
    active.value = null;
    answeredAt.value = null;
  }

  function lostConnection(): void {
    incoming.value = [];
    const call = active.value;
    if (call)
      finish({
        ...call,
        state: 'ended',
        outcome: call.state === 'ringing' ? 'cancelled' : 'completed',
        endReason: 'disconnected',
      });
  }

  watch(
    () => session.status,
    (status) => {
      if (status !== 'signedIn') disconnect();
    },
  );

  return {
    lostConnection,
    peerLive,
    online,
    onlineLoading,
    onlineError,
    incoming,
    active,
    answeredAt,
    peerLiveId,
    ended,
    historyVersion,
    missed,
    lastMissed,
    busy,
    client,
    connect,
    disconnect,
    loadOnline,
    invite,
    accept,
    reject,
    hangUp,
    dismissEnded,
    clearMissed,
    history,
  };
});

export type CallsStore = ReturnType<typeof useCallsStore>;

type PresenceChange = { user: UserSummary } | { userId: number };

function applyPresence(list: OnlineUser[], change: PresenceChange, me: number | undefined): OnlineUser[] {
  if ('userId' in change) return list.filter((u) => u.id !== change.userId);
  if (change.user.id === me) return list;
  const known = list.find((u) => u.id === change.user.id);
  return sortUsers([...list.filter((u) => u.id !== change.user.id), { ...change.user, busy: known?.busy ?? false }]);
}

function sortUsers<T extends UserSummary>(users: T[]): T[] {
  return [...users].sort((a, b) => a.nickname.localeCompare(b.nickname, undefined, { sensitivity: 'base' }));
}
