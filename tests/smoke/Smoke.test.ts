/**
 * `npm run smoke`: the script run as an operator runs it (a child process, `tsx smoke/main.ts <url>`) against a real
 * test server with the embedded media engine, and against deployments where a step must fail.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../../media/engine/spawn.js';
import { pipelineCount } from '../support/media.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { skipUnless } from '../support/services.js';
import { waitFor } from '../../drivers/wait.js';

const root = path.resolve(import.meta.dirname, '../..');
const STEPS = [
  'reach',
  'source',
  'signup',
  'connect',
  'golive',
  'watch',
  'stop',
  'recording',
  'playback',
  'seek',
  'call',
  'hangup',
  'cleanup',
];

interface SmokeRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The last line, parsed. */
  summary: { ok: boolean; failedStep: string | null; steps: Array<{ step: string; ok: boolean; ms: number }> };
}

function smoke(args: string[], env: Record<string, string> = {}, timeoutMs = 150_000): Promise<SmokeRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', path.join(root, 'smoke', 'main.ts'), ...args],
      { cwd: root, timeout: timeoutMs, maxBuffer: 4 * 1024 * 1024, env: { ...process.env, ...env } },
      (error, stdout, stderr) => {
        const code = error ? ((error as { code?: number }).code ?? null) : 0;
        const last = stdout.trim().split('\n').at(-1) ?? '';
        let summary: SmokeRun['summary'];
        try {
          summary = JSON.parse(last);
        } catch {
          summary = { ok: false, failedStep: null, steps: [] };
        }
        resolve({ code: typeof code === 'number' ? code : null, stdout, stderr, summary });
      },
    );
  });
}

/** The printed line of a step: `  ok    golive   1.23 s  …`. */
function stepLine(stdout: string, step: string): string | undefined {
  return stdout.split('\n').find((line) => new RegExp(`^  (ok|FAIL|skip)\\s+${step}\\b`).test(line));
}

describe('npm run smoke against a deployment with media', { skip: skipUnless('ffmpeg') }, () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ server: { media: {} } });
  });
  after(async () => {
    await server?.close();
  });

  it('passes every step, prints each with its time, leaves no recording or pipeline behind', async () => {
    const pipelinesBefore = await pipelineCount(server);
    const run = await smoke([server.url, '--seconds', '2', '--call-seconds', '1']);
    assert.equal(run.code, 0, `smoke failed:\n${run.stdout}\n${run.stderr}`);
    for (const step of STEPS) {
      assert.match(stepLine(run.stdout, step) ?? '', new RegExp(`^  ok\\s+${step}\\s+\\d+\\.\\d\\d s  \\S`), step);
    }
    assert.match(stepLine(run.stdout, 'watch')!, /keyframe 320x240 decoded by ffmpeg/);
    assert.match(stepLine(run.stdout, 'seek')!, /206 bytes \d+-\d+\/\d+ match/);
    assert.match(stepLine(run.stdout, 'cleanup')!, /deleted recording #\d+/);
    assert.match(stepLine(run.stdout, 'cleanup')!, /no account deletion/);
    assert.equal(run.summary.ok, true);
    assert.equal(run.summary.failedStep, null);
    assert.deepEqual(
      run.summary.steps.map((s) => s.step),
      STEPS,
    );
    assert.ok(run.summary.steps.every((s) => s.ok && s.ms >= 0));

    // What it made is gone: its recordings deleted (the accounts stay: the API cannot delete them).
    const rows = await server.server.services.db.Recording.findAll();
    assert.deepEqual(
      rows.map((r) => r.id),
      [],
    );
    assert.equal(await pipelineCount(server), pipelinesBefore);
  });

  it('fails at "golive" with --relay when the deployment hands out no TURN server', async () => {
    const run = await smoke([server.url, '--relay', '--timeout', '10']);
    assert.equal(run.code, 1, run.stdout);
    assert.match(
      stepLine(run.stdout, 'golive')!,
      /^ {2}FAIL\s+golive\s.*--relay was given but the deployment hands out no TURN/,
    );
    assert.equal(run.summary.failedStep, 'golive');
    assert.equal(await pipelineCount(server), 0);
  });
});

describe(
  'npm run smoke through the TURN server the deployment hands out (coturn)',
  { skip: skipUnless('ffmpeg', 'coturn') },
  () => {
    let turn: Coturn;
    let server: TestServer;
    before(async () => {
      turn = await startCoturn();
      server = await startTestServer({
        server: { media: {} },
        env: { TURN_URLS: `turn:127.0.0.1:${turn.port}?transport=udp`, TURN_SECRET: turn.secret },
      });
    });
    after(async () => {
      await server?.close();
      await turn?.stop();
    });

    it('passes relay only: every peer gets its media through coturn with the time-limited credentials', async () => {
      const run = await smoke([server.url, '--relay', '--seconds', '1', '--call-seconds', '1']);
      assert.equal(run.code, 0, `smoke failed:\n${run.stdout}\n${run.stderr}\ncoturn:\n${turn.log().slice(-3000)}`);
      assert.match(
        stepLine(run.stdout, 'golive')!,
        /path relay; ICE servers turn:127\.0\.0\.1:\d+\?transport=udp \(TURN credentials\)/,
      );
      assert.match(stepLine(run.stdout, 'watch')!, /path relay/);
      // coturn allocated relays for both smoke accounts, with the deployment's credentials (`<expiry>:<user id>`).
      const users = new Set(
        [...turn.log().matchAll(/user <\d+:(\d+)>: incoming packet ALLOCATE processed, success/g)].map((m) => m[1]),
      );
      assert.equal(users.size, 2, turn.log().slice(-3000));
    });
  },
);

