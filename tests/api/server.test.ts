import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, test } from 'node:test';
import { Router } from 'express';
import { WebSocket, WebSocketServer } from 'ws';
import { loadConfig } from '../../api/config.js';
import { startServer } from '../../api/server.js';
import { createTestDatabase } from '../support/db.js';
import { startTestServer } from '../support/server.js';
import { skipUnless } from '../support/services.js';
import { waitFor } from '../../drivers/wait.js';

describe('startServer()', () => {
  test('derives the public URL from the real port when PORT=0 and PUBLIC_URL is unset', async () => {
    const srv = await startTestServer({ db: 'sqlite' });
    try {
      assert.equal(srv.config.publicUrl, `http://localhost:${srv.server.port}`);
      assert.equal(srv.url, `http://127.0.0.1:${srv.server.port}`);
    } finally {
      await srv.close();
    }
  });

  test('close() is idempotent and releases the port, the store and the database', async () => {
    const srv = await startTestServer({ db: 'sqlite' });
    const { server } = srv;
    const first = server.close();
    assert.equal(server.close(), first);
    await first;
    assert.equal(server.httpServer.listening, false);
    assert.equal(await server.store.ping(), false);
    assert.equal(await server.db.ping(), false);
    await assert.rejects(fetch(`${srv.url}/healthz`));
    await srv.close();
  });

  test('close() lets a request in flight finish', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let arrived = false;
    const slow = Router();
    slow.get('/', async (_req, res) => {
      arrived = true;
      await gate;
      res.json({ done: true });
    });
    const srv = await startTestServer({ db: 'sqlite', server: { routers: [{ path: '/api/slow', router: slow }] } });
    const answer = fetch(`${srv.url}/api/slow`).then(async (r) => ({ status: r.status, body: await r.json() }));
    await waitFor(() => arrived, 'the slow request to arrive');
    const closing = srv.close();
    release();
    assert.deepEqual(await answer, { status: 200, body: { done: true } });
    await closing;
  });

  test('close() does not wait forever for an open WebSocket', async () => {
    const srv = await startTestServer({ db: 'sqlite' });
    const wss = new WebSocketServer({ server: srv.server.httpServer, path: '/ws-test' });
    const client = new WebSocket(`${srv.url.replace('http', 'ws')}/ws-test`);
    await new Promise((resolve, reject) => client.once('open', resolve).once('error', reject));
    const closedByServer = new Promise((resolve) => client.once('close', resolve));
    await srv.close();
    await closedByServer;
    wss.close();
  });

  test('a port in use rejects, releasing what was opened', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    const db = await createTestDatabase('sqlite');
    try {
      const config = loadConfig({
        PORT: String(port),
        HOST: '127.0.0.1',
        DATABASE_URL: db.url,
        LOG_LEVEL: 'silent',
        RECORDINGS_DIR: db.name + '.rec',
        SIGNING_SECRET: 'x'.repeat(20),
      });
      await assert.rejects(startServer(config), /EADDRINUSE/);
    } finally {
      blocker.close();
      await db.drop();
    }
  });

  test('an unreachable Redis rejects start-up naming it', { skip: skipUnless('redis') }, async () => {
    const db = await createTestDatabase('sqlite');
    try {
      const config = loadConfig({
        PORT: '0',
        DATABASE_URL: db.url,
        REDIS_URL: 'redis://127.0.0.1:1',
        LOG_LEVEL: 'silent',
        RECORDINGS_DIR: db.name + '.rec',
        SIGNING_SECRET: 'x'.repeat(20),
      });
      await assert.rejects(startServer(config), /cannot reach Redis at 127\.0\.0\.1:1/);
    } finally {
      await db.drop();
    }
  });
});
