/**
 * Failed logins are throttled per account, not only per address (api/http/rateLimit.ts), with counts in the Store
 * (shared by every API process on one Redis). The policy, chosen so that guessing is slow and a victim is not
 * locked out by someone else:
 *
 * - per account and address: after `perAddress` failures within `windowMs`, that address may not try that account
 *   again until the window (which starts at the first failure) ends;
 * - per account, from every address together: after `perAccount` failures within the window, the account is
 *   closed to further attempts until the window ends, except from addresses that signed in to it successfully
 *   within the last `knownForMs` (30 days by default). So an attacker spread over many addresses gets at most
 *   `perAccount` guesses a window, while the owner keeps signing in from where they usually do; a lock-out never
 *   outlives its window, and a blocked attempt does not extend it.
 *
 * A blocked attempt answers 429 `request.rateLimited` with `Retry-After` before the password is checked (a right
 * password is refused too, so the limit is no oracle). Unknown nicknames are counted like any other, so the answers
 * do not tell which accounts exist. A successful login clears that address's count.
 */
import { createHash } from 'node:crypto';
import { OnairError } from '../contract/errors.js';
import type { Store } from '../store/Store.js';
import { nicknameKey } from './rules.js';

export interface LoginThrottleOptions {
  /** Failures per account and address per window (default 5). */
  perAddress?: number;
  /** Failures per account from addresses it is not known at, per window (default 50). */
  perAccount?: number;
  /** Default 15 minutes. */
  windowMs?: number;
  /** How long a successful sign-in makes its address known to the account (default 30 days). */
  knownForMs?: number;
}

/** A 429 whose Retry-After (seconds) the route sends. */
export class LoginThrottled extends OnairError {
  readonly retryAfterS: number;
  constructor(retryAfterS: number) {
    super('request.rateLimited', `too many failed sign-ins for this account; try again in ${retryAfterS} s`);
    this.retryAfterS = retryAfterS;
  }
}

const digest = (text: string) => createHash('sha256').update(text).digest('base64url').slice(0, 22);

export class LoginThrottle {
  readonly #store: Store;
  readonly #perAddress: number;
  readonly #perAccount: number;
  readonly #windowMs: number;
  readonly #knownForMs: number;

  constructor(store: Store, options: LoginThrottleOptions = {}) {
    this.#store = store;
    this.#perAddress = options.perAddress ?? 5;
    this.#perAccount = options.perAccount ?? 50;
    this.#windowMs = options.windowMs ?? 15 * 60_000;
    this.#knownForMs = options.knownForMs ?? 30 * 86_400_000;
  }

  /** Throws LoginThrottled when this address may not try this account now. */
  async check(nickname: string, address: string): Promise<void> {
    const keys = this.#keys(nickname, address);
    const [pair, account] = await Promise.all([this.#store.get(keys.pair), this.#store.get(keys.account)]);
    if (Number(pair) >= this.#perAddress) throw new LoginThrottled(await this.#retryAfter(keys.pair));
    if (Number(account) >= this.#perAccount && (await this.#store.get(keys.known)) === null) {
      throw new LoginThrottled(await this.#retryAfter(keys.account));
    }
  }

  /** A wrong password (or an unknown nickname). */
  async failed(nickname: string, address: string): Promise<void> {
    const keys = this.#keys(nickname, address);
    await Promise.all([
      this.#store.incr(keys.pair, 1, this.#windowMs),
      this.#store.incr(keys.account, 1, this.#windowMs),
    ]);
  }

  /** A successful sign-in: this address's failures are forgiven and the address becomes known to the account. */
  async succeeded(nickname: string, address: string): Promise<void> {
    const keys = this.#keys(nickname, address);
    await this.#store.del(keys.pair);
    await this.#store.set(keys.known, '1', { ttlMs: this.#knownForMs });
  }

  async #retryAfter(key: string): Promise<number> {
    const ttl = await this.#store.ttl(key);
    const ms = ttl === null || !Number.isFinite(ttl) ? this.#windowMs : ttl;
    return Math.max(1, Math.ceil(ms / 1000));
  }

  #keys(nickname: string, address: string) {
    // Hashed: keys stay short and the store holds no address in clear.
    const account = digest(nicknameKey(nickname));
    const where = digest(address);
    return {
      pair: `login:failures:${account}:${where}`,
      account: `login:failures:${account}`,
      known: `login:known:${account}:${where}`,
    };
  }
}
