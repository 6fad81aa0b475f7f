/**
 * The app's one signalling connection, following the signed-in session: opened on first use with the session's
 * token, closed when the token changes or goes (logout, expiry, another tab), and a refused token ends the session.
 */
import { watch } from 'vue';
import { ApiError } from '../rest/ApiError.js';
import { SESSION_EXPIRED, SESSION_LOGGED_OUT } from '../stores/session.js';
import { SignallingClient } from './SignallingClient.js';

/** What the connection needs from the session: the token to send, and a way to end it (with the login page's notice). */
export interface SignallingSession {
  readonly token: string | null;
  expire(error: ApiError, notice?: string): void;
}

export class Signalling {
  #session: SignallingSession | null = null;
  #client: SignallingClient | null = null;

  /** Connects to the session store (done once at start). */
  bindSession(session: SignallingSession): void {
    this.#session = session;
    watch(
      () => session.token,
      (token) => {
        if (this.#client && this.#client.token !== token) this.reset();
      },
    );
  }

  /** The signed-in session's connection, opened on first use. Throws `auth.required` when signed out. */
  client(): SignallingClient {
    const session = this.#session;
    const token = session?.token;
    if (!session || !token) throw new ApiError('auth.required', 'Sign in to go live or watch.', 401, false, 'signIn');
    if (this.#client && !this.#client.closed && this.#client.token === token) return this.#client;
    this.#client?.close();
    this.#client = new SignallingClient({
      token,
      onSessionEnded: (error, how) => {
        // Only the session that opened this connection can be ended by it.
        if (session.token !== token) return;
        // The server said why: logged out (on another tab or device) or expired.
        const loggedOut = how === 'ended' && error.code !== 'auth.expiredToken';
        session.expire(error, loggedOut ? SESSION_LOGGED_OUT : SESSION_EXPIRED);
      },
    });
    return this.#client;
  }

  /** Closes the current connection (the next `client()` opens a new one). */
  reset(): void {
    this.#client?.close();
    this.#client = null;
  }
}

/** The one signalling connection of the app; the session store binds itself to it at start. */
export const signalling = new Signalling();
