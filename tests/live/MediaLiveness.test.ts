import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext } from 'playwright-core';
import { connectKurento, listChildren, release } from '../../media/kurento.js';
import { launchBrowser, newContext } from '../../drivers/browser.js';
import { openHarness, type Harness } from '../../drivers/harness.js';
import { registerUser } from '../../drivers/http.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { skipUnless } from '../support/services.js';
import { waitFor } from '../../drivers/wait.js';

/**
 * A TCP relay to the media server whose connections can be stalled one by one: a stalled connection's bytes are
 * held (not lost) until it is released, as a Kurento Media Server that is busy answering a slow request on that
 * connection holds every later answer of the same connection.
 */
class StallingRelay {
  readonly connections: Array<{ stall(): void; resume(): void; cut(): void }> = [];
  readonly #server: net.Server;
  readonly #sockets = new Set<net.Socket>();

  private constructor(server: net.Server) {
    this.#server = server;
  }

  /** The target's query (an engine's access_token) is kept in `uri`. */
  #search = '';

  static async start(target: URL): Promise<StallingRelay> {
    const relay = new StallingRelay(net.createServer());
    relay.#search = target.search;
    relay.#server.on('connection', (client) => {
      const upstream = net.connect(Number(target.port), target.hostname);
      for (const s of [client, upstream]) {
        relay.#sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => {
          relay.#sockets.delete(s);
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream);
      upstream.pipe(client);
      relay.connections.push({
        stall: () => {
          client.pause();
          upstream.pause();
        },
        resume: () => {
          client.resume();
          upstream.resume();
        },
        cut: () => client.destroy(),
      });
    });
    await new Promise<void>((resolve) => relay.#server.listen(0, '127.0.0.1', resolve));
    return relay;
  }

  get uri(): string {
    return `ws://127.0.0.1:${(this.#server.address() as net.AddressInfo).port}/kurento${this.#search}`;
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

describe('loss detection on a busy media server', { skip: skipUnless('chromium', 'mariadb') }, () => {
  let engineHost: TestServer;
  let relay: StallingRelay;
  let server: TestServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Harness;

  before(async () => {
    // The first server only provides a media server (its embedded engine); the one under test reaches it
    // through the relay, as it would reach a Kurento Media Server.
    // Same recordings folder (the engine writes there); no reconciliation timer on the host, whose registry does
    // not know the other server's lives.
    engineHost = await startTestServer({ server: { media: { reconcileMs: 0 } } });
    relay = await StallingRelay.start(new URL(engineHost.server.services.media!.engine!.uri));
    server = await startTestServer({
      shareWith: engineHost,
      env: { KMS_URI: relay.uri },
      server: { media: { lossGraceMs: 3000, reconcileMs: 1000 } },
    });
    browser = await launchBrowser();
    context = await newContext(browser);
    page = await openHarness(context, server.url);
  });

  after(async () => {
    await context?.close();
    await browser?.close();
    await server?.close();
    await relay?.close();
    await engineHost?.close();
  });

  test('a main connection busy for longer than the loss grace does not end the lives', async () => {
    const presenter = await registerUser(server.url);
    const started = await page.present('busy', presenter.token, 'Busy server');
    assert.ok(started.ok, JSON.stringify(started));
    const lost: string[] = [];
    server.server.services.media!.server.on('lost', (reason) => lost.push(reason));

    // The first connection the API opened is its main one: everything but liveness goes through it.
    relay.connections[0]!.stall();
    await new Promise((r) => setTimeout(r, 5000));
    relay.connections[0]!.resume();

    assert.deepEqual(lost, [], 'the media server was not declared lost');
    assert.ok(server.server.services.media!.server.live(started.liveId), 'the live is still on air');
    assert.ok(!(await page.events('busy')).some(([e]) => e === 'live:ended'), 'the presenter was not told it ended');
    assert.equal((await presenter.client.get('/api/lives')).body.lives[0]?.id, started.liveId);
    const stopped = await page.stop('busy');
    assert.ok(stopped.ok, JSON.stringify(stopped));
    await waitFor(async () => (await server.server.services.media!.server.pipelineIds()).length === 0, 'released');
  });

  test('a release the API could not hear (its connection was down) is caught by the reconciliation', async () => {
    const presenter = await registerUser(server.url);
    const viewers = [await registerUser(server.url), await registerUser(server.url)];
    const started = await page.present('missed', presenter.token, 'Missed event');
    assert.ok(started.ok, JSON.stringify(started));
    for (const [i, v] of viewers.entries()) assert.ok((await page.watch(`missed-${i}`, v.token, started.liveId)).ok);
    const live = server.server.services.media!.server.live(started.liveId)!;
    const { client: raw } = await connectKurento(engineHost.server.services.media!.engine!.uri);
    try {
      const viewerIds = (await listChildren(await raw.getMediaobjectById(live.pipelineId))).filter(
        (id) => id.endsWith('WebRtcEndpoint') && id !== live.presenterEndpointId,
      );
      assert.equal(viewerIds.length, 2);
      const endpoint = await raw.getMediaobjectById(viewerIds[0]!);
      // The main connection drops; the release happens while it is down (its ObjectDestroyed goes nowhere), and
      // the connection comes back with the same session within the grace.
      relay.connections[0]!.cut();
      assert.equal(await release(endpoint), undefined);
    } finally {
      raw.close();
    }
    const left = await waitFor(
      async () => (await page.events('missed')).find(([e]) => e === 'live:viewerLeft'),
      'the presenter told a viewer left',
      { timeoutMs: 20_000 },
    );
    assert.equal(left[1].viewerCount, 1);
    assert.equal(live.viewerCount, 1);
    assert.ok(!live.closed, 'the live goes on');
    assert.ok((await page.stop('missed')).ok);
  });
});
