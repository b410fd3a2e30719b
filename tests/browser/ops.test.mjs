// The operations pages in a real browser: create a channel and download its QR code; undo a
// moderation action on an ad posted through the sandbox; every page loads with nothing from
// outside the server (screenshots kept as artifacts).

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { launchBrowser, screenshot, signIn, startServer, watchPage } from "./support.mjs";

const AD = "加薇信 abc12345，兼职刷单日赚三百";

let server, browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function api(method, path, body) {
  const response = await fetch(`${server.base}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json();
  assert.ok(response.ok, `${method} ${path}: ${response.status} ${JSON.stringify(data)}`);
  return data;
}

test("an operator creates a channel and downloads its QR code as a PNG", async () => {
  const page = await browser.newPage({ acceptDownloads: true });
  const problems = watchPage(page, server);
  await signIn(page, server);
  await page.goto(`${server.base}/channels`);
  await page.fill("#channel-new [name=id]", "metro-poster");
  await page.fill("#channel-new [name=name]", "地铁海报");
  await page.selectOption("#channel-new [name=tier]", "weak");
  await page.fill("#channel-new [name=tags]", "线下, 海报");
  await page.click("#channel-new [type=submit]");
  const row = page.locator('tr[data-channel="metro-poster"]');
  await row.waitFor();
  assert.match(await row.innerText(), /地铁海报/);
  await row.locator("img.qr").evaluate((img) => img.complete || new Promise((r) => (img.onload = r)));
  assert.ok(await row.locator("img.qr").evaluate((img) => img.naturalWidth > 0), "the QR code is shown");
  await screenshot(page, "ops-channels");

  const [download] = await Promise.all([page.waitForEvent("download"), row.locator("a.download").click()]);
  assert.equal(download.suggestedFilename(), "qunzhu-metro-poster.png");
  const bytes = readFileSync(await download.path());
  assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], "a PNG arrives");

  const { channel } = await api("GET", "/api/v1/channels/metro-poster");
  assert.deepEqual([...channel.tags].sort(), ["海报", "线下"].sort(), "the tags typed in the form");
  assert.deepEqual(problems, []);
  await page.close();
});

test("an operator undoes the penalty of an ad posted in the sandbox, and the API agrees", async () => {
  const group = await api("POST", "/api/v1/sandbox/groups", { name: "家长群" });
  const posted = await api("POST", `/api/v1/sandbox/groups/${group.id}/events`, { type: "message", member: { name: "推广号" }, text: AD });
  assert.ok(JSON.stringify(posted.actions).includes('"delete"'), `the ad is deleted: ${JSON.stringify(posted.actions)}`);
  const { violations } = await api("GET", "/api/v1/violations?status=active");
  assert.equal(violations.length, 1);
  const id = violations[0].id;

  const page = await browser.newPage();
  const problems = watchPage(page, server);
  await signIn(page, server);
  await page.goto(`${server.base}/moderation`);
  const row = page.locator(`tr[data-violation="${id}"]`);
  await row.waitFor();
  assert.match(await row.innerText(), /推广号/);
  assert.match(await row.locator("td.status").innerText(), /生效中/);
  await screenshot(page, "ops-moderation");
  await row.getByRole("button", { name: "撤销处罚" }).click();
  await page.locator(`tr[data-violation="${id}"][data-status="undone"]`).waitFor();
  assert.match(await page.locator(`tr[data-violation="${id}"] td.status`).innerText(), /已撤销/);
  assert.equal(await page.locator(`tr[data-violation="${id}"] button`).count(), 0, "no undo button on an undone violation");

  const { violation } = await api("GET", `/api/v1/violations/${encodeURIComponent(id)}`);
  assert.equal(violation.status, "undone");
  assert.deepEqual(problems, []);
  await page.close();
});

test("a ticket made by hand on the tickets page gets a due date in Shanghai time and moves when resolved", async () => {
  const page = await browser.newPage();
  const problems = watchPage(page, server);
  await signIn(page, server);
  await page.goto(`${server.base}/tickets`);
  await page.fill("#ticket-new [name=group]", "sandbox/g1");
  await page.fill("#ticket-new [name=title]", "家长反映作业太多");
  await page.fill("#ticket-new [name=owner]", "王老师");
  await page.fill("#ticket-new [name=due_at]", "2030-01-02T09:30");
  await page.click("#ticket-new [type=submit]");
  const open = page.locator('section[data-status="open"] article', { hasText: "家长反映作业太多" });
  await open.waitFor();
  const { tickets } = await api("GET", "/api/v1/tickets");
  assert.equal(tickets[0].due_at, "2030-01-02T01:30:00Z", "09:30 in Shanghai");

  await open.locator("summary").click();
  await open.locator("select[name=status]").selectOption("resolved");
  await open.locator("input[name=note]").fill("已电话回访");
  await open.locator("button[type=submit]").click();
  await page.locator('section[data-status="resolved"] article', { hasText: "已电话回访" }).waitFor();
  await screenshot(page, "ops-tickets");
  assert.deepEqual(problems, []);
  await page.close();
});

test("every operations page loads in Chinese and English with nothing from outside the server", async () => {
  await api("POST", "/api/v1/schedules", { by: "owner", name: "早安", when: { type: "cron", cron: "0 8 * * *" },
    target: { type: "connector", connector: "sandbox" }, post: { text: "{group} 早上好" } });
  await api("POST", "/api/v1/content", { title: "群规", body: { type: "text", text: "友善交流" }, tags: ["faq"], by: "owner" });
  await api("PUT", "/api/v1/shop/items/mug", { name: "马克杯", cost: 100, stock: 5, by: "owner" });
  const page = await browser.newPage();
  const problems = watchPage(page, server);
  await signIn(page, server);
  for (const [path, zh, en] of [
    ["/moderation", "内容安全", "Moderation"], ["/tasks", "待办", "Staff tasks"], ["/tickets", "问题清单", "Tickets"],
    ["/channels", "渠道活码", "Channels"], ["/schedules", "定时发布", "Schedules"], ["/content", "内容库与问答", "Content & FAQ"],
    ["/lotteries", "抽奖与接龙", "Lotteries & sign-ups"], ["/redemptions", "积分兑换", "Redemptions"],
  ]) {
    await page.goto(`${server.base}${path}?lang=zh-CN`);
    assert.equal(await page.locator("h1").innerText(), zh);
    await screenshot(page, `ops${path.replaceAll("/", "-")}-zh`);
    await page.goto(`${server.base}${path}?lang=en`);
    assert.equal(await page.locator("h1").innerText(), en);
  }
  // The schedule's own page lists its next runs; the FAQ test box answers from the API.
  await page.goto(`${server.base}/schedules?lang=zh-CN`);
  await page.locator("#schedules a", { hasText: "早安" }).click();
  assert.equal(await page.locator("#runs li").count(), 10);
  await screenshot(page, "ops-schedule-runs");
  await page.goto(`${server.base}/content`);
  await page.fill("#faq-test [name=group]", "sandbox/g1");
  await page.fill("#faq-test [name=text]", "群规是什么？");
  await page.click("#faq-test [type=submit]");
  await page.waitForFunction(() => document.querySelector("#faq-result").textContent.length > 0);
  assert.deepEqual(problems, []);
  await page.close();
});
