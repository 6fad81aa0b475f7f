/**
 * The engine's SRTP (media/engine/rtp/Srtp.ts) against published vectors: RFC 3711 B.3 and
 * RFC 6188 7.2 master keys, protecting libsrtp's reference packet (SSRC 0xcafebabe, sequence
 * 0x1234); the 32-bit tag suites truncate the same tag; tampering and a wrong key are refused;
 * SRTCP round-trips and is refused with a wrong key; the rollover counter follows a wrap.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SRTP_SUITES, SrtpProtection, type SrtpSuite } from '../../media/engine/rtp/Srtp.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const suite = (name: string): SrtpSuite => SRTP_SUITES.find((s) => s.sdpName === name)!;

const PLAIN = hex('800f1234decafbadcafebabe' + 'ab'.repeat(16));
const VECTORS = [
  {
    name: 'AES_CM_128',
    key: hex('e1f97a0d3e018be0d64fa32c06de4139'),
    salt: hex('0ec675ad498afeebb6960b3aabe6'),
    cipher: hex('4e55dc4ce79978d88ca4d215949d2402'),
    tag: hex('b78d6acc99ea179b8dbb'),
  },
  {
    name: 'AES_256_CM',
    key: hex('f0f04914b513f2763a1b1fa130f10e2998f6f6e43e4309d1e622a0e332b9f1b6'),
    salt: hex('3b04803de51ee7c96423ab5b78d2'),
    cipher: hex('f1d9de17ff251ff1aa007774b0b4b40d'),
    tag: hex('a08d9d9a5b3a55d8873b'),
  },
];

describe('SRTP (AES-CM, HMAC-SHA1)', () => {
  for (const v of VECTORS) {
    for (const bits of [80, 32] as const) {
      const name = `${v.name}_HMAC_SHA1_${bits}`;
      test(`${name} protects the reference packet as libsrtp does, and unprotects it`, () => {
        const keys = { key: v.key, salt: v.salt };
        const protection = new SrtpProtection(suite(name), keys, keys);
        const wire = protection.protectRtp(PLAIN);
        const tag = v.tag.subarray(0, bits === 80 ? 10 : 4);
        assert.equal(wire.toString('hex'), Buffer.concat([PLAIN.subarray(0, 12), v.cipher, tag]).toString('hex'));
        assert.deepEqual(protection.unprotectRtp(wire), PLAIN);
        const tampered = Buffer.from(wire);
        tampered[14]! ^= 1;
        assert.equal(protection.unprotectRtp(tampered), undefined);
      });
    }
  }

  test('a wrong key is refused for SRTP and SRTCP; SRTCP round-trips with the right one', () => {
    const s = suite('AES_CM_128_HMAC_SHA1_80');
    const a = { key: Buffer.alloc(16, 1), salt: Buffer.alloc(14, 2) };
    const b = { key: Buffer.alloc(16, 3), salt: Buffer.alloc(14, 4) };
    const sender = new SrtpProtection(s, a, b);
    const receiver = new SrtpProtection(s, b, a);
    const wrong = new SrtpProtection(s, b, b);
    const rtcp = hex('81c90007' + '11223344' + '55667788' + '00'.repeat(20));
    const protectedRtcp = sender.protectRtcp(rtcp);
    assert.notDeepEqual(protectedRtcp.subarray(8, rtcp.length), rtcp.subarray(8));
    assert.deepEqual(receiver.unprotectRtcp(protectedRtcp), rtcp);
    assert.equal(wrong.unprotectRtcp(protectedRtcp), undefined);
    const rtp = sender.protectRtp(PLAIN);
    assert.deepEqual(receiver.unprotectRtp(rtp), PLAIN);
    assert.equal(wrong.unprotectRtp(rtp), undefined);
  });

  test('a replayed SRTP packet is refused; a late one not seen before is accepted', () => {
    const s = suite('AES_CM_128_HMAC_SHA1_80');
    const keys = { key: Buffer.alloc(16, 5), salt: Buffer.alloc(14, 6) };
    const sender = new SrtpProtection(s, keys, keys);
    const receiver = new SrtpProtection(s, keys, keys);
    const wire = [10, 11, 12, 13].map((seq) => {
      const packet = Buffer.from(PLAIN);
      packet.writeUInt16BE(seq, 2);
      return sender.protectRtp(packet);
    });
    assert.ok(receiver.unprotectRtp(wire[0]!));
    assert.ok(receiver.unprotectRtp(wire[2]!));
    assert.ok(receiver.unprotectRtp(wire[3]!));
    assert.equal(receiver.unprotectRtp(wire[2]!), undefined, 'a replay');
    assert.ok(receiver.unprotectRtp(wire[1]!), 'late, first time');
    assert.equal(receiver.unprotectRtp(wire[1]!), undefined, 'late, replayed');
  });

  test('the rollover counter follows a sequence wrap on both sides', () => {
    const s = suite('AES_CM_128_HMAC_SHA1_32');
    const keys = { key: Buffer.alloc(16, 9), salt: Buffer.alloc(14, 8) };
    const sender = new SrtpProtection(s, keys, keys);
    const receiver = new SrtpProtection(s, keys, keys);
    for (const seq of [65533, 65534, 65535, 0, 1, 2]) {
      const packet = Buffer.from(PLAIN);
      packet.writeUInt16BE(seq, 2);
      assert.deepEqual(receiver.unprotectRtp(sender.protectRtp(packet)), packet, `sequence ${seq}`);
    }
  });
});
