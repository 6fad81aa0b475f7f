/**
 * The first schema: users, lives, recordings, calls, with the indexes of the VOD library's queries
 * (time, duration, owner, location, status) and of the lookups (lives on air, a user's calls).
 * Dates are DATETIME(3) in UTC; MySQL tables are utf8mb4.
 */
import { DataTypes, type QueryInterface } from 'sequelize';
import type { MigrationFn } from 'umzug';

const TABLE = { charset: 'utf8mb4', collate: 'utf8mb4_unicode_ci', engine: 'InnoDB' };
const date = (allowNull: boolean) => ({ type: DataTypes.DATE(3), allowNull });

export const up: MigrationFn<QueryInterface> = async ({ context: qi }) => {
  await qi.createTable(
    'users',
    {
      id: { type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true, allowNull: false },
      nickname: { type: DataTypes.STRING(32), allowNull: false },
      nicknameKey: { type: DataTypes.STRING(32), allowNull: false },
      passwordHash: { type: DataTypes.STRING(255), allowNull: false },
      avatarSeed: { type: DataTypes.STRING(32), allowNull: false },
      createdAt: date(false),
      updatedAt: date(false),
    },
    TABLE,
  );
  await qi.addIndex('users', ['nicknameKey'], { name: 'users_nickname_key', unique: true });

  await qi.createTable(
    'lives',
    {
      id: { type: DataTypes.STRING(16), primaryKey: true, allowNull: false },
      userId: {
        type: DataTypes.INTEGER,
        allowNull: false,
        references: { model: 'users', key: 'id' },
        onDelete: 'CASCADE',
        onUpdate: 'CASCADE',
      },
      kind: { type: DataTypes.STRING(16), allowNull: false, defaultValue: 'broadcast' },
      title: { type: DataTypes.STRING(200), allowNull: false },
      status: { type: DataTypes.STRING(16), allowNull: false, defaultValue: 'live' },
      callId: { type: DataTypes.STRING(16), allowNull: true },
      startedAt: date(false),
      endedAt: date(true),
      peakViewers: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
      totalViewers: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
      endReason: { type: DataTypes.STRING(32), allowNull: true },
    },
    TABLE,
  );
  await qi.addIndex('lives', ['status'], { name: 'lives_status' });
  await qi.addIndex('lives', ['userId', 'startedAt'], { name: 'lives_user_started' });
  await qi.addIndex('lives', ['callId'], { name: 'lives_call' });

  await qi.createTable(
    'recordings',
    {
      id: { type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true, allowNull: false },
      liveId: {
        type: DataTypes.STRING(16),
        allowNull: true,
        references: { model: 'lives', key: 'id' },
        onDelete: 'SET NULL',
        onUpdate: 'CASCADE',
      },
      userId: {
        type: DataTypes.INTEGER,
        allowNull: false,
        references: { model: 'users', key: 'id' },
        onDelete: 'CASCADE',
        onUpdate: 'CASCADE',
      },
      title: { type: DataTypes.STRING(200), allowNull: false },
      fileName: { type: DataTypes.STRING(255), allowNull: false },
      mimeType: { type: DataTypes.STRING(64), allowNull: false, defaultValue: 'video/webm' },
      startedAt: date(false),
      endedAt: date(true),
      durationMs: { type: DataTypes.INTEGER, allowNull: true },
      sizeBytes: { type: DataTypes.BIGINT, allowNull: true },
      location: { type: DataTypes.STRING(100), allowNull: true },
      status: { type: DataTypes.STRING(16), allowNull: false, defaultValue: 'recording' },
      posterFileName: { type: DataTypes.STRING(255), allowNull: true },
      createdAt: date(false),
      updatedAt: date(false),
    },
    TABLE,
  );
  await qi.addIndex('recordings', ['fileName'], { name: 'recordings_file', unique: true });
  await qi.addIndex('recordings', ['startedAt'], { name: 'recordings_started' });
  await qi.addIndex('recordings', ['durationMs'], { name: 'recordings_duration' });
  await qi.addIndex('recordings', ['userId', 'startedAt'], { name: 'recordings_user_started' });
  await qi.addIndex('recordings', ['location', 'startedAt'], { name: 'recordings_location_started' });
  await qi.addIndex('recordings', ['status', 'startedAt'], { name: 'recordings_status_started' });
  await qi.addIndex('recordings', ['liveId'], { name: 'recordings_live' });

  await qi.createTable(
    'calls',
    {
      id: { type: DataTypes.STRING(16), primaryKey: true, allowNull: false },
      callerId: {
        type: DataTypes.INTEGER,
        allowNull: false,
        references: { model: 'users', key: 'id' },
        onDelete: 'CASCADE',
        onUpdate: 'CASCADE',
      },
      calleeId: {
        type: DataTypes.INTEGER,
        allowNull: false,
        references: { model: 'users', key: 'id' },
        onDelete: 'CASCADE',
        onUpdate: 'CASCADE',
      },
      outcome: { type: DataTypes.STRING(16), allowNull: false, defaultValue: 'ringing' },
      createdAt: date(false),
      answeredAt: date(true),
      endedAt: date(true),
      durationMs: { type: DataTypes.INTEGER, allowNull: true },
      endReason: { type: DataTypes.STRING(32), allowNull: true },
    },
    TABLE,
  );
  await qi.addIndex('calls', ['callerId', 'createdAt'], { name: 'calls_caller_created' });
  await qi.addIndex('calls', ['calleeId', 'createdAt'], { name: 'calls_callee_created' });
};

export const down: MigrationFn<QueryInterface> = async ({ context: qi }) => {
  // Children before parents (foreign keys).
  await qi.dropTable('calls');
  await qi.dropTable('recordings');
  await qi.dropTable('lives');
  await qi.dropTable('users');
};
