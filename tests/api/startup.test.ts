/**
 * Start-up: the HTTP server listens before the app is ready (socket.io attaches to it, and PORT=0 is only known
 * then). Every request that reaches it in that window gets an answer: 503 `server.starting` with Retry-After, and
 * the app itself once start-up has ended. A request is never left hanging.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { test } from 'node:test';
import { freePort } from '../../media/engine/spawn.js';
import { startTestServer } from '../support/server.js';
import { skipUnless } from '../support/services.js';

type Outcome = { status: number; code?: string; retryAfter?: string } | 'refused' | 'no answer';

/** One GET /healthz; 'no answer' if nothing comes back within `timeoutMs`. */
function probe(port: number, timeoutMs: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/healthz', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        clearTimeout(timer);
        let code: string | undefined;
        try {
          code = (JSON.parse(body) as { error?: { code?: string } }).error?.code;
        } catch {
          code = undefined;
        }
        const retryAfter = res.headers['retry-after'];
        resolve({ status: res.statusCode ?? 0, ...(code ? { code } : {}), ...(retryAfter ? { retryAfter } : {}) });
      });
    });
    const timer = setTimeout(() => {
      req.destroy();
      resolve('no answer');
    }, timeoutMs);
    req.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(err.code === 'ECONNREFUSED' ? 'refused' : 'no answer');
    });
  });
}

test(
  'every request sent while the server starts gets an answer: 503 server.starting, then the app',
  { skip: skipUnless('ffmpeg'), timeout: 120_000 },
  async () => {
    const port = await freePort();
    // The embedded engine makes start-up last a second or more after the HTTP server listens.
    const starting = startTestServer({ db: 'sqlite', env: { PORT: String(port) }, server: { media: {} } });
    let started = false;
    const done = starting.then(
      () => (started = true),
      () => (started = true),
    );
    const pending: Array<Promise<Outcome>> = [];
    while (!started) {
      pending.push(probe(port, 15_000));
      await Promise.race([done, new Promise((r) => setTimeout(r, 20))]);
    }
    const srv = await starting;
    try {
      const outcomes = await Promise.all(pending);
      const answered = outcomes.filter((o): o is Exclude<Outcome, string> => typeof o === 'object');
      assert.equal(outcomes.filter((o) => o === 'no answer').length, 0, 'a request sent during start-up got no answer');
      const early = answered.filter((o) => o.status === 503);
      assert.ok(early.length > 0, `some requests reached the server while it was starting (${outcomes.length} sent)`);
      for (const o of early) {
        assert.equal(o.code, 'server.starting');
        assert.equal(o.retryAfter, '1');
      }
      const after = await probe(port, 15_000);
      assert.ok(typeof after === 'object' && after.status === 200, `healthy once started: ${JSON.stringify(after)}`);
    } finally {
      await srv.close();
    }
  },
);
