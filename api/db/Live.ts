/** A broadcast (or one side of a call) from its start to its end, with its audience figures. */
import {
  DataTypes,
  Model,
  type CreationOptional,
  type ForeignKey,
  type InferAttributes,
  type InferCreationAttributes,
  type NonAttribute,
  type Sequelize,
} from 'sequelize';
import { LIVE_KINDS, LIVE_STATUSES, type LiveKind, type LiveStatus } from '../contract/rest.js';
import type { User } from './User.js';

export class Live extends Model<InferAttributes<Live>, InferCreationAttributes<Live>> {
  /** Short public id (api/db/ids.ts), used in URLs. */
  declare id: string;
  declare userId: ForeignKey<User['id']>;
  declare kind: CreationOptional<LiveKind>;
  declare title: string;
  declare status: CreationOptional<LiveStatus>;
  /** The call this live belongs to, when `kind` is 'call'. */
  declare callId: CreationOptional<string | null>;
  declare startedAt: CreationOptional<Date>;
  declare endedAt: CreationOptional<Date | null>;
  declare peakViewers: CreationOptional<number>;
  declare totalViewers: CreationOptional<number>;
  /** Why it ended (e.g. 'stopped', 'presenterLeft', 'mediaServerLost'). */
  declare endReason: CreationOptional<string | null>;

  declare user?: NonAttribute<User>;
}

export function defineLive(sequelize: Sequelize): typeof Live {
  const Bound = class Live_ extends Live {};
  Bound.init(
    {
      id: { type: DataTypes.STRING(16), primaryKey: true },
      userId: { type: DataTypes.INTEGER, allowNull: false },
      kind: {
        type: DataTypes.STRING(16),
        allowNull: false,
        defaultValue: 'broadcast',
        validate: { isIn: [[...LIVE_KINDS]] },
      },
      title: { type: DataTypes.STRING(200), allowNull: false },
      status: {
        type: DataTypes.STRING(16),
        allowNull: false,
        defaultValue: 'live',
        validate: { isIn: [[...LIVE_STATUSES]] },
      },
      callId: { type: DataTypes.STRING(16), allowNull: true, defaultValue: null },
      startedAt: { type: DataTypes.DATE(3), allowNull: false, defaultValue: DataTypes.NOW },
      endedAt: { type: DataTypes.DATE(3), allowNull: true, defaultValue: null },
      peakViewers: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
      totalViewers: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
      endReason: { type: DataTypes.STRING(32), allowNull: true, defaultValue: null },
    },
    { sequelize, modelName: 'Live', tableName: 'lives', timestamps: false },
  );
  return Bound;
}
