/** A recorded live (VOD). Files are served by this row's numeric id, never by a name from a request. */
import {
  DataTypes,
  Model,
  type CreationOptional,
  type ForeignKey,
  type InferAttributes,
  type InferCreationAttributes,
  type NonAttribute,
  QueryTypes,
  type Sequelize,
  type Transaction,
} from 'sequelize';
import { RECORDING_STATUSES, type RecordingStatus } from '../contract/rest.js';
import { searchTokens } from '../recordings/searchText.js';
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
  /** Who sees it (SHELF): derived from `status` and the live's kind by this model's hooks, never set by hand. */
  declare shelf: CreationOptional<Shelf>;
  /** Search tokens of the title and the presenter's nickname (api/recordings/searchText.ts), kept by the hooks. */
  declare searchText: CreationOptional<string | null>;
  /** The owner's trim: the part kept, in ms from the start of the file (null: from the start, to the end). */
  declare trimStartMs: CreationOptional<number | null>;
  declare trimEndMs: CreationOptional<number | null>;
  /** Relative to RECORDINGS_DIR: the trimmed file cut from the trim, beside the original until confirmed. */
  declare cutFileName: CreationOptional<string | null>;

  declare owner?: NonAttribute<User>;
  declare live?: NonAttribute<Live>;
}

/** 0: not in the library (recording, failed); 1: everyone's (a broadcast); 2: its owner's only (a call). */
export const SHELF = { none: 0, everyone: 1, owner: 2 } as const;
export type Shelf = (typeof SHELF)[keyof typeof SHELF];

const IN_LIBRARY: readonly string[] = ['ready', 'incomplete'];
/** Writes that change what `shelf` and `searchText` derive from must go through instances (so the hooks see them). */
const DERIVED_FROM = ['status', 'liveId', 'title', 'userId'];

type Bound = typeof Recording;

async function callLives(model: Bound, liveIds: string[], transaction?: Transaction | null): Promise<Set<string>> {
  if (liveIds.length === 0) return new Set();
  const rows = await model.sequelize!.query<{ id: string }>("SELECT id FROM lives WHERE kind = 'call' AND id IN (?)", {
    replacements: [liveIds],
    type: QueryTypes.SELECT,
    transaction: transaction ?? undefined,
  });
  return new Set(rows.map((r) => r.id));
}

async function nicknames(
  model: Bound,
  userIds: number[],
  transaction?: Transaction | null,
): Promise<Map<number, string>> {
  if (userIds.length === 0) return new Map();
  const rows = await model.sequelize!.query<{ id: number; nickname: string }>(
    'SELECT id, nickname FROM users WHERE id IN (?)',
    { replacements: [userIds], type: QueryTypes.SELECT, transaction: transaction ?? undefined },
  );
  return new Map(rows.map((r) => [Number(r.id), r.nickname]));
}

/** Sets `shelf` and `searchText` of rows about to be written, from what they derive from. */
async function derive(model: Bound, rows: Recording[], transaction?: Transaction | null): Promise<void> {
  const stale = (row: Recording, ...fields: string[]) => row.isNewRecord || fields.some((f) => row.changed(f as never));
  const shelfRows = rows.filter((r) => stale(r, 'status', 'liveId'));
  const textRows = rows.filter((r) => stale(r, 'title', 'userId'));
  const calls = await callLives(
    model,
    [...new Set(shelfRows.map((r) => r.liveId).filter((id): id is string => !!id))],
    transaction,
  );
  const names = await nicknames(model, [...new Set(textRows.map((r) => r.userId))], transaction);
  for (const row of shelfRows) {
    const status = row.status ?? 'recording';
    row.shelf = !IN_LIBRARY.includes(status)
      ? SHELF.none
      : row.liveId && calls.has(row.liveId)
        ? SHELF.owner
        : SHELF.everyone;
  }
  for (const row of textRows) row.searchText = searchTokens(row.title, names.get(row.userId));
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
      shelf: { type: DataTypes.TINYINT, allowNull: false, defaultValue: SHELF.none },
      searchText: { type: DataTypes.TEXT, allowNull: true, defaultValue: null },
      trimStartMs: { type: DataTypes.INTEGER, allowNull: true, defaultValue: null },
      trimEndMs: { type: DataTypes.INTEGER, allowNull: true, defaultValue: null },
      cutFileName: { type: DataTypes.STRING(255), allowNull: true, defaultValue: null },
    },
    {
      sequelize,
      modelName: 'Recording',
      tableName: 'recordings',
      hooks: {
        beforeSave: (row, options) => derive(Bound, [row], options.transaction),
        beforeBulkCreate: (rows, options) => derive(Bound, rows, options.transaction),
        beforeBulkUpdate: (options) => {
          const fields = Object.keys((options as { attributes?: object }).attributes ?? {});
          const derived = fields.filter((f) => DERIVED_FROM.includes(f));
          if (derived.length) {
            throw new Error(
              `Recording.update() of ${derived.join(', ')}: update the row (instance.update) so that shelf and searchText follow`,
            );
          }
        },
      },
    },
  );
  return Bound;
}
