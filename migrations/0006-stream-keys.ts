/**
 * Stream keys: the Bearer tokens a WHIP encoder (OBS, ffmpeg, GStreamer) goes live with. Only a SHA-256 hash of
 * each key is stored (the key itself is shown once, at creation). A key goes with its owner's account.
 */
import { DataTypes, type QueryInterface } from 'sequelize';
import type { MigrationFn } from 'umzug';

const TABLE = { charset: 'utf8mb4', collate: 'utf8mb4_unicode_ci', engine: 'InnoDB' };

export const up: MigrationFn<QueryInterface> = async ({ context: qi }) => {
  await qi.createTable(
    'stream_keys',
    {
      id: { type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true, allowNull: false },
      userId: {
        type: DataTypes.INTEGER,
        allowNull: false,
        references: { model: 'users', key: 'id' },
        onDelete: 'CASCADE',
        onUpdate: 'CASCADE',
      },
      name: { type: DataTypes.STRING(64), allowNull: false },
      /** SHA-256 of the key, hex. */
      keyHash: { type: DataTypes.CHAR(64), allowNull: false },
      /** The key's first characters, so that its owner can tell keys apart (not enough to use it). */
      hint: { type: DataTypes.STRING(16), allowNull: false },
      createdAt: { type: DataTypes.DATE(3), allowNull: false },
      lastUsedAt: { type: DataTypes.DATE(3), allowNull: true, defaultValue: null },
      revokedAt: { type: DataTypes.DATE(3), allowNull: true, defaultValue: null },
    },
    TABLE,
  );
  await qi.addIndex('stream_keys', ['keyHash'], { name: 'stream_keys_hash', unique: true });
  await qi.addIndex('stream_keys', ['userId', 'createdAt'], { name: 'stream_keys_user' });
};

export const down: MigrationFn<QueryInterface> = async ({ context: qi }) => {
  await qi.dropTable('stream_keys');
};
