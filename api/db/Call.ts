/** A call between two users, from the invitation to its end (the call log). */
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
import { CALL_OUTCOMES, type CallOutcome } from '../contract/rest.js';
import type { User } from './User.js';

export class Call extends Model<InferAttributes<Call>, InferCreationAttributes<Call>> {
  /** Short public id (api/db/ids.ts). */
  declare id: string;
  declare callerId: ForeignKey<User['id']>;
  declare calleeId: ForeignKey<User['id']>;
  declare outcome: CreationOptional<CallOutcome>;
  /** When the invitation was sent. */
  declare createdAt: CreationOptional<Date>;
  declare answeredAt: CreationOptional<Date | null>;
  declare endedAt: CreationOptional<Date | null>;
  /** Talk time, from answer to end. */
  declare durationMs: CreationOptional<number | null>;
  declare endReason: CreationOptional<string | null>;

  declare caller?: NonAttribute<User>;
  declare callee?: NonAttribute<User>;
}

export function defineCall(sequelize: Sequelize): typeof Call {
  const Bound = class Call_ extends Call {};
  Bound.init(
    {
      id: { type: DataTypes.STRING(16), primaryKey: true },
      callerId: { type: DataTypes.INTEGER, allowNull: false },
      calleeId: { type: DataTypes.INTEGER, allowNull: false },
      outcome: {
        type: DataTypes.STRING(16),
        allowNull: false,
        defaultValue: 'ringing',
        validate: { isIn: [[...CALL_OUTCOMES]] },
      },
      createdAt: { type: DataTypes.DATE(3), allowNull: false },
      answeredAt: { type: DataTypes.DATE(3), allowNull: true, defaultValue: null },
      endedAt: { type: DataTypes.DATE(3), allowNull: true, defaultValue: null },
      durationMs: { type: DataTypes.INTEGER, allowNull: true, defaultValue: null },
      endReason: { type: DataTypes.STRING(32), allowNull: true, defaultValue: null },
    },
    { sequelize, modelName: 'Call', tableName: 'calls', updatedAt: false },
  );
  return Bound;
}
