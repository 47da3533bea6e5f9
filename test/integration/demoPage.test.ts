import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actOnConnection, connectionRegistry, endpoints, eventBuffer, intent, sendIntent, store, uid, waitFor } from './support.ts';

const CHROMIUM = '/usr/bin/chromium';
let browser: Browser | undefined;
let unavailable: string | undefined;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    // The project's own script installs Debian's chromium; only where that is impossible, skip.
    const install = spawnSync('bash', ['scripts/install-chromium.sh'], { encoding: 'utf8', timeout: 600_000 });
    if (!existsSync(CHROMIUM)) unavailable = `Chromium could not be installed: ${(install.stderr || install.stdout || String(install.error)).trim()}`;
  }
  if (unavailable) return;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}, 660_000);

afterAll(async () => {
  await browser?.close();
});

describe('demo page in headless Chromium', () => {
  it('signs in, shows the live connection, sends a notification through the intake queue and shows it arriving', async (context) => {
    if (unavailable) context.skip(unavailable);
    expect(endpoints.demo).toBeDefined();
    const page = await browser!.newPage();
    try {
      // Prepare
      const user = uid('web');
      await page.goto(endpoints.demo!);
      await page.fill('#user', user);
      await page.click('#signin');
      await page.waitForSelector('#state[data-state="open"]', { timeout: 15_000 });

      // Act
      const text = `hello ${uid('msg')}`;
      await page.fill('#message', text);
      await page.click('#send');

      // Assess
      const item = page.locator('#events li', { hasText: text });
      await item.waitFor({ timeout: 20_000 });
      expect(await item.locator('.kind').textContent()).toBe('ping');
      expect(await item.getAttribute('data-position')).toBe('1');
      expect(await page.textContent('#count')).toBe('1');
      await page.screenshot({ path: '.local/demo-page.png' });
    } finally {
      await page.close();
    }
  });

  it('shows the inbox bell on two pages of one user: reading an item on one drops the count on the other', async (context) => {
    if (unavailable) context.skip(unavailable);
    const user = uid('web-inbox');
    const [laptop, phone] = [await browser!.newPage(), await browser!.newPage()];
    try {
      for (const [page, session] of [[laptop, 'laptop'], [phone, 'phone']] as const) {
        await page.goto(endpoints.demo!);
        await page.fill('#user', user);
        await page.fill('#session', session);
        await page.click('#signin');
        await page.waitForSelector('#state[data-state="open"]', { timeout: 15_000 });
        await page.waitForSelector('#inbox-panel:not([hidden])');
      }

      // Act 1: one notification to the inbox, sent from the laptop's page.
      const text = `inbox ${uid('msg')}`;
      await laptop.fill('#message', text);
      await laptop.click('#send-inbox');

      // Assess: both bells show it.
      for (const page of [laptop, phone]) {
        await page.locator('#inbox li', { hasText: text }).waitFor({ timeout: 20_000 });
        await page.waitForFunction(() => document.querySelector('#bell-count')?.textContent === '1');
      }

      // Act 2: read it on the laptop.
      await laptop.locator('#inbox li', { hasText: text }).locator('.mark-read').click();

      // Assess: the phone's bell drops to 0 and shows the item read.
      await phone.waitForFunction(() => document.querySelector('#bell-count')?.textContent === '0', undefined, { timeout: 15_000 });
      expect(await phone.locator('#inbox li', { hasText: text }).getAttribute('data-state')).toBe('read');
      expect(await laptop.textContent('#bell-count')).toBe('0');
      await phone.screenshot({ path: '.local/demo-inbox.png' });
    } finally {
      await laptop.close();
      await phone.close();
    }
  });

  it("reconnects as soon as the browser is back online, not at the end of its backoff, and shows what came meanwhile", async (context) => {
    if (unavailable) context.skip(unavailable);
    // Offline only after the drop: Chromium's offline emulation may hold back frames of an open
    // socket, the close among them.
    await expectBackOnlyThrough(uid('web-offline'), {
      away: (page) => page.context().setOffline(true),
      back: (page) => page.context().setOffline(false),
    });
  });

  it('offers "Retry now" while it waits out a backoff, which reconnects at once and shows what came meanwhile', async (context) => {
    if (unavailable) context.skip(unavailable);
    await expectBackOnlyThrough(uid('web-retry'), {
      away: async (page) => {
        expect(await page.isVisible('#retry-line')).toBe(true);
        expect(await page.textContent('#retry-line')).toMatch(/^Next attempt in \d+ s Retry now$/);
      },
      back: (page) => page.click('#retry'),
    });
  });

  it('reconnects as soon as the page is visible again, not at the end of its backoff, and shows what came meanwhile', async (context) => {
    if (unavailable) context.skip(unavailable);
    // Headless Chromium keeps every page visible, so the document says it itself.
    const setVisibility = (page: Page, state: 'hidden' | 'visible') =>
      page.evaluate((value) => {
        Object.defineProperty(document, 'visibilityState', { value, configurable: true });
        document.dispatchEvent(new Event('visibilitychange'));
      }, state);
    await expectBackOnlyThrough(uid('web-hidden'), {
      away: (page) => setVisibility(page, 'hidden'),
      back: (page) => setVisibility(page, 'visible'),
    });
  });
});

