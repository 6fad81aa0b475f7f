/**
 * A call between two Chromium sides in the page harness, for the call suites: \`side()\` signs a new user in on a
 * context of its own, \`establish()\` has A call B, B accept, and both go live and watch each other until each
 * decodes the other's video and audio; \`stateOf()\` waits for a call state as a side is told it.
 */
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import type { Browser, BrowserContext } from 'playwright-core';
import type { CallView } from '../../../api/contract/signalling.js';
import { launchBrowser, newContext } from '../../../drivers/browser.js';
import { openHarness, type Harness } from '../../../drivers/harness.js';
import { registerUser, type SignedInUser } from '../../../drivers/http.js';
import { waitFor } from '../../../drivers/wait.js';
import { pipelineCount } from '../../support/media.js';
import { startTestServer, type TestServer } from '../../support/server.js';
import { setUpValue } from '../../support/fixture.js';

export interface CallPairEnv {
  browser: Browser;
  server: TestServer;
  /** Where each side's context goes, for the suite's \`after\` to close. */
  contexts: BrowserContext[];
}

/** The helpers over the suite's browser and server (read when called, so after the suite's \`before\`). */
export function callPair(env: () => CallPairEnv) {
  async function side(): Promise<{ user: SignedInUser; page: Harness; context: BrowserContext }> {
    const context = await newContext(env().browser);
    env().contexts.push(context);
    const user = await registerUser(env().server.url);
    const page = await openHarness(context, env().server.url);
    const connected = await page.callConnect('me', user.token);
    assert.ok(connected.ok, JSON.stringify(connected));
    return { user, page, context };
  }

  async function stateOf(page: Harness, callId: string, state: CallView['state']): Promise<CallView> {
    return waitFor(
      async () =>
        (await page.callEvents('me')).find(([e, m]) => e === 'call:state' && m.id === callId && m.state === state)?.[1],
      `call ${callId} ${state}`,
      { timeoutMs: 30_000 },
    );
  }

  /** A calls B, B accepts, both go live and watch each other until both decode the other's video and audio. */
  async function establish() {
    const a = await side();
    const b = await side();
    const invited = await a.page.callRequest('me', 'call:invite', { nickname: b.user.nickname });
    assert.ok(invited.ok, JSON.stringify(invited));
    const callId: string = invited.call.id;
    await stateOf(b.page, callId, 'ringing');
    const accepted = await b.page.callRequest('me', 'call:accept', { callId });
    assert.ok(accepted.ok, JSON.stringify(accepted));
    await stateOf(a.page, callId, 'accepted');

    const presented = await Promise.all([a.page.callPresent('me', callId), b.page.callPresent('me', callId)]);
    for (const p of presented) assert.ok(p.ok, JSON.stringify(p));
    const [liveA, liveB] = presented.map((p) => (p.ok ? p.liveId : ''));
    // Each side is told the other's live once it is on air, and watches it.
    for (const [me, peerLive] of [
      [a, liveB],
      [b, liveA],
    ] as const) {
      await waitFor(
        async () =>
          (await me.page.callEvents('me')).some(
            ([e, m]) => e === 'call:peerLive' && m.callId === callId && m.liveId === peerLive,
          ),
        'the other side on air',
      );
      const watched = await me.page.callWatch('me', callId);
      assert.ok(watched.ok, JSON.stringify(watched));
      assert.equal(watched.ok && watched.liveId, peerLive);
    }
    for (const [name, me] of [
      ['A', a],
      ['B', b],
    ] as const) {
      await waitFor(async () => (await me.page.stats('me:me')).framesDecoded > 0, `${name}'s loopback preview`, {
        timeoutMs: 30_000,
      });
      await waitFor(
        async () => {
          const s = await me.page.stats('me:peer');
          return s.framesDecoded > 0 && s.audioSamples > 0;
        },
        `${name} decoding the other side's video and audio`,
        { timeoutMs: 30_000 },
      );
    }
    return { a, b, callId, liveA: liveA!, liveB: liveB! };
  }

  return { side, stateOf, establish };
}

/**
 * A call suite's set-up: a test server (RESUME_GRACE_MS `graceMs`, the media server's loss grace 1.5 s), one
 * Chromium, and the pipeline count before any test; after the suite, every side's context, the browser and the
 * server are closed. Returns the server, the baseline and the call helpers over them.
 */
export function useCallSuite({ graceMs }: { graceMs: number }) {
  let server: TestServer | undefined;
  let browser: Browser | undefined;
  let baseline: number | undefined;
  const contexts: BrowserContext[] = [];
  before(async () => {
    server = await startTestServer({
      env: { RESUME_GRACE_MS: String(graceMs) },
      server: { media: { lossGraceMs: 1500 } },
    });
    browser = await launchBrowser();
    baseline = await pipelineCount(server);
  });
  after(async () => {
    for (const c of contexts.splice(0)) await c.close().catch(() => undefined);
    await browser?.close();
    await server?.close();
  });
  const ready = setUpValue('the call suite is not set up (use it inside a test)');
  return {
    get server() {
      return ready(server);
    },
    get baseline() {
      return ready(baseline);
    },
    ...callPair(() => ({ browser: ready(browser), server: ready(server), contexts })),
  };
}
