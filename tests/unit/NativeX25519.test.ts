/**
 * The engine's X25519 for werift's DTLS (media/engine/rtp/NativeX25519.ts): RFC 7748 6.1's Diffie-Hellman vectors,
 * the same answers as tweetnacl for fresh keys both ways, key pairs whose public key is the secret's, a low-order
 * point left to tweetnacl (all zeros, no throw), and werift's own tweetnacl using it once installed.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';
import {
  nativeKeyPair,
  nativeScalarMult,
  useNativeX25519,
  usesNativeX25519,
} from '../../media/engine/rtp/NativeX25519.js';

const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const same = (a: Uint8Array | null, b: Uint8Array) =>
  assert.equal(Buffer.from(a ?? []).toString('hex'), Buffer.from(b).toString('hex'));

interface Nacl {
  scalarMult: ((n: Uint8Array, p: Uint8Array) => Uint8Array) & {
    base: (n: Uint8Array) => Uint8Array;
    scalarLength: number;
  };
  box: { keyPair: () => { publicKey: Uint8Array; secretKey: Uint8Array } };
}
const nacl = createRequire(import.meta.resolve('werift'))('tweetnacl') as Nacl;
const js = { scalarMult: nacl.scalarMult, keyPair: nacl.box.keyPair };

// RFC 7748, section 6.1.
const ALICE_PRIVATE = hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
const ALICE_PUBLIC = hex('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
const BOB_PRIVATE = hex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb');
const BOB_PUBLIC = hex('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');
const SHARED = hex('4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742');

describe('X25519 from OpenSSL for werift', () => {
  test("agrees with RFC 7748's vectors both ways", () => {
    same(nativeScalarMult(ALICE_PRIVATE, BOB_PUBLIC), SHARED);
    same(nativeScalarMult(BOB_PRIVATE, ALICE_PUBLIC), SHARED);
    same(js.scalarMult(ALICE_PRIVATE, BOB_PUBLIC), SHARED);
  });

  test('makes key pairs whose shared secrets tweetnacl derives alike', () => {
    for (let i = 0; i < 20; i++) {
      const ours = nativeKeyPair();
      const theirs = js.keyPair();
      assert.equal(ours.secretKey.buffer.byteLength, 32, 'werift reads the key through its .buffer');
      assert.equal(ours.publicKey.buffer.byteLength, 32);
      same(ours.publicKey, nacl.scalarMult.base(ours.secretKey));
      const secret = js.scalarMult(theirs.secretKey, ours.publicKey);
      same(nativeScalarMult(ours.secretKey, theirs.publicKey), secret);
    }
  });

  test('leaves a key OpenSSL refuses to tweetnacl: a low-order point gives zeros, never a throw', () => {
    const zeroPoint = new Uint8Array(32);
    assert.equal(nativeScalarMult(ALICE_PRIVATE, zeroPoint), null);
    assert.equal(nativeScalarMult(ALICE_PRIVATE, new Uint8Array(31)), null, 'a short key');
    useNativeX25519();
    same(nacl.scalarMult(ALICE_PRIVATE, zeroPoint), new Uint8Array(32));
  });

  test("replaces werift's own tweetnacl functions, keeping their other parts", () => {
    useNativeX25519();
    useNativeX25519(); // idempotent
    assert.equal(usesNativeX25519(), true);
    assert.notEqual(nacl.box.keyPair, js.keyPair);
    assert.notEqual(nacl.scalarMult, js.scalarMult);
    assert.equal(nacl.scalarMult.base, js.scalarMult.base);
    assert.equal(nacl.scalarMult.scalarLength, 32);
    same(nacl.scalarMult(ALICE_PRIVATE, BOB_PUBLIC), SHARED);
    const pair = nacl.box.keyPair();
    same(pair.publicKey, js.scalarMult.base(pair.secretKey));
  });
});
