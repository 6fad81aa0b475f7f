/**
 * Real Chromium for tests, driven by playwright-core (Debian's chromium; never a downloaded browser).
 * Fake camera and microphone, and the flags that make WebRTC work on a loopback-only host.
 */
import { execFileSync } from 'node:child_process';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';

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
