import assert from 'node:assert/strict';
import { test } from 'node:test';
import { freePort, newEngineSecret, spawnEngine, type SpawnedEngine } from '../../media/engine/spawn.js';
import { connectKurento, listPipelines } from '../../media/kurento.js';
import { waitFor } from '../../drivers/wait.js';

test('a media server restarting under a connected, busy client raises no uncaught exception', async () => {
  const uncaught: unknown[] = [];
  const onUncaught = (error: unknown) => uncaught.push(error);
  process.on('uncaughtException', onUncaught);
  const port = await freePort();
  // The same address and secret each time, as the API restarts its engine.
  const env = { ENGINE_SECRET: newEngineSecret() };
  let engine: SpawnedEngine = await spawnEngine({ host: '127.0.0.1', port, workers: 0, env });
  const socketErrors: string[] = [];
  const { client } = await connectKurento(engine.uri, {
    onSocketError: (e) => socketErrors.push((e as NodeJS.ErrnoException).code ?? e.message),
  });
  let reconnections = 0;
  client.on('reconnected', () => reconnections++);
  let busy = true;
  const load = (async () => {
    while (busy) {
      await Promise.all([1, 2, 3, 4].map(() => listPipelines(client).catch(() => undefined)));
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  try {
    for (let round = 1; round <= 3; round++) {
      engine.kill('SIGKILL');
      await new Promise((r) => setTimeout(r, 150 * round));
      engine = await spawnEngine({ host: '127.0.0.1', port, workers: 0, env });
      await waitFor(() => reconnections >= round, `reconnection ${round}`, { timeoutMs: 30_000 });
      assert.ok(Array.isArray(await listPipelines(client)));
    }
  } finally {
    busy = false;
    await load;
    client.close();
    await engine.stop();
    process.off('uncaughtException', onUncaught);
  }
  assert.deepEqual(uncaught, []);
  assert.ok(socketErrors.length > 0, 'the restarts were seen as socket errors');
});

test('a connection closed with a request in flight stops at once: no reconnection once its media server is gone', async () => {
  const engine = await spawnEngine({ host: '127.0.0.1', port: await freePort(), workers: 0 });
  const { client } = await connectKurento(engine.uri, { onSocketError: () => undefined });
  let attempts = 0;
  try {
    assert.ok(Array.isArray(await listPipelines(client)));
    client._re.on('reconnect', () => attempts++);
    // The engine stops answering: the next request stays in flight (kurento-client's own close() would wait for
    // its answer, or its timeout, before ending the socket, and reconnect meanwhile).
    process.kill(engine.pid, 'SIGSTOP');
    void listPipelines(client).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 100));
    client.close();
    engine.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(attempts, 0, 'reconnection attempts after close');
  } finally {
    await engine.stop();
  }
});
