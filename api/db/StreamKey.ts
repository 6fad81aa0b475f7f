/** A stream key of an account (WHIP ingest): its name, the SHA-256 of the key, and whether it was revoked. */
import {
  DataTypes,
  Model,
  type CreationOptional,
  type ForeignKey,
  type InferAttributes,
  type InferCreationAttributes,
  type Sequelize,
} from 'sequelize';
import type { StreamKeyView } from '../contract/rest.js';
import type { User } from './User.js';

export class StreamKey extends Model<InferAttributes<StreamKey>, InferCreationAttributes<StreamKey>> {
  declare id: CreationOptional<number>;
  declare userId: ForeignKey<User['id']>;
  declare name: string;
  /** SHA-256 of the key (hex); the key itself is never stored. */
  declare keyHash: string;
  /** The first characters of the key, to tell keys apart in a list. */
  declare hint: string;
  declare createdAt: CreationOptional<Date>;
  declare lastUsedAt: CreationOptional<Date | null>;
  declare revokedAt: CreationOptional<Date | null>;

  toView(): StreamKeyView {
    return {
      id: this.id,
      name: this.name,
      hint: this.hint,
      createdAt: this.createdAt.toISOString(),
      lastUsedAt: this.lastUsedAt ? this.lastUsedAt.toISOString() : null,
    };
  }
}

export function defineStreamKey(sequelize: Sequelize): typeof StreamKey {
  const Bound = class StreamKey_ extends StreamKey {};
  Bound.init(
    {
      id: { type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true },
      userId: { type: DataTypes.INTEGER, allowNull: false },
      name: { type: DataTypes.STRING(64), allowNull: false },
      keyHash: { type: DataTypes.CHAR(64), allowNull: false, unique: 'stream_keys_hash' },
      hint: { type: DataTypes.STRING(16), allowNull: false },
      createdAt: { type: DataTypes.DATE(3), allowNull: false, defaultValue: DataTypes.NOW },
      lastUsedAt: { type: DataTypes.DATE(3), allowNull: true, defaultValue: null },
      revokedAt: { type: DataTypes.DATE(3), allowNull: true, defaultValue: null },
    },
    { sequelize, modelName: 'StreamKey', tableName: 'stream_keys', timestamps: false },
  );
  return Bound;
}
