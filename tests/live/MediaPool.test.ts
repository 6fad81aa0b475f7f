import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext } from 'playwright-core';
import type { HealthReport } from '../../api/contract/rest.js';
import { launchBrowser, newContext } from '../../drivers/browser.js';
import { openHarness, type Harness } from '../../drivers/harness.js';
import { registerUser } from '../../drivers/http.js';
import { waitFor } from '../../drivers/wait.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { skipUnless } from '../support/services.js';

const METRICS_TOKEN = 'pool-scraper-secret-0123456789';

/** The value of a metric line `name{...server="id"...} value`, or undefined. */
function metric(text: string, name: string, server: string, extra = ''): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) || !line.includes(`server="${server}"`) || !line.includes(extra)) continue;
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

describe('a pool of two embedded media engines', { skip: skipUnless('chromium', 'ffmpeg', 'mariadb', 'redis') }, () => {
  let first: TestServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Harness;
  /** The engines' pool ids, in order. */
  let ids: string[];

  before(async () => {
    // Capacity 4 endpoints per engine: a live takes 2 (presenter, recorder), a viewer 1.
    first = await startTestServer({
      store: 'redis',
      env: { ENGINE_INSTANCES: '2', MEDIA_SERVER_CAPACITY: '4', METRICS_TOKEN },
      server: { media: { lossGraceMs: 1500 } },
    });
    ids = first.server.services.media!.servers.map((s) => s.id);
    browser = await launchBrowser();
    context = await newContext(browser);
    page = await openHarness(context, first.url);
  });

  after(async () => {
    await context?.close();
    await browser?.close();
    await first?.close();
  });

  const decodes = (key: string) =>
    waitFor(async () => (await page.stats(key)).framesDecoded > 0, `${key} to decode frames`, { timeoutMs: 30_000 });

  const scrape = async (server: TestServer) =>
    (await server.http.get<string>('/metrics', { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text;

  test('two engines, two servers in the pool, each on its own port', () => {
    const media = first.server.services.media!;
    assert.equal(media.engines.length, 2);
    assert.notEqual(media.engines[0]!.pid, media.engines[1]!.pid);
    assert.equal(new Set(ids).size, 2, ids.join(' '));
  });

  let liveA: string;
  let liveB: string;
  test('placement spreads lives across the servers; the registry and /metrics say where each is', async () => {
    const alice = await registerUser(first.url);
    const bob = await registerUser(first.url);
    const a = await page.present('a', alice.token, 'On the first');
    assert.ok(a.ok, JSON.stringify(a));
    const b = await page.present('b', bob.token, 'On the second');
    assert.ok(b.ok, JSON.stringify(b));
    liveA = a.liveId;
    liveB = b.liveId;
    const pool = first.server.services.media!.pool;
    const placed = [liveA, liveB].map((id) => pool.serverIdOf(pool.live(id)!));
    assert.equal(new Set(placed).size, 2, `both lives on ${placed.join(', ')}`);
    const lives = first.server.services.lives;
    assert.equal((await lives.registry.get(liveA))?.mediaServer, placed[0]);
    assert.equal((await lives.registry.get(liveB))?.mediaServer, placed[1]);
    for (const key of ['a', 'b'])
      await waitFor(async () => (await page.stats(key)).framesDecoded > 0, `the preview of ${key}`, {
        timeoutMs: 30_000,
      });
    const text = await scrape(first);
    for (const id of ids) {
      assert.equal(metric(text, 'onair_media_server_lives', id), 1, `one live on ${id}`);
      assert.equal(metric(text, 'onair_media_server_up', id), 1);
      assert.equal(metric(text, 'onair_media_server_capacity_endpoints', id), 4);
      assert.equal(metric(text, 'onair_media_placements_total', id, 'kind="live"'), 1);
    }
    const health = await first.http.get<HealthReport>('/healthz');
    assert.equal(health.status, 200);
    assert.equal(health.body.status, 'ok');
  });

  test('the registry survives an API process restart: a viewer of another process joins the right server', async () => {
    const engines = first.server.services.media!.engines;
    const onB = first.server.services.media!.pool.serverIdOf(first.server.services.media!.pool.live(liveB)!)!;
    for (const round of [1, 2]) {
      // Another API process on the same Redis, database and media servers (listed the other way round: the
      // registry names servers, not positions).
      const second = await startTestServer({
        shareWith: first,
        server: { media: {} },
        env: {
          KMS_URIS: engines
            .map((e) => e.uri)
            .reverse()
            .join(','),
        },
      });
      try {
        const viewer = await registerUser(second.url);
        const other = await openHarness(context, second.url);
        const watched = await other.watch(`vb${round}`, viewer.token, liveB);
        assert.ok(watched.ok, `round ${round}: ${JSON.stringify(watched)}`);
        await waitFor(async () => (await other.stats(`vb${round}`)).framesDecoded > 0, `viewer ${round} decodes`, {
          timeoutMs: 30_000,
        });
        const pool = second.server.services.media!.pool;
        assert.equal(pool.serverIdOf(pool.live(liveB)!), onB, 'attached on the server of the live');
        assert.equal(pool.live(liveB)!.owner, false);
        await other.leave(`vb${round}`);
        await other.page.close();
      } finally {
        await second.close();
      }
    }
  });

  test('a full server relays the live to the other; with both full, a viewer is refused with media.capacity', async () => {
    const pool = first.server.services.media!.pool;
    await pool.sample();
    const onA = pool.serverIdOf(pool.live(liveA)!)!;
    const onB = ids.find((id) => id !== onA)!;
    // 2 (the live) + 2 viewers = the capacity of 4; the third joins a relay on the other server (live b's 2, the
    // relay's RtpEndpoint and the viewer: 4).
    for (const key of ['va1', 'va2', 'va3']) {
      const viewer = await registerUser(first.url);
      const watched = await page.watch(key, viewer.token, liveA);
      assert.ok(watched.ok, `${key}: ${JSON.stringify(watched)}`);
    }
    const fourth = await registerUser(first.url);
    const refused = await page.watch('va4', fourth.token, liveA);
    assert.equal(refused.ok, false);
    assert.equal(!refused.ok && refused.error.code, 'media.capacity', JSON.stringify(refused));
    const text = await scrape(first);
    assert.equal(metric(text, 'onair_media_server_viewers', onA), 2);
    assert.equal(metric(text, 'onair_media_server_viewers', onB), 1);
    assert.equal(metric(text, 'onair_media_server_relays', onB), 1);
    assert.equal(metric(text, 'onair_media_placements_total', 'none', 'kind="viewer",outcome="refused"'), 1);
    await decodes('va3');
    assert.ok((await page.leave('va3')).ok);
    await waitFor(() => pool.status().find((s) => s.id === onB)!.relays === 0, 'the relay released');
  });

  test('killing the second server ends only what it held; /healthz is degraded; the server comes back', async () => {
    const media = first.server.services.media!;
    const pool = media.pool;
    const onB = pool.serverIdOf(pool.live(liveB)!)!;
    const index = ids.indexOf(onB);
    const engine = media.engines[index]!;
    const oldPid = engine.pid;
    const viewer = await registerUser(first.url);
    assert.ok((await page.watch('vb', viewer.token, liveB)).ok);
    await waitFor(async () => (await page.stats('vb')).framesDecoded > 0, 'the viewer of b', { timeoutMs: 30_000 });
    const decodedA = (await page.stats('va1')).framesDecoded;

    engine.kill('SIGKILL');
    const health = await first.http.get<HealthReport>('/healthz');
    assert.equal(health.status, 200, JSON.stringify(health.body));
    assert.equal(health.body.status, 'degraded');
    assert.equal(health.body.checks.media.degraded, true);
    assert.match(
      health.body.checks.media.detail ?? '',
      new RegExp(`1 of 2 .*${onB.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`),
    );
    for (const key of ['b', 'vb']) {
      const ended = await waitFor(
        async () => (await page.events(key)).find(([e]) => e === 'live:ended'),
        `${key} told the live ended`,
        { timeoutMs: 20_000 },
      );
      assert.equal(ended[1].reason, 'mediaServerLost');
    }
    assert.equal((await first.server.db.Live.findByPk(liveB))?.endReason, 'mediaServerLost');
    const recording = await waitFor(
      () => first.server.db.Recording.findOne({ where: { liveId: liveB, status: 'incomplete' } }),
      'the recording of b kept, marked incomplete',
    );
    assert.ok((recording.sizeBytes ?? 0) > 0, 'the recording was kept');
    // The live on the other server goes on: still listed, its viewers still decoding, nobody told it ended.
    const listed = (await viewer.client.get('/api/lives')).body.lives.map((l: { id: string }) => l.id);
    assert.deepEqual(listed, [liveA]);
    await waitFor(async () => (await page.stats('va1')).framesDecoded > decodedA + 10, 'frames on a after the kill', {
      timeoutMs: 20_000,
    });
    for (const key of ['a', 'va1', 'va2'])
      assert.ok(!(await page.events(key)).some(([e]) => e === 'live:ended'), `${key} not told anything ended`);

    // The engine is started again; the server rejoins the pool and takes the next live (the other is busier).
    await waitFor(
      async () => media.engines[index]!.pid !== oldPid && pool.servers[index]!.available,
      'the second engine to be back',
      { timeoutMs: 30_000 },
    );
    await waitFor(async () => (await first.http.get<HealthReport>('/healthz')).body.status === 'ok', 'healthz ok');
    const carol = await registerUser(first.url);
    const again = await page.present('c', carol.token, 'Back in the pool');
    assert.ok(again.ok, JSON.stringify(again));
    assert.equal(pool.serverIdOf(pool.live(again.liveId)!), onB);
    assert.ok((await page.stop('c')).ok);
    assert.ok((await page.stop('a')).ok);
    await waitFor(async () => {
      for (const server of pool.servers) if ((await server.pipelineIds()).length) return false;
      return true;
    }, 'no pipeline left on either server');
  });
});

describe(
  'a live cascaded across two embedded media engines (RtpEndpoint relay)',
  { skip: skipUnless('chromium', 'ffmpeg', 'mariadb', 'redis') },
  () => {
    let server: TestServer;
    let browser: Browser;
    let context: BrowserContext;
    let page: Harness;

    before(async () => {
      // Capacity 3: the live (presenter, recorder) and one viewer fill the first engine; a relay (its RtpEndpoint)
      // and two viewers fill the second.
      server = await startTestServer({
        store: 'redis',
        env: { ENGINE_INSTANCES: '2', MEDIA_SERVER_CAPACITY: '3', METRICS_TOKEN },
        server: { media: { lossGraceMs: 1500 } },
      });
      browser = await launchBrowser();
      context = await newContext(browser);
      page = await openHarness(context, server.url);
    });

    after(async () => {
      await context?.close();
      await browser?.close();
      await server?.close();
    });

    const decodes = (key: string) =>
      waitFor(async () => (await page.stats(key)).framesDecoded > 0, `${key} to decode frames`, { timeoutMs: 30_000 });

    test('a full server relays the live to the other; viewers on both decode; the relay goes with its last viewer', async () => {
      const media = server.server.services.media!;
      const pool = media.pool;
      const presenter = await registerUser(server.url);
      const started = await page.present('p', presenter.token, 'Cascaded');
      assert.ok(started.ok, JSON.stringify(started));
      const { liveId } = started;
      const home = pool.serverIdOf(pool.live(liveId)!)!;
      const other = media.servers.find((s) => s.id !== home)!;
      const viewerKeys = ['v1', 'v2', 'v3'];
      for (const key of viewerKeys) {
        const viewer = await registerUser(server.url);
        const watched = await page.watch(key, viewer.token, liveId);
        assert.ok(watched.ok, `${key}: ${JSON.stringify(watched)}`);
      }
      for (const key of viewerKeys) await decodes(key);
      const sockets = [
        ...(await server.server.services.lives.registry.viewersOf(
          liveId,
          server.server.services.lives.registry.instanceId,
        )),
      ];
      const where = new Map(sockets.map((v) => [v.socketId, v.mediaServer]));
      const onOther = [...where.values()].filter((id) => id === other.id).length;
      assert.equal(onOther, 2, `two viewers on the relay: ${JSON.stringify([...where])}`);
      assert.equal([...where.values()].filter((id) => id === home).length, 1);
      assert.equal((await other.pipelineIds()).length, 1, 'one relay pipeline on the other server');
      const text = (
        await server.http.get<string>('/metrics', { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
      ).text;
      assert.equal(metric(text, 'onair_media_server_relays', other.id), 1);
      assert.equal(metric(text, 'onair_media_server_relays', home), 0);

      // Both servers full: the next viewer is refused.
      const fourth = await registerUser(server.url);
      const refused = await page.watch('v4', fourth.token, liveId);
      assert.equal(!refused.ok && refused.error.code, 'media.capacity', JSON.stringify(refused));

      // The relay's viewers leave: the relay is released on the other server, its RtpEndpoint on the live's.
      const relayed = [...where].filter(([, id]) => id === other.id).map(([socketId]) => socketId);
      for (const key of viewerKeys) {
        const socketId = await page.page.evaluate(
          (k) => (globalThis as any).onair.sessions[k].socket.id as string,
          key,
        );
        if (relayed.includes(socketId)) assert.ok((await page.leave(key)).ok);
      }
      await waitFor(async () => (await other.pipelineIds()).length === 0, 'the relay pipeline released');
      await waitFor(async () => pool.live(liveId)!.endpointCount === 3, 'presenter, recorder and one viewer left');

      // Made again on demand; killing the relay's server tells its viewer, and the live goes on.
      const fifth = await registerUser(server.url);
      assert.ok((await page.watch('v5', fifth.token, liveId)).ok);
      await decodes('v5');
      assert.equal((await other.pipelineIds()).length, 1, 'a relay again');
      const engine = media.engines[media.servers.indexOf(other)]!;
      const before = (await page.stats('p')).framesDecoded;
      engine.kill('SIGKILL');
      await waitFor(
        async () => (await page.events('v5')).some(([e]) => e === 'live:viewerMediaLost'),
        'the relayed viewer told its media server is lost',
        { timeoutMs: 20_000 },
      );
      assert.ok(!(await page.events('v5')).some(([e]) => e === 'live:ended'), 'the live did not end for it');
      assert.ok(!(await page.events('p')).some(([e]) => e === 'live:ended'), 'nor for the presenter');
      await waitFor(async () => (await page.stats('p')).framesDecoded > before + 10, 'the preview goes on');
      assert.ok((await page.stop('p')).ok);
      await waitFor(async () => {
        for (const s of media.servers) if (s.available && (await s.pipelineIds()).length) return false;
        return true;
      }, 'no pipeline left');
    });
  },
);
