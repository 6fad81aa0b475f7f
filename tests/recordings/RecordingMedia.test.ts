/**
 * The media and poster routes: signed URLs a `<video>` can use without an Authorization header, range requests
 * (first bytes, middle, suffix, unsatisfiable), caching headers, expired and forged signatures, ids that are not
 * numbers, and path traversal attempts of every kind: nothing outside the recordings folder is ever served.
 */
import assert from 'node:assert/strict';
import { readFile, symlink, writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RecordingView } from '../../api/contract/rest.js';
import type { Recording } from '../../api/db/index.js';
import { UrlSigner } from '../../api/recordings/UrlSigner.js';
import type { SignedInUser } from '../../drivers/http.js';
import { skipUnless } from '../support/services.js';
import { makeWebm, startRecordingsServer, type RecordingsServer } from './helpers/recordingsServer.js';

interface RawAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A GET (or HEAD) sent exactly as written: no URL normalisation on the way. */
function raw(baseUrl: string, rawPath: string, headers: Record<string, string> = {}, method = 'GET'): Promise<RawAnswer> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: hostname, port, path: rawPath, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

function json(answer: RawAnswer): { error: { code: string } } {
  return JSON.parse(answer.body.toString('utf8'));
}

describe('recording media and posters through signed URLs', { skip: skipUnless('mariadb', 'ffmpeg') }, () => {
  let s: RecordingsServer;
  let owner: SignedInUser;
  let row: Recording;
  let view: RecordingView;
  let bytes: Buffer;
  const passwd = '/etc/passwd';

  before(async () => {
    s = await startRecordingsServer({ db: 'mariadb' });
    owner = await s.register('media');
    const fileName = 'abcdefabcdef.webm';
    await makeWebm(path.join(s.recordingsDir, fileName), { seconds: 4 });
    row = await s.recording(owner.user.id, { fileName });
    const outcome = await s.recordings.finaliser.enqueue(row.id);
    assert.equal(outcome.result, 'finalised');
    bytes = await readFile(path.join(s.recordingsDir, fileName));
    view = (await owner.client.get<RecordingView>(`/api/recordings/${row.id}`)).body;
    assert.ok(view.posterUrl, 'the finaliser made a poster');
  });

  after(async () => {
    await s?.close();
  });

  it('serves the whole file with its type, length and caching headers, without an Authorization header', async () => {
    const answer = await raw(s.url, view.mediaUrl);
    assert.equal(answer.status, 200);
    assert.equal(answer.headers['content-type'], 'video/webm');
    assert.equal(Number(answer.headers['content-length']), bytes.length);
    assert.equal(answer.headers['accept-ranges'], 'bytes');
    assert.ok(answer.headers.etag, 'an ETag');
    assert.ok(answer.headers['last-modified'], 'a Last-Modified');
    assert.match(String(answer.headers['cache-control']), /^private, max-age=\d+$/);
    assert.ok(answer.body.equals(bytes));
  });

  it('answers the first bytes of a range with 206 and Content-Range', async () => {
    const answer = await raw(s.url, view.mediaUrl, { range: 'bytes=0-99' });
    assert.equal(answer.status, 206);
    assert.equal(answer.headers['content-range'], `bytes 0-99/${bytes.length}`);
    assert.equal(answer.headers['content-type'], 'video/webm');
    assert.ok(answer.body.equals(bytes.subarray(0, 100)));
  });

  it('answers a range in the middle', async () => {
    const answer = await raw(s.url, view.mediaUrl, { range: 'bytes=10000-19999' });
    assert.equal(answer.status, 206);
    assert.equal(answer.headers['content-range'], `bytes 10000-19999/${bytes.length}`);
    assert.ok(answer.body.equals(bytes.subarray(10000, 20000)));
  });

  it('answers a suffix range (the last bytes) and an open-ended one', async () => {
    const suffix = await raw(s.url, view.mediaUrl, { range: 'bytes=-500' });
    assert.equal(suffix.status, 206);
    assert.equal(suffix.headers['content-range'], `bytes ${bytes.length - 500}-${bytes.length - 1}/${bytes.length}`);
    assert.ok(suffix.body.equals(bytes.subarray(bytes.length - 500)));
    const open = await raw(s.url, view.mediaUrl, { range: `bytes=${bytes.length - 10}-` });
    assert.equal(open.status, 206);
    assert.ok(open.body.equals(bytes.subarray(bytes.length - 10)));
  });

  it('answers an unsatisfiable range with 416, the size in Content-Range and recording.badRange', async () => {
    for (const range of [`bytes=${bytes.length}-`, `bytes=${bytes.length + 100}-${bytes.length + 200}`]) {
      const answer = await raw(s.url, view.mediaUrl, { range });
      assert.equal(answer.status, 416, range);
      assert.equal(answer.headers['content-range'], `bytes */${bytes.length}`);
      assert.match(String(answer.headers['content-type']), /^application\/json/);
      assert.equal(json(answer).error.code, 'recording.badRange');
    }
  });

  it('ignores a malformed Range header and serves the whole file', async () => {
    const answer = await raw(s.url, view.mediaUrl, { range: 'bytes=abc' });
    assert.equal(answer.status, 200);
    assert.equal(answer.body.length, bytes.length);
  });

  it('answers 304 to a request that already has the current version, and HEAD without a body', async () => {
    const first = await raw(s.url, view.mediaUrl);
    const again = await raw(s.url, view.mediaUrl, { 'if-none-match': String(first.headers.etag) });
    assert.equal(again.status, 304);
    assert.equal(again.body.length, 0);
    const head = await raw(s.url, view.mediaUrl, {}, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(Number(head.headers['content-length']), bytes.length);
    assert.equal(head.body.length, 0);
  });

  it('serves the poster as a JPEG', async () => {
    const answer = await raw(s.url, view.posterUrl!);
    assert.equal(answer.status, 200);
    assert.equal(answer.headers['content-type'], 'image/jpeg');
    assert.deepEqual([...answer.body.subarray(0, 3)], [0xff, 0xd8, 0xff]);
  });

  it('refuses an expired link with recording.expiredSignature', async () => {
    const past = new UrlSigner(s.config.signingSecret, { now: () => Date.now() - 3 * 3600_000 });
    const answer = await raw(s.url, past.url('media', row.id).url);
    assert.equal(answer.status, 403);
    assert.equal(json(answer).error.code, 'recording.expiredSignature');
  });

  it('refuses forged, tampered, misused and missing signatures with recording.invalidSignature', async () => {
    const url = new URL(view.mediaUrl, s.url);
    const exp = url.searchParams.get('exp')!;
    const sig = url.searchParams.get('sig')!;
    const flipped = `${sig.slice(0, -1)}${sig.endsWith('A') ? 'B' : 'A'}`;
    const otherSecret = new UrlSigner('another secret of enough length');
    const future = new UrlSigner(s.config.signingSecret, { now: () => Date.now() + 24 * 3600_000 });
    const forged = [
      `/api/recordings/${row.id}/media?exp=${exp}&sig=${flipped}`,
      `/api/recordings/${row.id}/media?exp=${Number(exp) + 3600}&sig=${sig}`,
      `/api/recordings/${row.id + 1}/media?exp=${exp}&sig=${sig}`,
      `/api/recordings/${row.id}/poster?exp=${exp}&sig=${sig}`,
      otherSecret.url('media', row.id).url,
      future.url('media', row.id).url,
      `/api/recordings/${row.id}/media?exp=${exp}`,
      `/api/recordings/${row.id}/media?sig=${sig}`,
      `/api/recordings/${row.id}/media`,
      `/api/recordings/${row.id}/media?exp=${exp}&sig=`,
      `/api/recordings/${row.id}/media?exp=-1&sig=${sig}`,
      `/api/recordings/${row.id}/media?exp=${exp}&sig=${sig}x`,
    ];
    for (const link of forged) {
      const answer = await raw(s.url, link);
      assert.equal(answer.status, 403, link);
      assert.equal(json(answer).error.code, 'recording.invalidSignature', link);
    }
  });

  it('answers 400 for repeated or unknown parameters of a link, and for ids that are not numbers', async () => {
    const url = new URL(view.mediaUrl, s.url);
    for (const link of [
      `${view.mediaUrl}&sig=x`,
      `${view.mediaUrl}&file=../../../etc/passwd`,
      `/api/recordings/${row.id}/media?exp[$gt]=0&sig=${url.searchParams.get('sig')}`,
      `/api/recordings/abc/media${url.search}`,
      `/api/recordings/1.0/media${url.search}`,
      `/api/recordings/-1/media${url.search}`,
      `/api/recordings/0x1/media${url.search}`,
      `/api/recordings/${row.id}%00/media${url.search}`,
    ]) {
      const answer = await raw(s.url, link);
      assert.equal(answer.status, 400, link);
      assert.equal(json(answer).error.code, 'request.invalid');
    }
  });

  it('never serves a file outside the recordings folder, whatever the path looks like', async () => {
    const search = new URL(view.mediaUrl, s.url).search;
    const attempts = [
      '/api/recordings/../../../../etc/passwd',
      `/api/recordings/${row.id}/media/../../../../../etc/passwd${search}`,
      `/api/recordings/..%2f..%2f..%2f..%2fetc%2fpasswd/media${search}`,
      `/api/recordings/%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd/media${search}`,
      `/api/recordings/${row.id}%2f..%2f..%2f..%2fetc%2fpasswd/media${search}`,
      `/api/recordings/${row.id}/media%2f..%2f..%2f..%2fetc%2fpasswd${search}`,
      `/api/recordings/${row.id}/..%5c..%5c..%5cetc%5cpasswd/media${search}`,
      `/api/recordings/%252e%252e%252f%252e%252e%252fetc%252fpasswd/media${search}`,
      `/api/recordings/..%c0%af..%c0%afetc%c0%afpasswd/media${search}`,
      `/api/recordings/${row.id}/media${search}&path=${encodeURIComponent(passwd)}`,
      `/api/recordings//etc/passwd/media${search}`,
      `/api/recordings/${encodeURIComponent(passwd)}/media${search}`,
      `/api/recordings/${row.id}/poster/..%2f..%2f..%2fetc%2fpasswd${search}`,
      `/api/recordings/${row.id}/media;/../../etc/passwd${search}`,
    ];
    for (const attempt of attempts) {
      const answer = await raw(s.url, attempt);
      assert.ok([400, 403, 404].includes(answer.status), `${attempt}: ${answer.status}`);
      assert.ok(!answer.body.toString('latin1').includes('root:'), `${attempt} leaked /etc/passwd`);
    }
  });

  it('refuses a row whose file name would leave the folder (absolute, ../, or a symbolic link out)', async () => {
    await symlink(passwd, path.join(s.recordingsDir, 'link.webm'));
    await writeFile(path.join(path.dirname(s.recordingsDir), 'outside.webm'), 'not yours');
    const bad = [
      await s.recording(owner.user.id, { fileName: '../../../../etc/passwd' }),
      await s.recording(owner.user.id, { fileName: passwd }),
      await s.recording(owner.user.id, { fileName: 'link.webm' }),
      await s.recording(owner.user.id, { fileName: `../${path.basename(path.dirname(s.recordingsDir))}/outside.webm` }),
      await s.recording(owner.user.id, { fileName: '../outside.webm' }),
      await s.recording(owner.user.id, { fileName: 'x.webm', posterFileName: '../../../../etc/passwd' }),
    ];
    for (const r of bad) {
      const v = (await owner.client.get<RecordingView>(`/api/recordings/${r.id}`)).body;
      for (const link of [v.mediaUrl, v.posterUrl].filter((l): l is string => l !== null)) {
        const answer = await raw(s.url, link);
        assert.equal(answer.status, 404, `${r.fileName}: ${link}`);
        assert.equal(json(answer).error.code, 'recording.notFound');
        assert.ok(!answer.body.toString('latin1').includes('root:'));
      }
    }
  });

  it('answers 404 recording.notFound when the row is not in the library or its file is gone', async () => {
    const failed = await s.recording(owner.user.id, { status: 'failed' });
    const gone = await s.recording(owner.user.id, { fileName: 'gone000gone0.webm' });
    const signer = s.recordings.signer;
    for (const id of [failed.id, gone.id, 2_000_000_000]) {
      const answer = await raw(s.url, signer.url('media', id).url);
      assert.equal(answer.status, 404, String(id));
      assert.equal(json(answer).error.code, 'recording.notFound');
    }
  });
});
