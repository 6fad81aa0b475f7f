/** Accounts: register, log in, look up. Passwords never leave this module in clear or hashed form. */
import { randomBytes } from 'node:crypto';
import { UniqueConstraintError } from 'sequelize';
import { OnairError } from '../contract/errors.js';
import type { AuthResponse } from '../contract/rest.js';
import type { Database, User } from '../db/index.js';
import { decoyHash, hashPassword, needsRehash, verifyPassword } from './password.js';
import { nicknameKey, nicknameProblem, passwordProblem } from './rules.js';
import type { Sessions } from './Sessions.js';

export class Accounts {
  readonly #db: Database;
  readonly #sessions: Sessions;

  constructor(db: Database, sessions: Sessions) {
    this.#db = db;
    this.#sessions = sessions;
  }

  /** Creates an account and signs it in. Rejects with request.invalid, auth.weakPassword or auth.nicknameTaken. */
  async register(nickname: string, password: string): Promise<AuthResponse> {
    const badNickname = nicknameProblem(nickname);
    if (badNickname) throw new OnairError('request.invalid', badNickname);
    const weak = passwordProblem(password, nickname);
    if (weak) throw new OnairError('auth.weakPassword', weak);
    const key = nicknameKey(nickname);
    if (await this.#db.User.findOne({ where: { nicknameKey: key }, attributes: ['id'] })) throw taken(nickname);
    const passwordHash = await hashPassword(password);
    let user: User;
    try {
      user = await this.#db.User.create({
        nickname,
        nicknameKey: key,
        passwordHash,
        avatarSeed: randomBytes(12).toString('base64url'),
      });
    } catch (err) {
      // Two registrations raced past the check above: the unique index decides.
      if (err instanceof UniqueConstraintError) throw taken(nickname);
      throw err;
    }
    return this.#signIn(user);
  }

  /** Checks the credentials and signs in. Unknown nickname and wrong password are one answer, in the same time. */
  async login(nickname: string, password: string): Promise<AuthResponse> {
    const user = await this.#db.User.findOne({ where: { nicknameKey: nicknameKey(nickname) } });
    const ok = await verifyPassword(password, user?.passwordHash ?? (await decoyHash()));
    if (!user || !ok) throw new OnairError('auth.invalidCredentials', 'wrong nickname or password');
    if (needsRehash(user.passwordHash)) await user.update({ passwordHash: await hashPassword(password) });
    return this.#signIn(user);
  }

  async findById(id: number): Promise<User | null> {
    return this.#db.User.findByPk(id);
  }

  async #signIn(user: User): Promise<AuthResponse> {
    const { token, expiresAt } = await this.#sessions.create(user.id);
    return { token, expiresAt: expiresAt.toISOString(), user: user.toPublic() };
  }
}

function taken(nickname: string): OnairError {
  return new OnairError('auth.nicknameTaken', `the nickname "${nickname}" is taken`);
}
