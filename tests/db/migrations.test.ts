import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ForeignKeyConstraintError, UniqueConstraintError } from 'sequelize';
import { newPublicId, openDatabase, type Database } from '../../api/db/index.js';
import { createMigrator } from '../../api/db/migrator.js';
import { createTestDatabase, type DatabaseKind, type TestDatabase } from '../support/db.js';
import { skipUnless } from '../support/services.js';

const TABLES = ['users', 'lives', 'recordings', 'calls', 'chat_messages', 'live_reactions', 'stream_keys'];
const MIGRATIONS = ['0001-initial', '0002-library-indexes', '0003-library-scale', '0004-chat', '0006-stream-keys'];

/** The indexes the VOD library and the lookups rely on, per table. */
const INDEXES: Record<string, string[]> = {
  users: ['users_nickname_key'],
  stream_keys: ['stream_keys_hash', 'stream_keys_user'],
  lives: ['lives_status', 'lives_user_started', 'lives_call', 'lives_kind'],
  recordings: [
    'recordings_file',
    'recordings_user_started',
    'recordings_status_started',
    'recordings_live',
    'recordings_shelf_started',
    'recordings_shelf_duration',
    'recordings_shelf_title',
    'recordings_shelf_location',
    'recordings_user_shelf_started',
    'recordings_user_shelf_duration',
    'recordings_user_shelf_title',
  ],
  calls: ['calls_caller_created', 'calls_callee_created'],
};

async function tableNames(db: Database): Promise<string[]> {
  const tables = (await db.sequelize.getQueryInterface().showAllTables()) as Array<string | { tableName: string }>;
  return (
    tables
      .map((t) => (typeof t === 'string' ? t : t.tableName))
      // SQLite's FTS5 search table and its shadow tables (recordings_fts_data, …) are checked on their own.
      .filter((t) => t !== 'sqlite_sequence' && !t.startsWith('recordings_fts'))
      .sort()
  );
}

async function indexNames(db: Database, table: string): Promise<string[]> {
  const indexes = (await db.sequelize.getQueryInterface().showIndex(table)) as Array<{ name: string }>;
  return indexes.map((i) => i.name);
}

const kinds: Array<{ kind: DatabaseKind; skip: string | false }> = [
  { kind: 'mariadb', skip: skipUnless('mariadb') },
  { kind: 'sqlite', skip: false },
];

