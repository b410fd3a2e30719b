// The README's five-minute tour, in a real browser: serve → open the sandbox → join → get
// welcomed. Drives Debian's headless Chromium with playwright-core against the real binary.
//
// QUNZHU_BIN: the qunzhu binary (default: $CARGO_TARGET_DIR/debug/qunzhu).
// CHROMIUM:   the browser (default: /usr/bin/chromium).

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const bin = process.env.QUNZHU_BIN ?? join(process.env.CARGO_TARGET_DIR ?? "../../target", "debug", "qunzhu");
const dataDir = mkdtempSync(join(tmpdir(), "qunzhu-browser-"));
let server, browser, base, serverLog = "";

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

async function waitForHealth(url, deadlineMs) {
  const end = Date.now() + deadlineMs;
  while (Date.now() < end) {
    try {
      const response = await fetch(`${url}/healthz`);
      if (response.ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`qunzhu did not become healthy:\n${serverLog}`);
}

before(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  server = spawn(bin, ["serve", "--listen", `127.0.0.1:${port}`, "--data-dir", dataDir], {
    cwd: dataDir,
    env: { ...process.env, RUST_LOG: "info", NO_COLOR: "1" },
  });
  server.stdout.on("data", (d) => (serverLog += d));
  server.stderr.on("data", (d) => (serverLog += d));
  await waitForHealth(base, 20_000);
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
});

after(async () => {
  await browser?.close();
  if (server && server.exitCode === null) {
    server.kill("SIGKILL");
  }
  rmSync(dataDir, { recursive: true, force: true });
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
  if (process.env.QUNZHU_SCREENSHOTS) {
    await page.screenshot({ path: join(process.env.QUNZHU_SCREENSHOTS, "sandbox-zh.png"), fullPage: true });
  }

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
  if (process.env.QUNZHU_SCREENSHOTS) {
    await page.screenshot({ path: join(process.env.QUNZHU_SCREENSHOTS, "sandbox-ad.png"), fullPage: true });
  }
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
  if (process.env.QUNZHU_SCREENSHOTS) {
    await page.screenshot({ path: join(process.env.QUNZHU_SCREENSHOTS, "sandbox-en.png"), fullPage: true });
  }
  await page.close();
});

test("SIGTERM stops the server gracefully", async () => {
  const exited = new Promise((resolve) => server.once("exit", (code, signal) => resolve({ code, signal })));
  server.kill("SIGTERM");
  const { code } = await exited;
  assert.equal(code, 0, serverLog);
  assert.match(serverLog, /stopped/);
});
