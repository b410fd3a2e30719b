// The dashboard shell in a real browser: it loads with nothing from outside the server,
// switches language, and works on a phone.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launchBrowser, screenshot, signIn, startServer, watchPage } from "./support.mjs";

let server, browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test("the overview loads in Chinese with every asset from the server itself, and switches to English", async () => {
  const page = await browser.newPage();
  const problems = watchPage(page, server);
  await signIn(page, server);
  await page.goto(`${server.base}/`);
  assert.equal(await page.getAttribute("html", "lang"), "zh-CN");
  await page.locator("nav.nav a.active", { hasText: "总览" }).waitFor();
  await screenshot(page, "overview-zh");
  await page.click("a.lang");
  await page.locator("nav.nav a.active", { hasText: "Overview" }).waitFor();
  assert.equal(await page.getAttribute("html", "lang"), "en");
  await page.goto(`${server.base}/`);
  assert.equal(await page.getAttribute("html", "lang"), "en", "the language choice is remembered");
  assert.deepEqual(problems, []);
  await page.close();
});

test("on a phone the navigation folds behind a menu button and nothing scrolls sideways", async () => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true });
  const page = await context.newPage();
  await signIn(page, server);
  await page.goto(`${server.base}/?lang=zh-CN`);
  assert.equal(await page.isVisible("nav.nav"), false);
  await page.click(".menu-toggle");
  assert.equal(await page.isVisible("nav.nav"), true);
  const overflow = await page.evaluate(() => document.scrollingElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `no sideways scrolling on a phone (overflow ${overflow}px)`);
  await screenshot(page, "overview-phone");
  await context.close();
});
