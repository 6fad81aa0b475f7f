/**
 * Real Chromium for tests, driven by playwright-core (Debian's chromium; never a downloaded browser).
 * Fake camera and microphone, and the flags that make WebRTC work on a loopback-only host.
 */
import { execFileSync } from 'node:child_process';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--allow-loopback-in-peer-connection',
  // One --disable-features only (the last one wins): mDNS host candidates off, and no local-network-access
  // blocking of the app's own loopback origin.
  '--disable-features=WebRtcHideLocalIpsWithMdns,LocalNetworkAccessChecks,BlockInsecurePrivateNetworkRequests',
  '--autoplay-policy=no-user-gesture-required',
];

export function chromiumPath(): string {
  return process.env.CHROMIUM_PATH ?? execFileSync('sh', ['-c', 'command -v chromium']).toString().trim();
}

/** Launch a headless Chromium; close it with `browser.close()` in the test's teardown. */
export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), headless: true, args: CHROMIUM_ARGS });
}

/**
 * A fresh context (its own storage) with camera and microphone granted, in a browser language (`locale`: what
 * navigator.languages says; English unless asked, so that tests do not depend on the machine's language).
 */
export async function newContext(browser: Browser, baseURL?: string, locale = 'en-US'): Promise<BrowserContext> {
  return browser.newContext({ permissions: ['camera', 'microphone'], locale, ...(baseURL ? { baseURL } : {}) });
}

/**
 * An init script (`context.addInitScript`) that keeps every WebSocket the page opens, so that `cutSockets` can cut
 * them as a network change does; until `restoreSockets`, new ones go nowhere (the server is out of reach).
 */
export const CUTTABLE_SOCKETS = `(() => {
  const Native = window.WebSocket;
  window.__sockets = [];
  window.__blockSockets = false;
  window.WebSocket = class extends Native {
    constructor(url, ...rest) {
      super(window.__blockSockets ? 'ws://127.0.0.1:9/' : url, ...rest);
      window.__sockets.push(this);
    }
  };
})();`;

interface CuttableWindow {
  __sockets: WebSocket[];
  __blockSockets: boolean;
}

/** Cut the page's WebSockets and keep new ones from reaching the server (see CUTTABLE_SOCKETS). */
export async function cutSockets(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as CuttableWindow;
    w.__blockSockets = true;
    for (const socket of w.__sockets) socket.close();
  });
}

/** Let the page's WebSockets reach the server again. */
export async function restoreSockets(page: Page): Promise<void> {
  await page.evaluate(() => ((window as unknown as CuttableWindow).__blockSockets = false));
}

/** The video element shows more than `by` new frames from now on. */
export async function expectNewFrames(page: Page, testid: string, by = 20): Promise<void> {
  const selector = `[data-testid="${testid}"]`;
  const before = await page.$eval(selector, (v: HTMLVideoElement) => v.getVideoPlaybackQuality().totalVideoFrames);
  await page.waitForFunction(
    ([s, n, more]) =>
      document.querySelector<HTMLVideoElement>(s)!.getVideoPlaybackQuality().totalVideoFrames > n + more,
    [selector, before, by] as const,
    { timeout: 30_000 },
  );
}
