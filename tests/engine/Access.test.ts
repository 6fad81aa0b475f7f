/**
 * The engine is closed to strangers: its Kurento WebSocket needs the secret in its URI and refuses
 * browser pages (any Origin header); the secret never appears on the command line or in the ready
 * line; the engine run alone refuses to start without a secret unless explicitly allowed on loopback.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { after, afterEach, before, describe, test } from 'node:test';
import { WebSocket } from 'ws';
import { call, closeClients, connectClient, startTestEngine } from './helpers/engineHarness.js';
import { RawRpc } from './helpers/RawRpc.js';

const MAIN = fileURLToPath(new URL('../../media/engine/main.ts', import.meta.url));

/** The HTTP status the upgrade of `uri` is answered with (101 when the WebSocket opens). */
function upgradeStatus(uri: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(uri, { headers });
    socket.once('open', () => {
      socket.close();
      resolve(101);
    });
    socket.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      socket.terminate();
    });
    socket.once('error', (err) => reject(err));
  });
}

/** Runs the engine's main.ts alone with `env` (no inherited ENGINE_*), until it is ready or exits. */
async function runEngineAlone(
  env: Record<string, string>,
): Promise<{ ready: string | undefined; code: number | null; output: string }> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ENGINE_')));
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), MAIN], {
    env: { ...clean, ENGINE_PORT: '0', ENGINE_WORKERS: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = once(child, 'exit');
  const ready = await new Promise<string | undefined>((resolve) => {
    const onData = (chunk: Buffer) => {
      output += String(chunk);
      const match = /onair-engine ready (\S+)/.exec(output);
      if (match) resolve(match[1]);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', () => resolve(undefined));
  });
  if (ready) child.kill('SIGTERM');
  const [code] = (await exited) as [number | null];
  return { ready, code, output };
}

describe('the engine is closed to strangers', () => {
  let engine: Awaited<ReturnType<typeof startTestEngine>>;

  before(async () => {
    engine = await startTestEngine({ workers: 0 });
  });
  after(async () => {
    await engine?.stop();
  });
  afterEach(async () => {
    await closeClients();
  });

  test('a WebSocket without the secret, or with a wrong one, is refused at the upgrade (401)', async () => {
    assert.equal(await upgradeStatus(engine.publicUri), 401);
    assert.equal(await upgradeStatus(`${engine.publicUri}?access_token=${'x'.repeat(engine.secret.length)}`), 401);
    assert.equal(await upgradeStatus(`${engine.publicUri}?access_token=${engine.secret.slice(0, -1)}`), 401);
    assert.equal(await upgradeStatus(`${engine.uri}&access_token=${engine.secret}`), 401, 'two tokens');
    assert.equal(await upgradeStatus(`${engine.publicUri}/${engine.secret}`), 404, 'elsewhere than /kurento');
  });

  test('a WebSocket with an Origin header is refused (403), even with the secret', async () => {
    assert.equal(await upgradeStatus(engine.uri, { origin: 'http://localhost:8080' }), 403);
    assert.equal(await upgradeStatus(engine.uri, { origin: 'null' }), 403);
    assert.equal(await upgradeStatus(engine.uri), 101);
  });

  test('kurento-client and a raw JSON-RPC client with the right URI work', async () => {
    const client = await connectClient(engine.uri);
    const pipeline = await client.create('MediaPipeline');
    await call((cb) => pipeline.setName('reached', cb));
    assert.equal(await call((cb) => pipeline.getName(cb)), 'reached');
    await call((cb) => pipeline.release(cb));
    const raw = await RawRpc.open(engine.uri);
    assert.equal((await raw.ok('ping')).value, 'pong');
    await raw.close();
  });

  test('the secret is on neither the command line nor the ready line', async () => {
    const cmdline = await readFile(`/proc/${engine.pid}/cmdline`, 'utf8');
    assert.ok(!cmdline.includes(engine.secret), 'the secret is on the command line');
    assert.ok(!engine.publicUri.includes(engine.secret));
    assert.ok(!engine.logs.some((line) => line.includes(engine.secret)), 'the secret was printed');
  });

  test('run alone, the engine refuses to start without ENGINE_SECRET unless allowed on loopback', async () => {
    const missing = await runEngineAlone({});
    assert.equal(missing.ready, undefined);
    assert.notEqual(missing.code, 0);
    assert.match(missing.output, /ENGINE_SECRET is required/);

    const weak = await runEngineAlone({ ENGINE_SECRET: 'short' });
    assert.equal(weak.ready, undefined);
    assert.match(weak.output, /ENGINE_SECRET must be at least 16/);

    const exposed = await runEngineAlone({ ENGINE_NO_SECRET: 'true', ENGINE_HOST: '0.0.0.0' });
    assert.equal(exposed.ready, undefined);
    assert.match(exposed.output, /refused on a non-loopback ENGINE_HOST/);

    const loopback = await runEngineAlone({ ENGINE_NO_SECRET: 'true' });
    assert.match(loopback.ready ?? '', /^ws:\/\/127\.0\.0\.1:\d+\/kurento$/);
    assert.equal(loopback.code, 0);
  });
});
