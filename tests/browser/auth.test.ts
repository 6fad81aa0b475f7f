/**
 * Accounts through the UI, in real Chromium against a real server (front/dist, MariaDB):
 * register, stay signed in across a reload, log out, log in again, wrong password, a revoked session, and a
 * session logged out elsewhere while the app is open (the server's `session:ended` on its socket).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, beforeEach, afterEach, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchBrowser, newContext } from '../../drivers/browser.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { skipUnless } from '../support/services.js';

const PASSWORD = 'correct horse battery';
const WAIT = { timeout: 30_000 };

describe('accounts in the browser', { skip: skipUnless('chromium', 'mariadb') }, () => {
  let server: TestServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;

  before(async () => {
    server = await startTestServer();
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  beforeEach(async () => {
    context = await newContext(browser, server.url);
    page = await context.newPage();
  });

  afterEach(async () => {
    await context?.close();
  });

  /** A nickname nobody has used yet. */
  const freshNickname = () => `u${randomBytes(5).toString('hex')}`;

  async function fillAndSubmit(nickname: string, password: string): Promise<void> {
    await page.getByTestId('nickname').fill(nickname);
    await page.getByTestId('password').fill(password);
    await page.getByTestId('submit').click();
  }

  async function register(nickname: string): Promise<void> {
    await page.goto('/register');
    await fillAndSubmit(nickname, PASSWORD);
    await expectSignedInAs(nickname);
  }

  async function expectSignedInAs(nickname: string): Promise<void> {
    await page.getByTestId('user-nickname').filter({ hasText: nickname }).waitFor(WAIT);
  }

  async function expectOnLoginPage(): Promise<void> {
    await page.waitForURL((url) => url.pathname === '/login', WAIT);
    await page.getByTestId('submit').waitFor(WAIT);
  }

  async function logOutThroughMenu(): Promise<void> {
    await page.getByTestId('user-menu').click();
    await page.getByTestId('logout').click();
    await expectOnLoginPage();
  }

  const storedToken = () => page.evaluate<string | null>(`localStorage.getItem('onair.token')`);

  /** Revokes the page's token behind its back, as when it expires or is logged out elsewhere (closing the page first). */
  async function revokeStoredToken({ closing = false } = {}): Promise<void> {
    const token = await storedToken();
    assert.ok(token, 'the page holds a token');
    if (closing) await page.close();
    const response = await fetch(`${server.url}/api/auth/logout`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}` },
    });
    assert.ok(response.ok, `logout answered ${response.status}`);
  }

  /**
   * Cuts the page off from the signalling (a network that drops WebSocket and polling), so that only REST can
   * tell it its session is over: the app's socket would hear `session:ended` first.
   */
  async function cutSignalling(): Promise<void> {
    await context.routeWebSocket(/\/socket\.io\//, (ws) => ws.close());
    await context.route(/\/socket\.io\//, (route) => route.abort());
  }

  /** Waits until another account sees `nickname` online: the page's socket is connected. */
  async function expectOnline(nickname: string): Promise<void> {
    const other = await fetch(`${server.url}/api/auth/register`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ nickname: freshNickname(), password: PASSWORD }),
    });
    assert.equal(other.status, 201);
    const { token } = (await other.json()) as { token: string };
    const deadline = Date.now() + WAIT.timeout;
    for (;;) {
      const answer = await fetch(`${server.url}/api/users/online`, { headers: { Authorization: `Bearer ${token}` } });
      const { users } = (await answer.json()) as { users: Array<{ nickname: string }> };
      if (users.some((u) => u.nickname === nickname)) return;
      assert.ok(Date.now() < deadline, `${nickname} never showed online`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  it('a signed-out visitor is sent to the login page', async () => {
    await page.goto('/recordings');
    await expectOnLoginPage();
    assert.equal(new URL(page.url()).searchParams.get('redirect'), '/recordings');
  });

  it('registering through the form signs the user in and shows the app with its navigation', async () => {
    const nickname = freshNickname();
    await register(nickname);
    assert.equal(new URL(page.url()).pathname, '/');
    assert.equal(await page.getByTestId('page-title').textContent(), 'Live now');
    for (const [testid, path, title] of [
      ['nav-go-live', '/go-live', 'Go live'],
      ['nav-recordings', '/recordings', 'Recordings'],
      ['nav-calls', '/calls', 'Calls'],
      ['nav-live-now', '/', 'Live now'],
    ] as const) {
      await page.getByTestId(testid).click();
      await page.waitForURL((url) => url.pathname === path, WAIT);
      await page.getByTestId('page-title').filter({ hasText: title }).waitFor(WAIT);
    }
  });

  it('the user stays signed in after a reload', async () => {
    const nickname = freshNickname();
    await register(nickname);
    await page.getByTestId('nav-calls').click();
    await page.waitForURL((url) => url.pathname === '/calls', WAIT);
    await page.reload();
    await expectSignedInAs(nickname);
    assert.equal(new URL(page.url()).pathname, '/calls');
  });

  it('logging out returns to the login page, revokes the token, and logging in again works', async () => {
    const nickname = freshNickname();
    await register(nickname);
    const token = await storedToken();
    assert.ok(token);

    await logOutThroughMenu();
    assert.equal(await storedToken(), null);
    const me = await fetch(`${server.url}/api/me`, { headers: { Authorization: `Bearer ${token}` } });
    assert.equal(me.status, 401);

    await page.reload();
    await expectOnLoginPage();
    await fillAndSubmit(nickname, PASSWORD);
    await expectSignedInAs(nickname);
  });

  it('a wrong password shows a clear error and does not sign in', async () => {
    const nickname = freshNickname();
    await register(nickname);
    await logOutThroughMenu();

    await fillAndSubmit(nickname, 'not the password');
    const error = page.getByTestId('auth-error');
    await error.waitFor(WAIT);
    assert.match((await error.textContent()) ?? '', /wrong nickname or password/i);
    assert.equal(new URL(page.url()).pathname, '/login');
    assert.equal(await storedToken(), null);
  });

  it('a nickname already taken is shown on the register form', async () => {
    const nickname = freshNickname();
    await register(nickname);
    await logOutThroughMenu();

    await page.getByTestId('go-register').click();
    await page.waitForURL((url) => url.pathname === '/register', WAIT);
    await fillAndSubmit(nickname, PASSWORD);
    await page
      .locator('.el-form-item__error')
      .filter({ hasText: /taken|already/i })
      .waitFor(WAIT);
    assert.equal(await storedToken(), null);
  });

  it('a password that breaks the rules is refused before anything is sent', async () => {
    let registerCalls = 0;
    page.on('request', (request) => {
      if (request.url().endsWith('/api/auth/register')) registerCalls++;
    });
    await page.goto('/register');
    await fillAndSubmit(freshNickname(), 'short');
    await page
      .locator('.el-form-item__error')
      .filter({ hasText: /at least/i })
      .waitFor(WAIT);
    assert.equal(registerCalls, 0);
  });

  it('a session revoked while the app is closed sends the user to log in with "your session has expired" at the next visit, then back where they were', async () => {
    const nickname = freshNickname();
    await register(nickname);
    await page.getByTestId('nav-recordings').click();
    await page.waitForURL((url) => url.pathname === '/recordings', WAIT);

    await revokeStoredToken({ closing: true });

    page = await context.newPage();
    await page.goto('/recordings');
    await expectOnLoginPage();
    const notice = page.getByTestId('session-notice');
    await notice.waitFor(WAIT);
    assert.match((await notice.textContent()) ?? '', /your session has expired/i);
    assert.equal(await storedToken(), null);

    await fillAndSubmit(nickname, PASSWORD);
    await expectSignedInAs(nickname);
    assert.equal(new URL(page.url()).pathname, '/recordings');
    assert.equal(await page.getByTestId('session-notice').count(), 0);
  });

  it('without its socket, a token revoked while the app is open sends the user to log in at the next navigation', async () => {
    await cutSignalling();
    const nickname = freshNickname();
    await register(nickname);
    await revokeStoredToken();

    await page.getByTestId('nav-go-live').click();
    await expectOnLoginPage();
    const notice = page.getByTestId('session-notice');
    await notice.waitFor(WAIT);
    assert.match((await notice.textContent()) ?? '', /your session has expired/i);
    assert.equal(new URL(page.url()).searchParams.get('redirect'), '/go-live');
  });

  it('a session logged out elsewhere sends the open app to log in at once, saying it was logged out', async () => {
    const nickname = freshNickname();
    await register(nickname);
    await page.getByTestId('nav-recordings').click();
    await page.waitForURL((url) => url.pathname === '/recordings', WAIT);
    await expectOnline(nickname);

    // Logged out from outside the page; the page does nothing (no navigation, no reload): only its socket hears.
    await revokeStoredToken();

    await expectOnLoginPage();
    const notice = page.getByTestId('session-notice');
    await notice.waitFor(WAIT);
    // Not the "expired" notice a refused token gives: this one comes from `session:ended` (auth.invalidToken).
    assert.match((await notice.textContent()) ?? '', /you were logged out/i);
    assert.equal(await storedToken(), null);
    assert.equal(new URL(page.url()).searchParams.get('redirect'), '/recordings');

    await fillAndSubmit(nickname, PASSWORD);
    await expectSignedInAs(nickname);
    assert.equal(new URL(page.url()).pathname, '/recordings');
  });
});
