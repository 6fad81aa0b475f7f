import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createLogger } from '../../api/logger.js';

function capture(): { stream: Writable; lines: () => Array<Record<string, unknown>> } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return {
    stream,
    lines: () =>
      chunks
        .join('')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
  };
}

test('the logger redacts credentials, tokens and authorization headers', () => {
  const { stream, lines } = capture();
  const log = createLogger('info', stream);
  log.info(
    {
      req: { headers: { authorization: 'Bearer abc.def', cookie: 'sid=1', host: 'x' } },
      password: 'hunter22',
      user: { token: 't0k' },
    },
    'hello',
  );
  const [line] = lines();
  const text = JSON.stringify(line);
  for (const secret of ['abc.def', 'sid=1', 'hunter22', 't0k']) assert.doesNotMatch(text, new RegExp(secret));
  assert.equal((line as any).req.headers.host, 'x');
  assert.equal((line as any).msg, 'hello');
});

test('the logger honours its level', () => {
  const { stream, lines } = capture();
  const log = createLogger('warn', stream);
  log.info('quiet');
  log.warn('loud');
  assert.deepEqual(
    lines().map((l) => l.msg),
    ['loud'],
  );
});
