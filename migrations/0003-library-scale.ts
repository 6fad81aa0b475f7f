/**
 * The recordings library at scale, and its owner tools:
 * - `shelf`: who sees a recording, as a column an index can lead with (0 = not in the library: still recording or
 *   failed; 1 = everyone's: a broadcast; 2 = its owner's only: a call). It replaces the subquery on `lives.kind`;
 *   backfilled here, kept right by the Recording model's hooks (api/db/Recording.ts).
 * - covering indexes for each sort of the library, everyone's and one presenter's, each ending with the id so that
 *   a page after a cursor is an index range;
 * - text search of title and presenter: on MySQL/MariaDB a FULLTEXT index over `searchText` (tokens written by the
 *   model, see api/recordings/searchText.ts), on SQLite an FTS5 table with the trigram tokenizer, kept by triggers;
 * - the owner's edit: `trimStartMs`/`trimEndMs` (the kept part, played and downloaded) and `cutFileName` (the
 *   trimmed file made from it, kept beside the original until the owner confirms).
 */
import { DataTypes, QueryTypes, type QueryInterface } from 'sequelize';
import type { MigrationFn } from 'umzug';
import { searchTokens } from '../api/recordings/searchText.js';

const NEW_INDEXES: Array<{ name: string; fields: string[] }> = [
  { name: 'recordings_shelf_started', fields: ['shelf', 'startedAt', 'id', 'durationMs', 'location'] },
  { name: 'recordings_shelf_duration', fields: ['shelf', 'durationMs', 'id', 'startedAt'] },
  { name: 'recordings_shelf_title', fields: ['shelf', 'title', 'id'] },
  { name: 'recordings_shelf_location', fields: ['shelf', 'location', 'startedAt', 'id'] },
  { name: 'recordings_user_shelf_started', fields: ['userId', 'shelf', 'startedAt', 'id', 'durationMs'] },
  { name: 'recordings_user_shelf_duration', fields: ['userId', 'shelf', 'durationMs', 'id'] },
  { name: 'recordings_user_shelf_title', fields: ['userId', 'shelf', 'title', 'id'] },
];

/** Superseded by the indexes above (each led by `shelf`). */
const OLD_INDEXES: Array<{ name: string; fields: string[] }> = [
  { name: 'recordings_started', fields: ['startedAt'] },
  { name: 'recordings_duration', fields: ['durationMs'] },
  { name: 'recordings_location_started', fields: ['location', 'startedAt'] },
  { name: 'recordings_title', fields: ['title'] },
];

const SQLITE_TRIGGERS = [
  `CREATE TRIGGER recordings_fts_insert AFTER INSERT ON recordings BEGIN
     INSERT INTO recordings_fts (rowid, title, presenter)
     VALUES (new.id, new.title, (SELECT nickname FROM users WHERE users.id = new.userId));
   END`,
  `CREATE TRIGGER recordings_fts_update AFTER UPDATE OF title, userId ON recordings BEGIN
     DELETE FROM recordings_fts WHERE rowid = old.id;
     INSERT INTO recordings_fts (rowid, title, presenter)
     VALUES (new.id, new.title, (SELECT nickname FROM users WHERE users.id = new.userId));
   END`,
  `CREATE TRIGGER recordings_fts_delete AFTER DELETE ON recordings BEGIN
     DELETE FROM recordings_fts WHERE rowid = old.id;
   END`,
];

const BATCH = 1000;

export const up: MigrationFn<QueryInterface> = async ({ context: qi }) => {
  const sequelize = qi.sequelize;
  const mysql = sequelize.getDialect() === 'mysql';
  await qi.addColumn('recordings', 'shelf', { type: DataTypes.TINYINT, allowNull: false, defaultValue: 0 });
  await qi.addColumn('recordings', 'searchText', { type: DataTypes.TEXT, allowNull: true });
  await qi.addColumn('recordings', 'trimStartMs', { type: DataTypes.INTEGER, allowNull: true });
  await qi.addColumn('recordings', 'trimEndMs', { type: DataTypes.INTEGER, allowNull: true });
  await qi.addColumn('recordings', 'cutFileName', { type: DataTypes.STRING(255), allowNull: true });

  await sequelize.query(
    `UPDATE recordings SET shelf = CASE
       WHEN status NOT IN ('ready', 'incomplete') THEN 0
       WHEN liveId IS NOT NULL AND liveId IN (SELECT id FROM lives WHERE kind = 'call') THEN 2
       ELSE 1 END`,
  );

  // searchText, in batches by id.
  for (let after = 0; ;) {
    const rows = await sequelize.query<{ id: number; title: string; nickname: string | null }>(
      `SELECT r.id, r.title, u.nickname FROM recordings r LEFT JOIN users u ON u.id = r.userId
       WHERE r.id > ? ORDER BY r.id LIMIT ${BATCH}`,
      { replacements: [after], type: QueryTypes.SELECT },
    );
    if (rows.length === 0) break;
    const cases = rows.map(() => 'WHEN ? THEN ?').join(' ');
    await sequelize.query(`UPDATE recordings SET searchText = CASE id ${cases} END WHERE id IN (?)`, {
      replacements: [...rows.flatMap((r) => [r.id, searchTokens(r.title, r.nickname)]), rows.map((r) => r.id)],
    });
    after = rows[rows.length - 1]!.id;
  }

  for (const index of OLD_INDEXES) await qi.removeIndex('recordings', index.name);
  for (const index of NEW_INDEXES) await qi.addIndex('recordings', index.fields, { name: index.name });

  if (mysql) {
    await sequelize.query('ALTER TABLE recordings ADD FULLTEXT INDEX recordings_search (searchText)');
  } else {
    await sequelize.query(`CREATE VIRTUAL TABLE recordings_fts USING fts5(title, presenter, tokenize = 'trigram')`);
    for (const trigger of SQLITE_TRIGGERS) await sequelize.query(trigger);
    await sequelize.query(
      `INSERT INTO recordings_fts (rowid, title, presenter)
       SELECT r.id, r.title, u.nickname FROM recordings r LEFT JOIN users u ON u.id = r.userId`,
    );
  }
};

export const down: MigrationFn<QueryInterface> = async ({ context: qi }) => {
  const sequelize = qi.sequelize;
  if (sequelize.getDialect() === 'mysql') {
    await qi.removeIndex('recordings', 'recordings_search');
  } else {
    for (const name of ['recordings_fts_insert', 'recordings_fts_update', 'recordings_fts_delete']) {
      await sequelize.query(`DROP TRIGGER IF EXISTS ${name}`);
    }
    await sequelize.query('DROP TABLE IF EXISTS recordings_fts');
  }
  for (const index of NEW_INDEXES) await qi.removeIndex('recordings', index.name);
  // A plain DROP COLUMN on both (SQLite ≥ 3.35 has it): the table and its other indexes stay as they are.
  for (const column of ['cutFileName', 'trimEndMs', 'trimStartMs', 'searchText', 'shelf']) {
    await sequelize.query(`ALTER TABLE recordings DROP COLUMN ${column}`);
  }
  for (const index of OLD_INDEXES) await qi.addIndex('recordings', index.fields, { name: index.name });
};
