/**
 * `npm run smoke`: the script run as an operator runs it (a child process, `tsx smoke/main.ts <url>`) against a real
 * test server with the embedded media engine, and against deployments where a step must fail.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pipelineCount } from '../support/media.js';
import { startTestServer, type TestServer } from '../support/server.js';

const root = path.resolve(import.meta.dirname, '../..');
const STEPS = [
  'source',
  'reach',
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

function smoke(args: string[], timeoutMs = 150_000): Promise<SmokeRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', path.join(root, 'smoke', 'main.ts'), ...args],
      { cwd: root, timeout: timeoutMs, maxBuffer: 4 * 1024 * 1024 },
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

describe('npm run smoke against a deployment with media', () => {
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
});

describe('npm run smoke when a step fails', () => {
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
    for (const step of ['source', 'reach', 'signup', 'connect']) assert.match(stepLine(run.stdout, step)!, /^  ok/);
    assert.match(
      stepLine(run.stdout, 'golive')!,
      /^  FAIL\s+golive\s+\d+\.\d\d s  presenter:start refused: media\.unavailable/,
    );
    for (const step of ['watch', 'stop', 'recording', 'playback', 'seek', 'call', 'hangup']) {
      assert.match(stepLine(run.stdout, step)!, /^  skip/, step);
    }
    assert.match(stepLine(run.stdout, 'cleanup')!, /^  ok/);
    assert.match(run.stdout, /smoke: FAILED at step "golive"/);
    assert.equal(run.summary.ok, false);
    assert.equal(run.summary.failedStep, 'golive');
  });

  it('exits 1 at "reach" when nothing listens at the URL', async () => {
    const port = await freePort();
    const run = await smoke([`http://127.0.0.1:${port}`, '--timeout', '5']);
    assert.equal(run.code, 1, run.stdout);
    assert.match(stepLine(run.stdout, 'reach')!, /^  FAIL\s+reach\s+.*no answer \(ECONNREFUSED\)/);
    assert.match(stepLine(run.stdout, 'signup')!, /^  skip/);
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

/** A loopback port with nothing listening on it (bound, then released). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}
