/**
 * X25519 for werift's DTLS through OpenSSL (node:crypto) instead of tweetnacl's JavaScript.
 *
 * Chromium offers x25519 first, so every DTLS handshake makes a key pair and derives a shared secret with it. werift
 * does both with tweetnacl: about 2.7 ms of the ~5.4 ms a handshake costs the engine's worker when 100 viewers join
 * at once (a cold JIT), 0.4 ms each when warm. OpenSSL does either in about 0.05 ms. werift reads the two functions
 * off the tweetnacl module object at each handshake, so they are replaced there, in the instance werift itself loads.
 *
 * Same answers: RFC 7748's X25519, the scalar clamped by both. A public key OpenSSL refuses (a low-order point, whose
 * shared secret is all zeros) is left to tweetnacl, as before: a peer's bad key fails its own handshake, never the
 * worker.
 */
import { createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync } from 'node:crypto';
import { createRequire } from 'node:module';

interface Nacl {
  scalarMult: ((n: Uint8Array, p: Uint8Array) => Uint8Array) & { base: (n: Uint8Array) => Uint8Array };
  box: { keyPair: () => { publicKey: Uint8Array; secretKey: Uint8Array } };
}

/** DER before the 32 key bytes: PKCS #8 of an X25519 private key, SPKI of its public key (RFC 8410). */
const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');
const KEY_BYTES = 32;

const installed = new WeakSet<object>();

/** The tweetnacl module werift loads (the one next to it, whatever the hoisting). */
function weriftNacl(): Nacl {
  return createRequire(import.meta.resolve('werift'))('tweetnacl') as Nacl;
}

/** X25519(n, p) through OpenSSL, or null when it refuses the point. */
export function nativeScalarMult(n: Uint8Array, p: Uint8Array): Uint8Array | null {
  if (n.length !== KEY_BYTES || p.length !== KEY_BYTES) return null;
  try {
    const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, n]), format: 'der', type: 'pkcs8' });
    const publicKey = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, p]), format: 'der', type: 'spki' });
    return new Uint8Array(diffieHellman({ privateKey, publicKey }));
  } catch {
    return null;
  }
}

/** A fresh X25519 key pair from OpenSSL, each key in an ArrayBuffer of its own (werift reads `.buffer`). */
export function nativeKeyPair(): { publicKey: Uint8Array; secretKey: Uint8Array } {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  const secret = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(PKCS8_PREFIX.length);
  const pub = publicKey.export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length);
  return { secretKey: new Uint8Array(secret), publicKey: new Uint8Array(pub) };
}

/** Makes werift's DTLS use OpenSSL's X25519 in this process. Idempotent. */
export function useNativeX25519(): void {
  const nacl = weriftNacl();
  if (installed.has(nacl)) return;
  const js = nacl.scalarMult;
  const scalarMult = Object.assign((n: Uint8Array, p: Uint8Array) => nativeScalarMult(n, p) ?? js(n, p), js); // with base and the lengths
  nacl.scalarMult = scalarMult;
  nacl.box.keyPair = nativeKeyPair;
  installed.add(nacl);
}

/** Whether werift's DTLS uses OpenSSL's X25519 in this process (for tests). */
export function usesNativeX25519(): boolean {
  return installed.has(weriftNacl());
}
