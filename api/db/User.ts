/** An account: a unique nickname (compared case-insensitively through `nicknameKey`) and a password hash. */
import {
  DataTypes,
  Model,
  type CreationOptional,
  type InferAttributes,
  type InferCreationAttributes,
  type Sequelize,
} from 'sequelize';
import { avatarUrl, type PublicUser } from '../contract/rest.js';

export class User extends Model<InferAttributes<User>, InferCreationAttributes<User>> {
  declare id: CreationOptional<number>;
  /** As the user typed it. */
  declare nickname: string;
  /** Lowercased nickname: the unique key, so that "Alice" and "alice" are one account. */
  declare nicknameKey: string;
  /** `scrypt$N$r$p$salt$hash` (api/auth/password.ts). */
  declare passwordHash: string;
  /** Seeds the generated default avatar. */
  declare avatarSeed: string;
  declare createdAt: CreationOptional<Date>;
  declare updatedAt: CreationOptional<Date>;

  /** What other users and the front end may see. */
  toPublic(): PublicUser {
    return {
      id: this.id,
      nickname: this.nickname,
      avatarUrl: avatarUrl(this.id),
      createdAt: this.createdAt.toISOString(),
    };
  }
}

/** A User class bound to one database (each Database gets its own, so several can live in one process). */
export function defineUser(sequelize: Sequelize): typeof User {
  const Bound = class User_ extends User {};
  Bound.init(
    {
      id: { type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true },
      nickname: { type: DataTypes.STRING(32), allowNull: false },
      nicknameKey: { type: DataTypes.STRING(32), allowNull: false, unique: 'users_nickname_key' },
      passwordHash: { type: DataTypes.STRING(255), allowNull: false },
      avatarSeed: { type: DataTypes.STRING(32), allowNull: false },
      createdAt: { type: DataTypes.DATE(3), allowNull: false },
      updatedAt: { type: DataTypes.DATE(3), allowNull: false },
    },
    { sequelize, modelName: 'User', tableName: 'users' },
  );
  return Bound;
}
