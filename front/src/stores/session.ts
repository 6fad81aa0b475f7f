import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { AuthResponse, PublicUser } from '../../../api/contract/rest.js';
import { api } from '../rest/api.js';
import type { ApiError } from '../rest/ApiError.js';

const TOKEN_KEY = 'onair.token';
/** The login page's notice when the session ended: a catalog key (shown in the chosen language). */
export const SESSION_EXPIRED = 'auth.sessionExpired';
/** Its notice when the server said the session was logged out (on another tab or device). */
export const SESSION_LOGGED_OUT = 'auth.sessionLoggedOut';

/** Where the session stands: being checked at start, signed in or out, or unknown because the server is down. */
export type SessionStatus = 'checking' | 'signedIn' | 'signedOut' | 'unreachable';

/**
 * The signed-in user and their token. The token lives in localStorage so that signing in survives a reload;
 * at start it is checked with GET /api/me. Any 401 on an authenticated call ends the session with a notice.
 */
export const useSessionStore = defineStore('session', () => {
  const token = ref<string | null>(readToken());
  const user = ref<PublicUser | null>(null);
  const status = ref<SessionStatus>(token.value ? 'checking' : 'signedOut');
  /** A message for the login page (e.g. the session expired); cleared once shown and dismissed. */
  const notice = ref<string | null>(null);

  const signedIn = computed(() => status.value === 'signedIn' && user.value !== null);

  /** Checks the stored token with the server; call once at start (and to retry after `unreachable`). */
  async function restore(): Promise<void> {
    if (!token.value) {
      status.value = 'signedOut';
      return;
    }
    status.value = 'checking';
    try {
      user.value = await api.get<PublicUser>('/api/me');
      status.value = 'signedIn';
    } catch (error) {
      // A 401 already ended the session through expire(); anything else leaves the token for a retry.
      if (status.value === 'checking') status.value = (error as ApiError).unreachable ? 'unreachable' : 'signedOut';
    }
  }

  let revalidating: Promise<void> | null = null;

  /**
   * Re-checks a signed-in session in the background (on navigation, when the tab comes back), so that a token
   * that expired or was revoked elsewhere is noticed even on pages that make no API call.
   */
  function revalidate(): Promise<void> {
    if (status.value !== 'signedIn') return Promise.resolve();
    revalidating ??= api
      .get<PublicUser>('/api/me')
      .then((me) => {
        if (status.value === 'signedIn' && user.value?.id === me.id) user.value = me;
      })
      .catch(() => {
        // A 401 ended the session through expire(); a network error changes nothing.
      })
      .finally(() => {
        revalidating = null;
      });
    return revalidating;
  }

  async function login(nickname: string, password: string): Promise<void> {
    adopt(await api.post<AuthResponse>('/api/auth/login', { nickname, password }, { auth: false }));
  }

  async function register(nickname: string, password: string): Promise<void> {
    adopt(await api.post<AuthResponse>('/api/auth/register', { nickname, password }, { auth: false }));
  }

  /** Revokes the token on the server (best effort) and signs out here. */
  async function logout(): Promise<void> {
    const current = token.value;
    clear();
    if (!current) return;
    await api.post('/api/auth/logout', undefined, { token: current, keepalive: true }).catch(() => {});
  }

  /** The server refused our token or ended the session: sign out and tell the user why (a catalog key). */
  function expire(_error?: ApiError, why: string = SESSION_EXPIRED): void {
    clear();
    notice.value = why;
  }

  function adopt(auth: AuthResponse): void {
    token.value = auth.token;
    user.value = auth.user;
    status.value = 'signedIn';
    notice.value = null;
    writeToken(auth.token);
  }

  function clear(): void {
    token.value = null;
    user.value = null;
    status.value = 'signedOut';
    writeToken(null);
  }

  /** Keeps tabs in step (signing out or in in one tab does the same in the others) and re-checks on return. */
  function followOtherTabs(): void {
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') void revalidate();
    });
    window.addEventListener('storage', (event) => {
      if (event.key !== TOKEN_KEY || event.newValue === token.value) return;
      token.value = event.newValue;
      user.value = null;
      if (event.newValue) void restore();
      else status.value = 'signedOut';
    });
  }

  return {
    token,
    user,
    status,
    notice,
    signedIn,
    restore,
    revalidate,
    login,
    register,
    logout,
    expire,
    followOtherTabs,
  };
});

export type SessionStore = ReturnType<typeof useSessionStore>;

function readToken(): string | null {
  try {
    return localStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

function writeToken(value: string | null): void {
  try {
    if (value) localStorage.setItem(TOKEN_KEY, value);
    else localStorage.removeItem(TOKEN_KEY);
  } catch {
    // Storage blocked (private mode): the session then lasts until the tab closes.
  }
}