describe('npm run smoke when a step fails', { skip: skipUnless('ffmpeg') }, () => {
  let server: TestServer;
  before(async () => {
    // A deployment whose API runs without a media server: going live must fail.
    server = await startTestServer();
  });
  after(async () => {
    await server?.close();
  });

  it('exits 1 at the step that fails (golive without a media server), skipping the rest but cleaning up', async () => {
    const run = await smoke([server.url, '--timeout', '10']);
    assert.equal(run.code, 1, run.stdout);
    for (const step of ['reach', 'source', 'signup', 'connect']) assert.match(stepLine(run.stdout, step)!, /^ {2}ok/);
    assert.match(
      stepLine(run.stdout, 'golive')!,
      /^ {2}FAIL\s+golive\s+\d+\.\d\d s {2}presenter:start refused: media\.unavailable/,
    );
    for (const step of ['watch', 'stop', 'recording', 'playback', 'seek', 'call', 'hangup']) {
      assert.match(stepLine(run.stdout, step)!, /^ {2}skip/, step);
    }
    assert.match(stepLine(run.stdout, 'cleanup')!, /^ {2}ok/);
    assert.match(run.stdout, /smoke: FAILED at step "golive"/);
    assert.equal(run.summary.ok, false);
    assert.equal(run.summary.failedStep, 'golive');
  });

  it('exits 1 at "source" when there is no ffmpeg to make the clip (and no --media), saying what to do', async () => {
    const run = await smoke([server.url], { PATH: path.join(root, 'no-such-dir') });
    assert.equal(run.code, 1, run.stdout);
    assert.match(stepLine(run.stdout, 'reach')!, /^ {2}ok/);
    assert.match(
      stepLine(run.stdout, 'source')!,
      /^ {2}FAIL\s+source\s.*ffmpeg is not installed; install ffmpeg .* or pass --media <a VP8 \+ Opus WebM file>/,
    );
    assert.match(stepLine(run.stdout, 'signup')!, /^ {2}skip/);
    assert.equal(run.summary.failedStep, 'source');
  });

  it('exits 1 at "reach" when nothing listens at the URL', async () => {
    const port = await freePort();
    const run = await smoke([`http://127.0.0.1:${port}`, '--timeout', '5']);
    assert.equal(run.code, 1, run.stdout);
    assert.match(stepLine(run.stdout, 'reach')!, /^ {2}FAIL\s+reach\s+.*no answer \(ECONNREFUSED\)/);
    for (const step of STEPS.slice(1, -1)) assert.match(stepLine(run.stdout, step)!, /^ {2}skip/, step);
    assert.equal(run.summary.failedStep, 'reach');
  });

  it('explains its usage with --help, and exits 2 on bad usage', async () => {
    const help = await smoke(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: npm run smoke -- <url>/);
    assert.match(help.stdout, /--relay/);
    const bad = await smoke(['not a url']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /not a URL/);
  });
});

interface Coturn {
  port: number;
  secret: string;
  log(): string;
  stop(): Promise<void>;
}

/** A real coturn on loopback with coturn's time-limited credentials (`use-auth-secret`), as in production. */
async function startCoturn(): Promise<Coturn> {
  const port = await freePort();
  const secret = randomBytes(18).toString('base64url');
  const minPort = randomInt(50_000, 59_000);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'onair-coturn-'));
  const child: ChildProcess = spawn(
    'turnserver',
    [
      '-n',
      '-v',
      '--simple-log',
      '--log-file=stdout',
      '--listening-ip=127.0.0.1',
      `--listening-port=${port}`,
      '--relay-ip=127.0.0.1',
      `--min-port=${minPort}`,
      `--max-port=${minPort + 100}`,
      '--use-auth-secret',
      `--static-auth-secret=${secret}`,
      '--realm=onair',
      '--no-tls',
      '--no-dtls',
      '--no-cli',
      '--allow-loopback-peers',
      '--fingerprint',
      `--pidfile=${path.join(dir, 'turnserver.pid')}`,
      `--db=${path.join(dir, 'turndb')}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitFor(() => child.exitCode !== null || /Total General servers/.test(output), 'coturn to start', {
    timeoutMs: 20_000,
  });
  if (child.exitCode !== null) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`coturn did not start:\n${output}`);
  }
  return {
    port,
    secret,
    log: () => output,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
