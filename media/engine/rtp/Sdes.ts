/**
 * An RtpEndpoint's SDES settings (kurento-client's `crypto: { crypto, key | keyBase64 }`), as KMS
 * reads them: the suite is one of the CryptoSuite enum; the master key+salt is 30 bytes for AES-128
 * and 46 for AES-256, given as text (`key`) or base64 (`keyBase64`), random when absent. The same
 * key serves every media section, with tag 1 in an offer and the offer's tag in an answer. An
 * offered key is accepted only with this endpoint's own suite.
 */
import { randomBytes } from 'node:crypto';
import type { Params } from '../protocol/JsonRpc.js';
import { KurentoError } from '../protocol/KurentoError.js';
import type { MediaKind } from './MediaTypes.js';
import type { SdesKey } from './RtpSdp.js';
import { SALT_BYTES, SRTP_SUITES, SrtpProtection, type SrtpSuite } from './Srtp.js';

/** kurento-client's CryptoSuite names and the SDP names they stand for. */
const KURENTO_SUITES: Readonly<Record<string, string>> = {
  AES_128_CM_HMAC_SHA1_32: 'AES_CM_128_HMAC_SHA1_32',
  AES_128_CM_HMAC_SHA1_80: 'AES_CM_128_HMAC_SHA1_80',
  AES_256_CM_HMAC_SHA1_32: 'AES_256_CM_HMAC_SHA1_32',
  AES_256_CM_HMAC_SHA1_80: 'AES_256_CM_HMAC_SHA1_80',
};

export class SdesCrypto {
  readonly #masterKey: Buffer;
  /** The tag of the remote's key each section answered (1 in an offer of ours). */
  readonly #tags = new Map<MediaKind, number>();

  private constructor(
    readonly suite: SrtpSuite,
    masterKey: Buffer,
  ) {
    this.#masterKey = masterKey;
  }

  /** The constructor's `crypto` param; undefined (plain RTP) when absent or without a suite. */
  static fromParam(param: Params | undefined): SdesCrypto | undefined {
    if (!param || param.crypto === undefined || param.crypto === null) return undefined;
    const name = typeof param.crypto === 'string' ? KURENTO_SUITES[param.crypto] : undefined;
    const suite = SRTP_SUITES.find((s) => s.sdpName === name);
    if (!suite) {
      throw new KurentoError(
        'MARSHALL_ERROR',
        `'crypto.crypto' should be one of ${Object.keys(KURENTO_SUITES).join(', ')}`,
      );
    }
    const size = suite.keyBytes + SALT_BYTES;
    let key: Buffer;
    if (typeof param.keyBase64 === 'string' && param.keyBase64 !== '') {
      key = Buffer.from(param.keyBase64, 'base64');
    } else if (typeof param.key === 'string' && param.key !== '') {
      key = Buffer.from(param.key, 'utf8');
    } else {
      key = randomBytes(size);
    }
    if (key.length !== size) {
      throw new KurentoError(
        'MEDIA_OBJECT_ILLEGAL_PARAM_ERROR',
        `The master key of ${suite.sdpName} must be ${size} bytes (got ${key.length})`,
      );
    }
    return new SdesCrypto(suite, key);
  }

  get sdpSuite(): string {
    return this.suite.sdpName;
  }

  /** This endpoint's key line for a section (the tag of the offer it answers, else 1). */
  localKey(kind: MediaKind): SdesKey {
    return { tag: this.#tags.get(kind) ?? 1, suite: this.suite.sdpName, keyBase64: this.#masterKey.toString('base64') };
  }

  /** Whether an SDP section's keys include one this endpoint can use. */
  accepts(keys: readonly SdesKey[]): boolean {
    return this.#usable(keys) !== undefined;
  }

  /** Notes the remote key a section is answered with (its tag goes into the answer). */
  answering(kind: MediaKind, keys: readonly SdesKey[]): void {
    const key = this.#usable(keys);
    if (key) this.#tags.set(kind, key.tag);
  }

  /** The SRTP contexts of a negotiated section: this endpoint's key out, the remote's in. */
  protection(keys: readonly SdesKey[]): SrtpProtection | undefined {
    const remote = this.#usable(keys);
    if (!remote) return undefined;
    const remoteKey = Buffer.from(remote.keyBase64, 'base64');
    const split = (b: Buffer) => ({ key: b.subarray(0, this.suite.keyBytes), salt: b.subarray(this.suite.keyBytes) });
    return new SrtpProtection(this.suite, split(this.#masterKey), split(remoteKey));
  }

  #usable(keys: readonly SdesKey[]): SdesKey | undefined {
    const size = this.suite.keyBytes + SALT_BYTES;
    return keys.find((k) => k.suite === this.suite.sdpName && Buffer.from(k.keyBase64, 'base64').length === size);
  }
}
