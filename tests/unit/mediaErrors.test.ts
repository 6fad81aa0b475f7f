import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OnairError } from '../../api/contract/errors.js';
import { contractError } from '../../api/mediaErrors.js';
import { MEDIA_ERROR_CODES, MediaError } from '../../media/errors.js';

test('every media error code becomes a contract error with the same message', () => {
  for (const code of MEDIA_ERROR_CODES) {
    const translated = contractError(new MediaError(code, `a ${code} error`));
    assert.ok(translated instanceof OnairError, code);
    assert.equal(translated.message, `a ${code} error`);
  }
});

test('media errors map to the codes clients already know', () => {
  const codeOf = (code: (typeof MEDIA_ERROR_CODES)[number]) => contractError(new MediaError(code, 'x'))?.code;
  assert.equal(codeOf('sdp.invalid'), 'sdp.invalid');
  assert.equal(codeOf('closed'), 'live.ended');
  assert.equal(codeOf('live.exists'), 'live.alreadyLive');
  assert.equal(codeOf('viewer.exists'), 'request.invalid');
  assert.equal(codeOf('server.unavailable'), 'media.unavailable');
  assert.equal(codeOf('server.full'), 'media.capacity');
});

test('contract errors pass through and anything else is left to the caller', () => {
  const own = new OnairError('live.notFound', 'no such live');
  assert.equal(contractError(own), own);
  assert.equal(contractError(new Error('boom')), undefined);
  assert.equal(contractError('boom'), undefined);
});
