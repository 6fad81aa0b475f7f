import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import { payloadProblem } from '../../api/signalling/payload.js';
import { forwardedAddress } from '../../api/signalling/SignallingServer.js';

test('payloadProblem() measures size and depth without recursion', () => {
  assert.equal(payloadProblem({ liveId: 'abc', candidate: { candidate: 'x', sdpMid: '0' } }, 1000, 16), null);
  assert.equal(payloadProblem(undefined, 1000, 16), null);
  assert.equal(payloadProblem('x'.repeat(2000), 1000, 16), 'tooLarge');
  assert.equal(payloadProblem({ a: ['y'.repeat(600), 'z'.repeat(600)] }, 1000, 16), 'tooLarge');
  const deep = JSON.parse('['.repeat(100_000) + ']'.repeat(100_000)) as unknown;
  assert.equal(payloadProblem(deep, 1_000_000, 16), 'tooDeep');
  let nested: unknown = 1;
  for (let i = 0; i < 16; i++) nested = { a: nested };
  assert.equal(payloadProblem(nested, 1000, 16), null, '16 levels are fine');
  assert.equal(payloadProblem({ a: nested }, 1000, 16), 'tooDeep');
});

test('forwardedAddress() follows TRUST_PROXY as express does', () => {
  const req = (xff?: string) =>
    ({
      socket: { remoteAddress: '10.0.0.1' },
      headers: xff === undefined ? {} : { 'x-forwarded-for': xff },
    }) as unknown as IncomingMessage;
  assert.equal(forwardedAddress(false)(req('1.1.1.1')), '10.0.0.1', 'no proxy trusted: the peer');
  assert.equal(forwardedAddress(true)(req('1.1.1.1, 2.2.2.2')), '1.1.1.1', 'every proxy trusted: the first');
  assert.equal(forwardedAddress(1)(req('6.6.6.6, 1.1.1.1')), '1.1.1.1', 'one hop: what our proxy saw');
  assert.equal(forwardedAddress(2)(req('6.6.6.6, 1.1.1.1')), '6.6.6.6');
  assert.equal(forwardedAddress(5)(req('1.1.1.1')), '1.1.1.1', 'more hops than addresses: the first');
  assert.equal(forwardedAddress(1)(req()), '10.0.0.1', 'no header: the peer');
});
