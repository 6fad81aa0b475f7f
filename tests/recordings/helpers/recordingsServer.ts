/**
 * A real onair server with the recordings library mounted (the server's own; or, on a server that does not wire
 * it, one created here on the server's database, sessions and recordings folder), plus helpers to make users,
 * lives, WebM files and recording rows.
 */
import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { RequestHandler } from 'express';
import type { LiveKind } from '../../../api/contract/rest.js';
import { pino } from 'pino';
import { newPublicId, type Database, type Recording } from '../../../api/db/index.js';
import { createRecordings, type Recordings } from '../../../api/recordings/index.js';
import { registerUser, type SignedInUser } from '../../../drivers/http.js';
import { startTestServer, type TestServer, type TestServerOptions } from '../../support/server.js';

const run = promisify(execFile);

export interface RecordingsServer {
  server: TestServer;
  url: string;
  config: TestServer['config'];
  db: Database;
  recordingsDir: string;
  recordings: Recordings;
  register(prefix?: string): Promise<SignedInUser>;
  /** A live row of `userId` (a broadcast unless told) and its id. */
  live(userId: number, options?: { kind?: LiveKind; title?: string; startedAt?: Date }): Promise<string>;
  /** A finished recording row for a file in the recordings folder (made with `makeWebm`, or not). */
  recording(userId: number, values?: Partial<Recording['_creationAttributes']>): Promise<Recording>;
  close(): Promise<void>;
}

export async function startRecordingsServer(options: TestServerOptions = {}): Promise<RecordingsServer> {
  let mounted: RequestHandler | null = null;
  const lazy: RequestHandler = (req, res, next) => (mounted ? mounted(req, res, next) : next());
  const server = await startTestServer({
    ...options,
    server: { ...options.server, routers: [...(options.server?.routers ?? []), { path: '/api/recordings', router: lazy }] },
  });
  const services = server.server.services as typeof server.server.services & { recordings?: Recordings };
  let own: Recordings | null = null;
  const recordings = services.recordings ?? (own = await createRecordings({
    db: server.server.db, config: server.config, sessions: services.sessions, log: pino({ level: 'silent' }),
  }));
  if (own) mounted = own.router;
  // The server's own start-up reconciliation must not race with the scenes tests set up.
  await recordings.reconciling;
  const db = server.server.db;
  return {
    server,
    url: server.url,
    config: server.config,
    db,
    recordingsDir: server.config.recordingsDir,
    recordings,
    register: (prefix = 'rec') => registerUser(server.url, `${prefix}_${newPublicId().slice(0, 8)}`),
    async live(userId, o = {}) {
      const id = newPublicId();
      await db.Live.create({ id, userId, title: o.title ?? 'A live', kind: o.kind ?? 'broadcast', status: 'ended', startedAt: o.startedAt ?? new Date() });
      return id;
    },
    async recording(userId, values = {}) {
      const fileName = values.fileName ?? `${newPublicId()}.webm`;
      const file = path.join(server.config.recordingsDir, fileName);
      const size = await stat(file).then((s) => s.size, () => null);
      return db.Recording.create({
        userId, title: 'A recording', fileName, startedAt: new Date(Date.now() - 60_000), endedAt: new Date(),
        durationMs: 6000, sizeBytes: size, status: 'ready', location: 'Paris, France', ...values,
      });
    },
    async close() {
      await own?.close();
      await server.close();
    },
  };
}

export interface WebmOptions {
  seconds?: number;
  /**
   * false writes it as a live stream (`-live 1`): no duration and no index, like a file from a real KMS or one
   * cut short by a crash.
   */
  seekable?: boolean;
  /** Video frame rate (default 25). */
  fps?: number;
  /** false: audio only. */
  video?: boolean;
}

/** Writes a VP8 + Opus WebM test pattern (a clock and a tone) with ffmpeg. */
export async function makeWebm(file: string, options: WebmOptions = {}): Promise<void> {
  const seconds = options.seconds ?? 6;
  const video = options.video ?? true;
  const args = ['-hide_banner', '-nostdin', '-v', 'error', '-y'];
  if (video) args.push('-f', 'lavfi', '-i', `testsrc2=size=320x240:rate=${options.fps ?? 25}`);
  args.push('-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', String(seconds));
  if (video) args.push('-c:v', 'libvpx', '-b:v', '300k', '-deadline', 'realtime', '-cpu-used', '8', '-g', '25');
  args.push('-c:a', 'libopus', '-f', 'webm');
  if (options.seekable === false) args.push('-live', '1');
  args.push(file);
  await run('ffmpeg', args);
}
