import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OnairError } from '../../api/contract/errors.js';
import { UrlSigner } from '../../api/recordings/UrlSigner.js';

const SECRET = 'a secret of sixteen or more';

function codeOf(fn: () => void): string | null {
  try {
    fn();
    return null;
  } catch (err) {
    assert.ok(err instanceof OnairError);
    return err.code;
  }
}

function parts(url: string): { exp: string; sig: string } {
  const u = new URL(url, 'http://x');
  return { exp: u.searchParams.get('exp')!, sig: u.searchParams.get('sig')! };
}

describe('UrlSigner', () => {
  it('signs a URL that verifies for the same kind and id', () => {
    const signer = new UrlSigner(SECRET);
    const { url, expiresAt } = signer.url('media', 7);
    assert.match(url, /^\/api\/recordings\/7\/media\?exp=\d+&sig=[A-Za-z0-9_-]{43}$/);
    const { exp, sig } = parts(url);
    assert.equal(expiresAt.getTime(), Number(exp) * 1000);
    assert.equal(
      codeOf(() => signer.verify('media', 7, exp, sig)),
      null,
    );
  });

  it('binds a URL to a session id: it verifies with that id only', () => {
    const signer = new UrlSigner(SECRET);
    const sid = 'AbCdEfGhIjKlMnOpQrStUv';
    const { url } = signer.url('media', 7, undefined, sid);
    assert.match(url, /^\/api\/recordings\/7\/media\?exp=\d+&sid=AbCdEfGhIjKlMnOpQrStUv&sig=[A-Za-z0-9_-]{43}$/);
    const { exp, sig } = parts(url);
    assert.equal(
      codeOf(() => signer.verify('media', 7, exp, sig, sid)),
      null,
    );
    for (const other of [undefined, 'BbCdEfGhIjKlMnOpQrStUv', '', 'short', [sid]]) {
      assert.equal(
        codeOf(() => signer.verify('media', 7, exp, sig, other)),
        'recording.invalidSignature',
        JSON.stringify(other),
      );
    }
  });

  it('refuses the signature for another id, another kind, or from another secret', () => {
    const signer = new UrlSigner(SECRET);
    const { exp, sig } = parts(signer.url('media', 7).url);
    assert.equal(
      codeOf(() => signer.verify('media', 8, exp, sig)),
      'recording.invalidSignature',
    );
    assert.equal(
      codeOf(() => signer.verify('poster', 7, exp, sig)),
      'recording.invalidSignature',
    );
    assert.equal(
      codeOf(() => new UrlSigner(`${SECRET}!`).verify('media', 7, exp, sig)),
      'recording.invalidSignature',
    );
  });

  it('refuses missing, malformed and non-string parameters', () => {
    const signer = new UrlSigner(SECRET);
    const { exp, sig } = parts(signer.url('media', 7).url);
    for (const [e, s] of [
      [undefined, sig],
      [exp, undefined],
      ['', sig],
      [exp, ''],
      ['1e10', sig],
      [exp, `${sig}=`],
      [[exp], sig],
      [exp, { $ne: '' }],
    ]) {
      assert.equal(
        codeOf(() => signer.verify('media', 7, e, s)),
        'recording.invalidSignature',
        JSON.stringify([e, s]),
      );
    }
  });

  it('tells an expired link from a forged one', () => {
    let now = Date.parse('2025-06-01T12:00:00Z');
    const signer = new UrlSigner(SECRET, { ttlMs: 60_000, bucketMs: 1000, now: () => now });
    const { exp, sig } = parts(signer.url('poster', 3).url);
    now += 61_000;
    assert.equal(
      codeOf(() => signer.verify('poster', 3, exp, sig)),
      'recording.expiredSignature',
    );
  });

  it('refuses a genuine link further out than it would ever sign', () => {
    const now = Date.now();
    const later = new UrlSigner(SECRET, { now: () => now + 24 * 3600_000 });
    const { exp, sig } = parts(later.url('media', 1).url);
    assert.equal(
      codeOf(() => new UrlSigner(SECRET, { now: () => now }).verify('media', 1, exp, sig)),
      'recording.invalidSignature',
    );
  });

  it('rounds expiries up to a bucket, so that links handed out together are the same', () => {
    let now = Date.parse('2025-06-01T12:00:01Z');
    const signer = new UrlSigner(SECRET, { ttlMs: 30 * 60_000, bucketMs: 5 * 60_000, now: () => now });
    const first = signer.url('media', 1).url;
    now += 60_000;
    assert.equal(signer.url('media', 1).url, first);
    assert.equal(signer.expiry() * 1000, Date.parse('2025-06-01T12:35:00Z'));
  });

  it('needs a secret of at least 16 characters', () => {
    assert.throws(() => new UrlSigner('short'), TypeError);
  });
});
