/**
 * Stream keys: long-lived bearer secrets for WHIP encoders, one account's own. A key reads `sk_<32 random bytes,
 * base64url>`; only its SHA-256 is stored (as session tokens are, api/auth/Sessions.ts), so it is shown once, at
 * creation. A revoked key is kept (revokedAt) so that it can never be confused with a live one.
 */
import { randomBytes } from 'node:crypto';
import { Op } from 'sequelize';
import { OnairError } from '../contract/errors.js';
import { STREAM_KEYS_MAX, type StreamKeyCreated, type StreamKeyView } from '../contract/rest.js';
import type { Models } from '../db/index.js';
import type { StreamKey } from '../db/StreamKey.js';
import { hashToken } from './Sessions.js';

const KEY_PATTERN = /^sk_[A-Za-z0-9_-]{43}$/;

/** The owner and name of a key that `verify` accepted. */
export interface VerifiedStreamKey {
  keyId: number;
  userId: number;
  name: string;
}

export class StreamKeys {
  readonly #db: Pick<Models, 'StreamKey'>;

  constructor(db: Pick<Models, 'StreamKey'>) {
    this.#db = db;
  }

  async create(userId: number, name: string): Promise<StreamKeyCreated> {
    const active = await this.#db.StreamKey.count({ where: { userId, revokedAt: null } });
    if (active >= STREAM_KEYS_MAX)
      throw new OnairError('whip.tooManyKeys', `at most ${STREAM_KEYS_MAX} stream keys; revoke one first`);
    const key = `sk_${randomBytes(32).toString('base64url')}`;
    const row = await this.#db.StreamKey.create({ userId, name, keyHash: hashToken(key), hint: key.slice(0, 7) });
    return { streamKey: row.toView(), key };
  }

  async list(userId: number): Promise<StreamKeyView[]> {
    const rows = await this.#db.StreamKey.findAll({
      where: { userId, revokedAt: null },
      order: [
        ['createdAt', 'DESC'],
        ['id', 'DESC'],
      ],
    });
    return rows.map((row) => row.toView());
  }

  async rename(userId: number, id: number, name: string): Promise<StreamKeyView> {
    const row = await this.#own(userId, id);
    row.name = name;
    await row.save();
    return row.toView();
  }

  async revoke(userId: number, id: number): Promise<void> {
    const row = await this.#own(userId, id);
    row.revokedAt = new Date();
    await row.save();
  }

  /** The key's owner; a missing, malformed, unknown or revoked key is 401 `auth.invalidToken`. */
  async verify(key: string | null): Promise<VerifiedStreamKey> {
    if (key === null) throw new OnairError('auth.required', 'a stream key is required (Authorization: Bearer <key>)');
    if (!KEY_PATTERN.test(key)) throw new OnairError('auth.invalidToken', 'this is not a stream key');
    const row = await this.#db.StreamKey.findOne({ where: { keyHash: hashToken(key), revokedAt: null } });
    if (!row) throw new OnairError('auth.invalidToken', 'the stream key is not valid (revoked or unknown)');
    await this.#db.StreamKey.update({ lastUsedAt: new Date() }, { where: { id: row.id } });
    return { keyId: row.id, userId: row.userId, name: row.name };
  }

  async #own(userId: number, id: number): Promise<StreamKey> {
    const row = await this.#db.StreamKey.findOne({ where: { id, userId, revokedAt: { [Op.is]: null } } });
    if (!row) throw new OnairError('whip.keyNotFound', `no stream key with id ${id}`);
    return row;
  }
}
