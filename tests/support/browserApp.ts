/**
 * The browser-app fixture: a real onair server with the embedded media engine, one Chromium, and a context per
 * page (so per user), all closed after the suite. Call `useBrowserApp()` inside a `describe`.
 */
import { after, before } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchBrowser, newContext } from '../../drivers/browser.js';
import type { SignedInUser } from '../../drivers/http.js';
import { startTestServer, type TestServer } from './server.js';
import { setUpValue } from './fixture.js';

export interface PageOptions {
  /** Signed in as this user (the token the front end keeps in localStorage). */
  user?: SignedInUser | undefined;
  /** The browser's language (Accept-Language and navigator.language). */
  locale?: string;
  /** Scripts run in every document before the app's own. */
  init?: string[];
  viewport?: { width: number; height: number };
}

export interface BrowserApp {
  readonly server: TestServer;
  readonly browser: Browser;
  /** A new page in a context of its own. */
  page(options?: PageOptions): Promise<Page>;
}

/**
 * `env`: the server's environment beyond the test defaults (for example a short RESUME_GRACE_MS); `engineEnv`: the
 * embedded engine's (for example ENGINE_MAX_ENDPOINTS).
 */
export function useBrowserApp(
  options: { env?: Record<string, string>; engineEnv?: Record<string, string> } = {},
): BrowserApp {
  let server: TestServer | undefined;
  let browser: Browser | undefined;
  const contexts: BrowserContext[] = [];
  before(async () => {
    server = await startTestServer({
      ...(options.env ? { env: options.env } : {}),
      server: { media: options.engineEnv ? { engineEnv: options.engineEnv } : {} },
    });
    browser = await launchBrowser();
  });
  after(async () => {
    for (const context of contexts.splice(0)) await context.close();
    await browser?.close();
    await server?.close();
  });
  const started = setUpValue('the browser app is not started yet (use it inside a test)');
  const app: BrowserApp = {
    get server() {
      return started(server);
    },
    get browser() {
      return started(browser);
    },
    async page(options = {}) {
      const context = await newContext(app.browser, app.server.url, options.locale);
      contexts.push(context);
      if (options.user)
        await context.addInitScript(`localStorage.setItem('onair.token', ${JSON.stringify(options.user.token)})`);
      for (const script of options.init ?? []) await context.addInitScript(script);
      const page = await context.newPage();
      if (options.viewport) await page.setViewportSize(options.viewport);
      return page;
    },
  };
  return app;
}
