import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { Router } from 'express';
import { OnairError } from '../../api/contract/errors.js';
import { createLogger } from '../../api/logger.js';
import { registerUser } from '../../drivers/http.js';
import { startTestServer, type TestServer } from '../support/server.js';

/** A logger whose JSON lines the test can read. */
function capturedLogger() {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return {
    log: createLogger('info', stream),
    text: () => chunks.join(''),
    lines: () =>
      chunks
        .join('')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, any>),
  };
}

describe('errors and request logs', () => {
  const captured = capturedLogger();
  let srv: TestServer;
  before(async () => {
    const extra = Router();
    extra.get('/crash', () => {
      throw new Error('kaboom: secret internals');
    });
    extra.get('/refuse', () => {
      throw new OnairError('live.notFound', 'no live with id "abc"');
    });
    srv = await startTestServer({
      db: 'sqlite',
      server: { log: captured.log, frontDir: null, routers: [{ path: '/api/test', router: extra }] },
    });
  });
  after(async () => {
    await srv?.close();
  });

  test('an unexpected error answers 500 internal without its details, and is logged once with them', async () => {
    const res = await srv.http.get('/api/test/crash', { headers: { 'x-request-id': 'req-crash-1' } });
    assert.equal(res.status, 500);
    assert.deepEqual(res.body, { error: { code: 'internal', message: 'something went wrong on our side' } });
    assert.equal(res.headers.get('x-request-id'), 'req-crash-1');
    const lines = captured.lines().filter((l) => l.req?.id === 'req-crash-1');
    assert.equal(lines.length, 1, 'one log line for the request');
    assert.equal(lines[0]!.level, 50);
    assert.match(lines[0]!.err.message, /kaboom/);
    assert.match(lines[0]!.err.stack, /app\.test\.ts/);
  });

  test('an OnairError answers its status and code, logged once at warn with the code', async () => {
    const res = await srv.http.get('/api/test/refuse', { headers: { 'x-request-id': 'req-refuse-1' } });
    assert.equal(res.status, 404);
    assert.deepEqual(res.body, { error: { code: 'live.notFound', message: 'no live with id "abc"' } });
    const lines = captured.lines().filter((l) => l.req?.id === 'req-refuse-1');
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.level, 40);
    assert.equal(lines[0]!.errorCode, 'live.notFound');
  });

  test('unknown API routes and methods answer 404 request.notFound in the one error shape', async () => {
    for (const [method, route] of [
      ['GET', '/api/nothing'],
      ['GET', '/api/auth/login'],
      ['DELETE', '/api/me'],
      ['PUT', '/api'],
      ['GET', '/elsewhere'],
    ] as const) {
      const res = await srv.http.request(method, route);
      assert.equal(res.status, 404, `${method} ${route}`);
      assert.equal(res.body.error.code, 'request.notFound', `${method} ${route}`);
    }
  });

  test('a path parameter that is not valid percent-encoding answers 400 request.invalid, not a 500', async () => {
    const user = await registerUser(srv.url);
    const res = await user.client.get('/api/lives/%c0%af');
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, 'request.invalid');
  });

  test('tokens, passwords and authorization headers never reach the log', async () => {
    const user = await registerUser(srv.url);
    await user.client.get('/api/me');
    await srv.http.post('/api/auth/login', { nickname: user.nickname, password: user.password });
    const text = captured.text();
    assert.ok(!text.includes(user.token), 'token');
    assert.ok(!text.includes(user.password), 'password');
    assert.doesNotMatch(text, /authorization|Bearer/i);
  });

  test('a request id from the client is kept only when it is well-formed', async () => {
    const res = await srv.http.get('/healthz', { headers: { 'x-request-id': 'bad id with spaces' } });
    assert.match(res.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
  });
});

describe('security headers', () => {
  test('over http: a CSP for the Vue app, blob: media and same-origin sockets; no HSTS; no X-Powered-By', async () => {
    const srv = await startTestServer({ db: 'sqlite' });
    try {
      const res = await srv.http.get('/healthz');
      const csp = res.headers.get('content-security-policy') ?? '';
      for (const directive of [
        "default-src 'self'",
        "script-src 'self'",
        "media-src 'self' blob:",
        "img-src 'self' data: blob:",
        "frame-ancestors 'none'",
        "object-src 'none'",
      ]) {
        assert.ok(csp.includes(directive), `${directive} in ${csp}`);
      }
      assert.match(csp, new RegExp(`connect-src 'self' ws://localhost:${srv.server.port}`));
      assert.doesNotMatch(csp, /upgrade-insecure-requests/);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(res.headers.get('strict-transport-security'), null);
      assert.equal(res.headers.get('x-powered-by'), null);
    } finally {
      await srv.close();
    }
  });

  test('behind https: HSTS, upgrade-insecure-requests and wss: sockets', async () => {
    const srv = await startTestServer({ db: 'sqlite', env: { PUBLIC_URL: 'https://onair.example.org' } });
    try {
      const res = await srv.http.get('/healthz');
      const csp = res.headers.get('content-security-policy') ?? '';
      assert.match(csp, /upgrade-insecure-requests/);
      assert.match(csp, /connect-src 'self' wss:\/\/onair\.example\.org/);
      assert.match(res.headers.get('strict-transport-security') ?? '', /max-age=\d+/);
    } finally {
      await srv.close();
    }
  });
});

describe('the built front end', () => {
  let dir: string;
  let srv: TestServer;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'onair-front-'));
    await mkdir(path.join(dir, 'assets'));
    await writeFile(path.join(dir, 'index.html'), '<!doctype html><title>onair</title><div id="app"></div>');
    await writeFile(path.join(dir, 'assets', 'index-abc123.js'), 'console.log("onair")');
    await writeFile(path.join(dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    srv = await startTestServer({ db: 'sqlite', server: { frontDir: dir } });
  });
  after(async () => {
    await srv?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('serves index.html at / and for client-side routes, never cached', async () => {
    for (const route of ['/', '/live/abc123def456', '/recordings', '/login']) {
      const res = await srv.http.get(route, { headers: { accept: 'text/html' } });
      assert.equal(res.status, 200, route);
      assert.match(res.text, /<title>onair<\/title>/, route);
      assert.equal(res.headers.get('cache-control'), 'no-cache', route);
    }
  });

  test('serves hashed assets with a long immutable cache and other files revalidated', async () => {
    const asset = await srv.http.get('/assets/index-abc123.js');
    assert.equal(asset.status, 200);
    assert.match(asset.headers.get('content-type') ?? '', /javascript/);
    assert.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    const icon = await srv.http.get('/favicon.svg');
    assert.equal(icon.status, 200);
    assert.equal(icon.headers.get('cache-control'), 'no-cache');
  });

  test('keeps API, health and missing files out of the fallback', async () => {
    const api = await srv.http.get('/api/unknown', { headers: { accept: 'text/html' } });
    assert.equal(api.status, 404);
    assert.equal(api.body.error.code, 'request.notFound');
    assert.equal((await srv.http.get('/assets/gone-999.js')).status, 404);
    assert.equal((await srv.http.get('/healthz', { headers: { accept: 'text/html' } })).status, 200);
    const traversal = await srv.http.get('/assets/..%2f..%2f..%2fetc%2fpasswd');
    assert.equal(traversal.status, 404);
    assert.doesNotMatch(traversal.text, /root:/);
  });
});
