/** The chat's tables (migrations/0004-chat.ts), bound to a database by `defineChatModels`. */
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
import type { User } from '../db/User.js';

export class ChatMessageRow extends Model<InferAttributes<ChatMessageRow>, InferCreationAttributes<ChatMessageRow>> {
  declare id: CreationOptional<number>;
  declare liveId: string;
  declare userId: ForeignKey<User['id']>;
  declare text: string;
  declare offsetMs: number;
  declare createdAt: Date;

  declare user?: NonAttribute<User>;
}

export class LiveReactionRow extends Model<InferAttributes<LiveReactionRow>, InferCreationAttributes<LiveReactionRow>> {
  declare liveId: string;
  declare second: number;
  declare reaction: string;
  declare count: number;
}

export interface ChatModels {
  ChatMessage: typeof ChatMessageRow;
  LiveReaction: typeof LiveReactionRow;
}

export function defineChatModels(sequelize: Sequelize, UserModel: typeof User): ChatModels {
  const ChatMessage = class ChatMessage_ extends ChatMessageRow {};
  ChatMessage.init(
    {
      id: { type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true },
      liveId: { type: DataTypes.STRING(16), allowNull: false },
      userId: { type: DataTypes.INTEGER, allowNull: false },
      text: { type: DataTypes.TEXT, allowNull: false },
      offsetMs: { type: DataTypes.INTEGER, allowNull: false },
      createdAt: { type: DataTypes.DATE(3), allowNull: false },
    },
    { sequelize, modelName: 'ChatMessage', tableName: 'chat_messages', timestamps: false },
  );
  ChatMessage.belongsTo(UserModel, { as: 'user', foreignKey: 'userId', constraints: false });
  const LiveReaction = class LiveReaction_ extends LiveReactionRow {};
  LiveReaction.init(
    {
      liveId: { type: DataTypes.STRING(16), primaryKey: true },
      second: { type: DataTypes.INTEGER, primaryKey: true },
      reaction: { type: DataTypes.STRING(16), primaryKey: true },
      count: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
    },
    { sequelize, modelName: 'LiveReaction', tableName: 'live_reactions', timestamps: false },
  );
  return { ChatMessage, LiveReaction };
}
