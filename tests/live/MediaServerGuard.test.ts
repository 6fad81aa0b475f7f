/**
 * MediaServer.guard() (every media-server call races the loss of the connection) must not keep what its calls
 * resolved with: a `Promise.race` against one long-lived "lost" promise did, so every viewer's endpoint that ever
 * joined stayed in the API's memory (found by bench:soak).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';
import { createLogger } from '../../api/logger.js';
import { spawnEngine, type SpawnedEngine } from '../../media/engine/spawn.js';
import { MediaServer } from '../../media/MediaServer.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

let engine: SpawnedEngine;
let server: MediaServer;

before(async () => {
  engine = await spawnEngine({ host: '127.0.0.1', port: 0, workers: 0 });
  server = await MediaServer.connect({ uri: engine.uri, log: createLogger('silent') });
});

after(async () => {
  await server?.close();
  await engine?.stop();
});

test('what a guarded call resolved with is collected once the call is over', async () => {
  const refs: Array<WeakRef<object>> = [];
  // Each in a function of its own, so that nothing but the guard could still hold it.
  const resolved = async (i: number) => {
    const held = { payload: new Array(1000).fill(i) };
    refs.push(new WeakRef(held));
    assert.equal(await server.guard(Promise.resolve(held)), held);
  };
  const rejected = async () => {
    const failed = new Error('refused');
    refs.push(new WeakRef(failed));
    await assert.rejects(server.guard(Promise.reject(failed)));
  };
  for (let i = 0; i < 20; i++) await resolved(i);
  await rejected();

  for (let i = 0; i < 5 && refs.some((r) => r.deref() !== undefined); i++) {
    await new Promise((resolve) => setImmediate(resolve));
    gc();
  }
  assert.equal(refs.filter((r) => r.deref() !== undefined).length, 0, 'guarded results still held');
});

test('a guarded call still answers with the call’s own outcome', async () => {
  assert.equal(await server.guard(Promise.resolve(42)), 42);
  await assert.rejects(server.guard(Promise.reject(new Error('no'))), /no/);
  assert.ok(Array.isArray(await server.pipelineIds()));
});
