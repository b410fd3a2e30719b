// The README's five-minute tour, in a real browser: serve → open the sandbox → join → get
// welcomed. Drives Debian's headless Chromium with playwright-core against the real binary.
//
// QUNZHU_BIN: the qunzhu binary (default: $CARGO_TARGET_DIR/debug/qunzhu).
// CHROMIUM:   the browser (default: /usr/bin/chromium).

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launchBrowser, screenshot, startServer } from "./support.mjs";

let server, browser, base;

before(async () => {
  server = await startServer();
  base = server.base;
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test("a newcomer joining in the sandbox is welcomed by name with the group and its rules", async () => {
  const page = await browser.newPage();
  await page.goto(`${base}/sandbox`);
  await page.getByText("点击「加入」看看欢迎语").waitFor();
  await page.click("#act-join");
  const welcome = page.locator(".row.bot .bubble").filter({ has: page.locator(".mention", { hasText: "@小王" }) });
  await welcome.first().waitFor({ timeout: 10_000 });
  const text = await welcome.first().innerText();
  assert.match(text, /欢迎 @小王 加入「测试群」/);
  assert.match(text, /禁止广告/, "the default group rules are part of the welcome");
  // The explanation of the decision is on the page too.
  await page.getByText("新成员 小王 入群").first().waitFor();
  await screenshot(page, "sandbox-zh");

  await page.fill("#message", "大家好，我是小王");
  await page.press("#message", "Enter");
  await page.locator(".row.member .bubble", { hasText: "大家好，我是小王" }).waitFor();
  await page.close();
});

test("a player added by the operator is welcomed too, and the page works on a phone", async () => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true });
  const page = await context.newPage();
  await page.goto(`${base}/sandbox`);
  await page.fill("#player-name", "阿强");
  await page.press("#player-name", "Enter");
  await page.locator("#players", { hasText: "阿强" }).waitFor();
  await page.locator("#players button", { hasText: "阿强" }).click();
  await page.click("#act-join");
  await page.locator(".row.bot .mention", { hasText: "@阿强" }).first().waitFor({ timeout: 10_000 });
  const overflow = await page.evaluate(() => document.scrollingElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `no sideways scrolling on a phone (overflow ${overflow}px)`);
  await context.close();
});

test("an ad posted in the sandbox is deleted and its sender warned by name, with the reason shown", async () => {
  const page = await browser.newPage();
  await page.goto(`${base}/sandbox`);
  await page.fill("#player-name", "推广号");
  await page.press("#player-name", "Enter");
  await page.locator("#players button", { hasText: "推广号" }).click();
  await page.click("#act-join");
  await page.locator(".row.bot .mention", { hasText: "@推广号" }).first().waitFor({ timeout: 10_000 });
  await page.fill("#message", "加 🌹 微 ✨ 信 abc12345，兼职刷单日赚三百");
  await page.press("#message", "Enter");
  await page.locator(".row.member .bubble.deleted", { hasText: "兼职刷单" }).waitFor({ timeout: 10_000 });
  const warning = page.locator(".row.bot .bubble", { hasText: "请勿发送" }).filter({ has: page.locator(".mention", { hasText: "@推广号" }) });
  await warning.first().waitFor({ timeout: 10_000 });
  await page.getByText("兼职刷单", { exact: false }).first().waitFor();
  await screenshot(page, "sandbox-ad");
  await page.close();
});

test("the sandbox speaks English when asked", async () => {
  const page = await browser.newPage();
  await page.goto(`${base}/sandbox?lang=en`);
  assert.match(await page.title(), /sandbox/i);
  assert.equal((await page.innerText("#act-join")).trim(), "Join");
  await page.fill("#player-name", "Tom");
  await page.press("#player-name", "Enter");
  await page.locator("#players button", { hasText: "Tom" }).click();
  await page.click("#act-join");
  await page.locator(".row.bot .mention", { hasText: "@Tom" }).first().waitFor({ timeout: 10_000 });
  await screenshot(page, "sandbox-en");
  await page.close();
});

test("SIGTERM stops the server gracefully", async () => {
  const exited = new Promise((resolve) => server.process.once("exit", (code, signal) => resolve({ code, signal })));
  server.process.kill("SIGTERM");
  const { code } = await exited;
  assert.equal(code, 0, server.log());
  assert.match(server.log(), /stopped/);
});
