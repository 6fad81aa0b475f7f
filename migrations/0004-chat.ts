/**
 * Live interaction: the chat messages of a live, each with its offset into the live (the position in its
 * recording), and its reactions counted per second. Both go with their live (ON DELETE CASCADE); a message goes
 * with its author's account too.
 */
import { DataTypes, type QueryInterface } from 'sequelize';
import type { MigrationFn } from 'umzug';

const TABLE = { charset: 'utf8mb4', collate: 'utf8mb4_unicode_ci', engine: 'InnoDB' };

export const up: MigrationFn<QueryInterface> = async ({ context: qi }) => {
  await qi.createTable(
    'chat_messages',
    {
      id: { type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true, allowNull: false },
      liveId: {
        type: DataTypes.STRING(16),
        allowNull: false,
        references: { model: 'lives', key: 'id' },
        onDelete: 'CASCADE',
        onUpdate: 'CASCADE',
      },
      userId: {
        type: DataTypes.INTEGER,
        allowNull: false,
        references: { model: 'users', key: 'id' },
        onDelete: 'CASCADE',
        onUpdate: 'CASCADE',
      },
      // At most CHAT_MAX_CHARS code points: up to 4 bytes each in utf8mb4.
      text: { type: DataTypes.TEXT, allowNull: false },
      offsetMs: { type: DataTypes.INTEGER, allowNull: false },
      createdAt: { type: DataTypes.DATE(3), allowNull: false },
    },
    TABLE,
  );
  await qi.addIndex('chat_messages', ['liveId', 'offsetMs'], { name: 'chat_messages_live_offset' });
  await qi.addIndex('chat_messages', ['userId'], { name: 'chat_messages_user' });

  await qi.createTable(
    'live_reactions',
    {
      liveId: {
        type: DataTypes.STRING(16),
        allowNull: false,
        primaryKey: true,
        references: { model: 'lives', key: 'id' },
        onDelete: 'CASCADE',
        onUpdate: 'CASCADE',
      },
      /** Whole seconds from the start of the live. */
      second: { type: DataTypes.INTEGER, allowNull: false, primaryKey: true },
      reaction: { type: DataTypes.STRING(16), allowNull: false, primaryKey: true },
      count: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
    },
    TABLE,
  );
};

export const down: MigrationFn<QueryInterface> = async ({ context: qi }) => {
  await qi.dropTable('live_reactions');
  await qi.dropTable('chat_messages');
};
