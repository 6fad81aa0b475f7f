/** A recorded live (VOD). Files are served by this row's numeric id, never by a name from a request. */
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
import { RECORDING_STATUSES, type RecordingStatus } from '../contract/rest.js';
import type { Live } from './Live.js';
import type { User } from './User.js';

export class Recording extends Model<InferAttributes<Recording>, InferCreationAttributes<Recording>> {
  declare id: CreationOptional<number>;
  declare liveId: ForeignKey<Live['id']> | null;
  /** The owner (the presenter). */
  declare userId: ForeignKey<User['id']>;
  declare title: string;
  /** Relative to RECORDINGS_DIR; built by the server from ids. Unique: one row per file. */
  declare fileName: string;
  declare mimeType: CreationOptional<string>;
  declare startedAt: Date;
  declare endedAt: CreationOptional<Date | null>;
  declare durationMs: CreationOptional<number | null>;
  declare sizeBytes: CreationOptional<number | null>;
  /** Where it was recorded from (e.g. "Paris, France"), resolved offline. */
  declare location: CreationOptional<string | null>;
  declare status: CreationOptional<RecordingStatus>;
  /** Relative to RECORDINGS_DIR. */
  declare posterFileName: CreationOptional<string | null>;
  declare createdAt: CreationOptional<Date>;
  declare updatedAt: CreationOptional<Date>;

  declare owner?: NonAttribute<User>;
  declare live?: NonAttribute<Live>;
}

export function defineRecording(sequelize: Sequelize): typeof Recording {
  const Bound = class Recording_ extends Recording {};
  Bound.init(
    {
      id: { type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true },
      liveId: { type: DataTypes.STRING(16), allowNull: true },
      userId: { type: DataTypes.INTEGER, allowNull: false },
      title: { type: DataTypes.STRING(200), allowNull: false },
      fileName: { type: DataTypes.STRING(255), allowNull: false },
      mimeType: { type: DataTypes.STRING(64), allowNull: false, defaultValue: 'video/webm' },
      startedAt: { type: DataTypes.DATE(3), allowNull: false },
      endedAt: { type: DataTypes.DATE(3), allowNull: true, defaultValue: null },
      durationMs: { type: DataTypes.INTEGER, allowNull: true, defaultValue: null },
      sizeBytes: {
        type: DataTypes.BIGINT,
        allowNull: true,
        defaultValue: null,
        get() {
          const raw = this.getDataValue('sizeBytes') as unknown;
          return raw === null || raw === undefined ? null : Number(raw);
        },
      },
      location: { type: DataTypes.STRING(100), allowNull: true, defaultValue: null },
      status: {
        type: DataTypes.STRING(16),
        allowNull: false,
        defaultValue: 'recording',
        validate: { isIn: [[...RECORDING_STATUSES]] },
      },
      posterFileName: { type: DataTypes.STRING(255), allowNull: true, defaultValue: null },
      createdAt: { type: DataTypes.DATE(3), allowNull: false },
      updatedAt: { type: DataTypes.DATE(3), allowNull: false },
    },
    { sequelize, modelName: 'Recording', tableName: 'recordings' },
  );
  return Bound;
}
