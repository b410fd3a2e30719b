// Accounts in a real browser: the first run creates the owner, the owner adds a viewer, the
// viewer sees no edit controls and a forced change is refused by the API.

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

test("first run, sign-in, and a viewer who cannot change anything", async () => {
  const owner = await browser.newContext();
  const page = await owner.newPage();
  const problems = watchPage(page, server);

  await page.goto(`${server.base}/`);
  assert.equal(new URL(page.url()).pathname, "/setup", "every page leads to the first run");
  await page.locator("h2", { hasText: "创建所有者账号" }).waitFor();
  await screenshot(page, "accounts-setup");
  await signIn(page, server, { name: "boss", password: "correct horse battery" });
  assert.equal(new URL(page.url()).pathname, "/");

  await page.goto(`${server.base}/settings/accounts`);
  await page.fill("#login", "guest");
  await page.fill("#display_name", "访客小李");
  await page.fill("#password", "viewer password");
  await page.selectOption("select[name=role] >> nth=-1", "viewer");
  await page.click("form[action='/settings/accounts'] button[type=submit]");
  await page.locator("tr[data-login=guest]").waitFor();
  await screenshot(page, "accounts-settings");
  await page.click(".topbar form[action='/logout'] button");
  await page.waitForURL((url) => url.pathname === "/login");
  assert.deepEqual(problems, []);
  await owner.close();

  const guest = await browser.newContext();
  const viewer = await guest.newPage();
  await viewer.goto(`${server.base}/login`);
  await viewer.fill("#login", "guest");
  await viewer.fill("#password", "wrong password");
  await viewer.click("button[type=submit]");
  await viewer.locator(".flash.error", { hasText: "登录名或密码不对" }).waitFor();
  await signIn(viewer, server, { name: "guest", password: "viewer password" });
  await viewer.locator(".who", { hasText: "访客小李" }).waitFor();
  assert.equal(await viewer.locator("nav.nav a[href='/settings/accounts']").count(), 0, "no settings for a viewer");
  assert.equal(await viewer.locator("[data-api]").count(), 0, "no edit controls");
  await screenshot(viewer, "accounts-viewer");

  const forced = await viewer.evaluate(async () => {
    const response = await fetch("/api/v1/tasks/1/status", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": document.body.dataset.csrf },
      body: JSON.stringify({ status: "done" }),
    });
    return { status: response.status, body: await response.json() };
  });
  assert.equal(forced.status, 403);
  assert.equal(forced.body.error.code, "forbidden_role");
  const settings = await viewer.goto(`${server.base}/settings/accounts`);
  assert.equal(settings.status(), 403);
  await guest.close();
});