/**
 * Signs `user` in on the demo page and pauses the page's clock, so no timer of the client can
 * fire; drops the connection, goes `away`, publishes an event and comes `back`: the page must be
 * open again and show the event, which only `back` can have done.
 */
async function expectBackOnlyThrough(user: string, steps: { away(page: Page): Promise<unknown>; back(page: Page): Promise<unknown> }): Promise<void> {
  const page = await browser!.newPage();
  try {
    // Prepare
    await page.clock.install();
    await page.goto(endpoints.demo!);
    await page.fill('#user', user);
    await page.click('#signin');
    await page.waitForSelector('#state[data-state="open"]', { timeout: 15_000 });
    // Open is not enough: until its first resume is answered a new client has no position, and
    // after a drop it would start from the head again, past the event published meanwhile.
    await page.waitForFunction((key) => localStorage.getItem(key) !== null, `herald.demo.${user}.browser`, { timeout: 15_000 });
    await page.clock.pauseAt((await page.evaluate(() => Date.now())) + 1_000);

    // Act: the connection goes, then the user; an event is published meanwhile.
    const [connection] = await connectionRegistry.listForUser(user);
    const drop = await actOnConnection(connection!.connection_id, 'drop');
    expect(drop.status).toBe(200);
    await page.waitForSelector('#state[data-state="reconnecting"]', { timeout: 15_000 });
    await steps.away(page);
    const text = `while away ${uid('msg')}`;
    await sendIntent(intent('ping', { user_id: user }, { text }));
    await waitFor('the event stored', async () => (await eventBuffer.getHead(user))?.position === 1);
    await steps.back(page);

    // Assess
    await page.waitForSelector('#state[data-state="open"]', { timeout: 15_000 });
    const item = page.locator('#events li', { hasText: text });
    await item.waitFor({ timeout: 15_000 });
    expect(await item.getAttribute('data-position')).toBe('1');
  } finally {
    await page.close();
  }
}

describe('demo server', () => {
  it('sends text holding U+FFFF, a character SQS refuses in a body, and Herald stores it unchanged', async () => {
    const response = await fetch(new URL('/send', endpoints.demo!), { method: 'POST', body: JSON.stringify({ user_id: uid('web'), text: 'a\uFFFFb' }) });
    expect(response.status).toBe(202);
    const { notification_id } = (await response.json()) as { notification_id: string };

    const notification = await waitFor('the demo notification accepted', async () => (await store.getNotification(notification_id))?.state === 'accepted' && store.getNotification(notification_id));
    expect(notification!.payload).toEqual({ text: 'a\uFFFFb', sent_from: 'demo page' });
  });
});