for (const { kind, skip } of kinds) {
  describe(`migrations on ${kind}`, { skip }, () => {
    let testDb: TestDatabase;
    let db: Database;

    before(async () => {
      testDb = await createTestDatabase(kind);
      db = await openDatabase(testDb.url);
    });

    after(async () => {
      await db?.close();
      await testDb?.drop();
    });

    test('up applies every migration once and creates the tables', async () => {
      assert.deepEqual(await db.migrate(), MIGRATIONS);
      assert.deepEqual(await db.migrate(), [], 'a second run has nothing to do');
      assert.deepEqual(await tableNames(db), ['SequelizeMeta', ...TABLES].sort());
    });

    test('the tables have the indexes of the library and lookup queries', async () => {
      for (const [table, expected] of Object.entries(INDEXES)) {
        const names = await indexNames(db, table);
        for (const name of expected)
          assert.ok(names.includes(name), `${table} has index ${name} (has ${names.join(', ')})`);
      }
    });

    test('the models and the migrated tables have the same columns', async () => {
      const qi = db.sequelize.getQueryInterface();
      const models: Array<[string, Record<string, unknown>]> = [
        ['users', db.User.getAttributes()],
        ['lives', db.Live.getAttributes()],
        ['recordings', db.Recording.getAttributes()],
        ['calls', db.Call.getAttributes()],
        ['stream_keys', db.StreamKey.getAttributes()],
      ];
      for (const [table, attributes] of models) {
        const columns = Object.keys(await qi.describeTable(table)).sort();
        assert.deepEqual(columns, Object.keys(attributes).sort(), table);
      }
    });

    test('rows round-trip the same way: UTC dates with milliseconds, utf8mb4 text, big sizes', async () => {
      const user = await db.User.create({
        nickname: 'Zoë_1',
        nicknameKey: 'zoë_1',
        passwordHash: 'x',
        avatarSeed: 'seed',
      });
      const startedAt = new Date('2025-03-30T01:59:59.123Z');
      const live = await db.Live.create({ id: newPublicId(), userId: user.id, title: 'Live 🎥 — ünïcödé', startedAt });
      const recording = await db.Recording.create({
        liveId: live.id,
        userId: user.id,
        title: live.title,
        fileName: `${live.id}/a.webm`,
        startedAt,
        durationMs: 3_600_000,
        sizeBytes: 5_000_000_000,
        location: 'Paris, France',
      });
      const call = await db.Call.create({ id: newPublicId(), callerId: user.id, calleeId: user.id });

      const liveBack = await db.Live.findByPk(live.id, { include: [{ association: 'user' }] });
      assert.equal(liveBack?.title, 'Live 🎥 — ünïcödé');
      assert.equal(liveBack?.startedAt.toISOString(), '2025-03-30T01:59:59.123Z');
      assert.equal(liveBack?.status, 'live');
      assert.equal(liveBack?.kind, 'broadcast');
      assert.equal(liveBack?.peakViewers, 0);
      assert.equal(liveBack?.user?.nickname, 'Zoë_1');

      const recBack = await db.Recording.findByPk(recording.id);
      assert.equal(recBack?.sizeBytes, 5_000_000_000);
      assert.equal(recBack?.status, 'recording');
      assert.equal(recBack?.mimeType, 'video/webm');
      assert.equal(recBack?.startedAt.getTime(), startedAt.getTime());

      const callBack = await db.Call.findByPk(call.id);
      assert.equal(callBack?.outcome, 'ringing');
      assert.equal(callBack?.answeredAt, null);

      const inRange = await db.Recording.count({ where: { startedAt: new Date('2025-03-30T01:59:59.123Z') } });
      assert.equal(inRange, 1, 'an exact date compares equal');
    });

    test('nicknames are unique by key and foreign keys are enforced', async () => {
      await db.User.create({ nickname: 'alice', nicknameKey: 'alice', passwordHash: 'x', avatarSeed: 's' });
      await assert.rejects(
        db.User.create({ nickname: 'ALICE', nicknameKey: 'alice', passwordHash: 'x', avatarSeed: 's' }),
        UniqueConstraintError,
      );
      await assert.rejects(
        db.Live.create({ id: newPublicId(), userId: 999_999, title: 'orphan' }),
        ForeignKeyConstraintError,
      );
    });

    test('deleting a user removes their lives; deleting a live keeps its recordings', async () => {
      const user = await db.User.create({ nickname: 'bob', nicknameKey: 'bob', passwordHash: 'x', avatarSeed: 's' });
      const live = await db.Live.create({ id: newPublicId(), userId: user.id, title: 't' });
      const kept = await db.Recording.create({
        liveId: live.id,
        userId: user.id,
        title: 't',
        fileName: `${live.id}.webm`,
        startedAt: new Date(),
      });
      await live.destroy();
      await kept.reload();
      assert.equal(kept.liveId, null);
      const live2 = await db.Live.create({ id: newPublicId(), userId: user.id, title: 't2' });
      await user.destroy();
      assert.equal(await db.Live.findByPk(live2.id), null);
      assert.equal(await db.Recording.findByPk(kept.id), null);
    });

    test('the models refuse values outside their closed lists', async () => {
      const user = await db.User.create({
        nickname: 'carol',
        nicknameKey: 'carol',
        passwordHash: 'x',
        avatarSeed: 's',
      });
      await assert.rejects(
        db.Live.create({ id: newPublicId(), userId: user.id, title: 't', status: 'paused' as never }),
        /Validation/,
      );
    });

    test('down reverts everything, and up again rebuilds it', async () => {
      assert.deepEqual(await db.migrateDown('all'), [...MIGRATIONS].reverse());
      assert.deepEqual(await tableNames(db), ['SequelizeMeta']);
      assert.deepEqual(await db.migrateDown(), [], 'nothing left to revert');
      assert.deepEqual(await db.migrate(), MIGRATIONS);
      assert.deepEqual(await tableNames(db), ['SequelizeMeta', ...TABLES].sort());
    });
  });
}

