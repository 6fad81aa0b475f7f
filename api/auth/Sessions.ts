/**
 * Sessions: opaque random bearer tokens, kept in the Store only as a SHA-256 hash, with a TTL (TOKEN_TTL).
 * A token reads `<expiry, base36 ms>.<32 random bytes, base64url>`; the expiry inside only chooses the error:
 * - a token past its expiry is refused with `auth.expiredToken` (whether or not it was revoked);
 * - a token revoked by logout, unknown, forged or malformed is refused with `auth.invalidToken`.
 * Logout deletes the stored hash, so every process sharing the Store refuses the token at once, and announces it
 * on the store's `sessions:ended` channel, so that every process disconnects the sockets of that session at once.
 */
import { createHash, randomBytes } from 'node:crypto';
import { OnairError } from '../contract/errors.js';
import type { Store, Unsubscribe } from '../store/Store.js';

const ENDED_CHANNEL = 'sessions:ended';

const TOKEN_PATTERN = /^([0-9a-z]{1,12})\.([A-Za-z0-9_-]{43})$/;

export interface Session {
  userId: number;
  /** Milliseconds since the epoch. */
  expiresAt: number;
  /** Identifies the session without revealing the token (e.g. on a socket). */
  tokenHash: string;
  /**
   * A public handle of the session (derived from its hash, which it does not reveal), for what must die with the
   * session without carrying its token: signed media URLs carry it and are refused once it is over.
   */
  id: string;
}

const SESSION_ID_PATTERN = /^[A-Za-z0-9_-]{22}$/;

/** The public handle of a session: a one-way digest of its token hash. */
export function sessionIdOf(tokenHash: string): string {
  return createHash('sha256').update(`onair-session-id:${tokenHash}`).digest('base64url').slice(0, 22);
}

export interface IssuedToken {
  token: string;
  expiresAt: Date;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export class Sessions {
  readonly #store: Store;
  readonly #ttlMs: number;
  readonly #now: () => number;

  constructor(store: Store, ttlMs: number, now: () => number = Date.now) {
    this.#store = store;
    this.#ttlMs = ttlMs;
    this.#now = now;
  }

  /** Issues a new token for a user. */
  async create(userId: number): Promise<IssuedToken> {
    const expiresAt = this.#now() + this.#ttlMs;
    const token = `${expiresAt.toString(36)}.${randomBytes(32).toString('base64url')}`;
    const tokenHash = hashToken(token);
    await this.#store.set(this.#key(tokenHash), JSON.stringify({ userId, expiresAt, indexed: true }), {
      ttlMs: this.#ttlMs,
    });
    await this.#store.set(this.#idKey(sessionIdOf(tokenHash)), tokenHash, { ttlMs: this.#ttlMs });
    return { token, expiresAt: new Date(expiresAt) };
  }

  /** The session of a token; rejects with `auth.invalidToken` or `auth.expiredToken`. */
  async verify(token: string): Promise<Session> {
    const match = TOKEN_PATTERN.exec(token);
    if (!match) throw new OnairError('auth.invalidToken', 'the token is malformed');
    const tokenHash = hashToken(token);
    const now = this.#now();
    const raw = await this.#store.get(this.#key(tokenHash));
    const claimedExpiry = parseInt(match[1]!, 36);
    if (raw === null) {
      if (claimedExpiry <= now) throw new OnairError('auth.expiredToken', 'the session has expired; log in again');
      throw new OnairError('auth.invalidToken', 'the token is not valid (revoked or unknown)');
    }
    const record = JSON.parse(raw) as { userId: number; expiresAt: number; indexed?: boolean };
    const id = sessionIdOf(tokenHash);
    if (record.expiresAt <= now) {
      await this.#store.del(this.#key(tokenHash), this.#idKey(id));
      throw new OnairError('auth.expiredToken', 'the session has expired; log in again');
    }
    // A session made before sessions had a public handle gets its index now.
    if (!record.indexed) await this.#store.set(this.#idKey(id), tokenHash, { ttlMs: record.expiresAt - now });
    return { userId: record.userId, expiresAt: record.expiresAt, tokenHash, id };
  }

  /** Revokes a token (logout); resolves whether it was live. */
  async revoke(token: string): Promise<boolean> {
    if (!TOKEN_PATTERN.test(token)) return false;
    return this.revokeHash(hashToken(token));
  }

  /** Whether the session of a token hash is still there (not revoked, not expired). */
  async isActive(tokenHash: string): Promise<boolean> {
    return (await this.#store.get(this.#key(tokenHash))) !== null;
  }

  /** Revokes a session by its hash (e.g. from a socket that only knows the hash). */
  async revokeHash(tokenHash: string): Promise<boolean> {
    const existed = (await this.#store.del(this.#key(tokenHash), this.#idKey(sessionIdOf(tokenHash)))) > 0;
    // Announced even when already gone: a socket whose handshake raced the delete is still told.
    await this.#store.publish(ENDED_CHANNEL, tokenHash);
    return existed;
  }

  /** Hear every revoked session (by its hash), from any process sharing the store. */
  onRevoked(listener: (tokenHash: string) => void): Promise<Unsubscribe> {
    return this.#store.subscribe(ENDED_CHANNEL, (message) => listener(message));
  }

  /** Whether the session with this public handle (Session.id) is still there (not revoked, not expired). */
  async isActiveId(id: unknown): Promise<boolean> {
    if (typeof id !== 'string' || !SESSION_ID_PATTERN.test(id)) return false;
    const tokenHash = await this.#store.get(this.#idKey(id));
    return tokenHash !== null && (await this.isActive(tokenHash));
  }

  #idKey(id: string): string {
    return `session-id:${id}`;
  }

  #key(tokenHash: string): string {
    return `session:${tokenHash}`;
  }
}
