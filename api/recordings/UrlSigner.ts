/**
 * Short-lived signed URLs for a recording's media and poster, so that `<video>` and `<img>` elements (which cannot
 * send an Authorization header) load them: `?exp=<unix seconds>&sig=<HMAC-SHA256(secret, kind:id:exp), base64url>`.
 * Expiries are rounded up to a bucket so that URLs handed out close together are the same (browser caches hit).
 * A URL handed to a signed-in user also carries its session's public handle (`&sid=`, signed with the rest): the
 * media route refuses it once that session is over (logout or expiry), so a link dies with its session. Share links
 * alone carry no session: they are meant for people without an account, and live as long as the owner chose.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { OnairError } from '../contract/errors.js';

/**
 * `media` and `poster` for the player; `download` (the original, as an attachment) and `cut` (the trimmed file)
 * for the owner; `share`: the media through a link the owner hands out, which lives up to SHARE_MAX_MS.
 */
export type SignedKind = 'media' | 'poster' | 'download' | 'cut' | 'share';

/** The longest a share link may live. */
export const SHARE_MAX_MS = 7 * 24 * 3_600_000;

export interface UrlSignerOptions {
  /** How long a URL works at least (default 30 min). */
  ttlMs?: number;
  /** Expiries are rounded up to a multiple of this (default 5 min). */
  bucketMs?: number;
  now?: () => number;
}

export interface SignedUrl {
  url: string;
  expiresAt: Date;
}

const EXP_PATTERN = /^\d{1,12}$/;
const SIG_PATTERN = /^[A-Za-z0-9_-]{43}$/;
const SID_PATTERN = /^[A-Za-z0-9_-]{22}$/;

export class UrlSigner {
  readonly #secret: string;
  readonly #ttlMs: number;
  readonly #bucketMs: number;
  readonly #now: () => number;
  /** Signatures handed out at the current expiry (a list signs the same rows for the same session again and again). */
  #signed = new Map<string, string>();
  #signedExp = 0;

  constructor(secret: string, options: UrlSignerOptions = {}) {
    if (secret.length < 16) throw new TypeError('the signing secret has at least 16 characters');
    this.#secret = secret;
    this.#ttlMs = options.ttlMs ?? 30 * 60_000;
    this.#bucketMs = options.bucketMs ?? 5 * 60_000;
    this.#now = options.now ?? Date.now;
  }

  /** The expiry (unix seconds) of URLs signed now. */
  expiry(): number {
    const at = this.#now() + this.#ttlMs;
    return Math.ceil(Math.ceil(at / this.#bucketMs) * this.#bucketMs / 1000);
  }

  /** The signature of `kind` for recording `id` until `exp` (for session `sid`, when bound to one). */
  signature(kind: SignedKind, id: number, exp: number, sid?: string): string {
    const bound = sid === undefined ? '' : `:${sid}`;
    return createHmac('sha256', this.#secret).update(`onair-recording:${kind}:${id}:${exp}${bound}`).digest('base64url');
  }

  /** The expiry (unix seconds) of a share link that lives `ms` (at most SHARE_MAX_MS). */
  shareExpiry(ms: number): number {
    return Math.floor((this.#now() + Math.min(ms, SHARE_MAX_MS)) / 1000);
  }

  /** `/api/recordings/<id>/<kind>?exp=..&sig=..`, or `?exp=..&sid=..&sig=..` when bound to session `sid`. */
  url(kind: SignedKind, id: number, exp = this.expiry(), sid?: string): SignedUrl {
    const session = sid === undefined ? '' : `&sid=${sid}`;
    return {
      url: `/api/recordings/${id}/${kind}?exp=${exp}${session}&sig=${this.#memoSignature(kind, id, exp, sid)}`,
      expiresAt: new Date(exp * 1000),
    };
  }

  #memoSignature(kind: SignedKind, id: number, exp: number, sid: string | undefined): string {
    if (kind === 'share') return this.signature(kind, id, exp, sid);
    if (exp !== this.#signedExp) {
      if (exp < this.#signedExp) return this.signature(kind, id, exp, sid);
      this.#signed = new Map();
      this.#signedExp = exp;
    }
    const key = `${kind}:${id}:${sid ?? ''}`;
    let sig = this.#signed.get(key);
    if (sig === undefined) {
      sig = this.signature(kind, id, exp, sid);
      if (this.#signed.size >= 100_000) this.#signed.clear();
      this.#signed.set(key, sig);
    }
    return sig;
  }

  /**
   * Checks a URL's `exp` and `sig` for `kind` and `id`: throws `recording.invalidSignature` (missing, malformed,
   * forged, or for another recording or kind) or `recording.expiredSignature` (genuine but past its expiry).
   */
  verify(kind: SignedKind, id: number, exp: unknown, sig: unknown, sid?: unknown): void {
    const maxMs = kind === 'share' ? SHARE_MAX_MS : this.#ttlMs + this.#bucketMs;
    if (typeof exp !== 'string' || typeof sig !== 'string' || !EXP_PATTERN.test(exp) || !SIG_PATTERN.test(sig)) {
      throw new OnairError('recording.invalidSignature', 'this link is not valid: open the recording again');
    }
    if (sid !== undefined && (typeof sid !== 'string' || !SID_PATTERN.test(sid))) {
      throw new OnairError('recording.invalidSignature', 'this link is not valid: open the recording again');
    }
    const expected = Buffer.from(this.signature(kind, id, Number(exp), sid));
    if (!timingSafeEqual(expected, Buffer.from(sig))) {
      throw new OnairError('recording.invalidSignature', 'this link is not valid: open the recording again');
    }
    const expMs = Number(exp) * 1000;
    if (expMs <= this.#now()) throw new OnairError('recording.expiredSignature', 'this link has expired: open the recording again');
    // Genuine but further out than this signer would ever sign (e.g. the TTL was lowered since).
    if (expMs > this.#now() + maxMs + 1000) {
      throw new OnairError('recording.invalidSignature', 'this link is not valid: open the recording again');
    }
  }
}