for (const { kind, skip } of kinds) {
  describe(`0003-library-scale on ${kind}`, { skip }, () => {
    test('backfills who sees each recording and its search text from the rows already there', async () => {
      const testDb = await createTestDatabase(kind);
      const db = await openDatabase(testDb.url);
      try {
        await createMigrator(db.sequelize).up({ to: '0002-library-indexes' });
        const q = (sql: string, replacements: unknown[] = []) => db.sequelize.query(sql, { replacements });
        const now = new Date().toISOString().replace('T', ' ').replace('Z', '');
        await q(
          "INSERT INTO users (id, nickname, nicknameKey, passwordHash, avatarSeed, createdAt, updatedAt) VALUES (1, 'Wang_Fang', 'wang_fang', 'x', 's', ?, ?)",
          [now, now],
        );
        for (const [id, liveKind] of [
          ['L1', 'call'],
          ['L2', 'broadcast'],
        ]) {
          await q("INSERT INTO lives (id, userId, kind, title, status, startedAt) VALUES (?, 1, ?, 't', 'ended', ?)", [
            id,
            liveKind,
            now,
          ]);
        }
        const rows: Array<[number, string | null, string, string]> = [
          [1, 'L1', 'ready', '通话'],
          [2, 'L2', 'incomplete', '音乐会直播'],
          [3, null, 'ready', 'Morning show'],
          [4, 'L2', 'recording', 'Still going'],
          [5, null, 'failed', 'Broken'],
        ];
        for (const [id, liveId, status, title] of rows) {
          await q(
            'INSERT INTO recordings (id, liveId, userId, title, fileName, mimeType, startedAt, status, createdAt, updatedAt) VALUES (?, ?, 1, ?, ?, ?, ?, ?, ?, ?)',
            [id, liveId, title, `${id}.webm`, 'video/webm', now, status, now, now],
          );
        }
        assert.deepEqual(
          (await db.migrate()).slice(0, 1),
          ['0003-library-scale'],
          'the migrations after 0002 run, 0003 first',
        );
        const back = await db.Recording.findAll({ order: [['id', 'ASC']] });
        assert.deepEqual(
          back.map((r) => r.shelf),
          [2, 1, 1, 0, 0],
        );
        assert.match(back[1]!.searchText!, /t_音乐 .*t_直播 .*t_wang t_fang/);
        assert.match(back[2]!.searchText!, /^t_morning t_show t_wang t_fang$/);
        if (kind === 'sqlite') {
          const [found] = await db.sequelize.query(
            'SELECT rowid AS id FROM recordings_fts WHERE recordings_fts MATCH \'"乐会直"\'',
          );
          assert.deepEqual(found, [{ id: 2 }]);
        }
      } finally {
        await db.close();
        await testDb.drop();
      }
    });
  });
}

describe('migrations from several processes at once (MariaDB)', { skip: skipUnless('mariadb') }, () => {
  test('two databases migrating together apply each migration exactly once', async () => {
    const testDb = await createTestDatabase('mariadb');
    const dbs = await Promise.all([openDatabase(testDb.url), openDatabase(testDb.url), openDatabase(testDb.url)]);
    try {
      const applied = await Promise.all(dbs.map((d) => d.migrate()));
      assert.deepEqual(applied.flat().sort(), MIGRATIONS);
    } finally {
      await Promise.all(dbs.map((d) => d.close()));
      await testDb.drop();
    }
  });
});

describe('openDatabase()', () => {
  test('rejects with the dialect when the database cannot be reached', async () => {
    await assert.rejects(openDatabase('mysql://root@127.0.0.1:1/nothing'), /cannot open the database \(mysql\)/);
  });

  test('rejects an unsupported URL scheme', async () => {
    await assert.rejects(openDatabase('postgres://localhost/x'), /unsupported DATABASE_URL scheme: postgres/);
  });
});
