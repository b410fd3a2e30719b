// The insight pages in a real browser: the overview of seeded groups, a search, a group's
// page with its ECharts charts and the weekly CSV download, a member's profile where a tag
// is added through the API, and the connectors page. Screenshots of each page.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { launchBrowser, screenshot, signIn, startServer, watchPage } from "./support.mjs";

let server, browser;

async function post(path, body) {
  const response = await fetch(`${server.base}${path}`, {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body),
  });
  const data = await response.json();
  assert.ok(response.ok, `${path}: ${response.status} ${JSON.stringify(data)}`);
  return data;
}

async function sandboxGroup(name) {
  return (await post("/api/v1/sandbox/groups", { name })).id;
}

async function event(group, body) {
  return post(`/api/v1/sandbox/groups/${group}/events`, body);
}

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  const math = await sandboxGroup("三年级数学家长群");
  const english = await sandboxGroup("英语角");
  for (const [id, name] of [["p1", "王妈妈"], ["p2", "李爸爸"], ["p3", "赵奶奶"]]) {
    await event(math, { type: "join", member: { id, name } });
  }
  await event(math, { type: "message", member: { id: "p1", name: "王妈妈" }, text: "请问明天几点放学？" });
  await event(math, { type: "message", member: { id: "p2", name: "李爸爸" }, text: "下午四点" });
  await event(math, { type: "message", member: { id: "p1", name: "王妈妈" }, text: "收到，谢谢老师" });
  await event(english, { type: "join", member: { id: "e1", name: "Lily" } });
  await event(english, { type: "message", member: { id: "e1", name: "Lily" }, text: "Good morning" });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test("an operator finds a group, reads its charts, downloads the weekly table and tags a member", async () => {
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  const problems = watchPage(page, server);
  await signIn(page, server);

  await page.goto(`${server.base}/`);
  await page.locator("#groups tr[data-group]").first().waitFor();
  assert.ok(await page.locator("#groups tr[data-group]").count() >= 2, "the seeded groups");
  assert.ok(await page.locator("#groups svg.spark").count() >= 2, "a sparkline per group");
  await screenshot(page, "insight-overview");

  await page.fill("input[name=q]", "数学");
  await page.click("form[role=search] button[type=submit]");
  await page.locator("#match-count").waitFor();
  assert.equal(await page.locator("#groups tr[data-group]").count(), 1, "the search leaves the maths group");
  await page.click("#groups a", { hasText: "三年级数学家长群" });
  await page.getByRole("heading", { name: /三年级数学家长群/ }).waitFor();

  // ECharts draws into each chart container (SVG renderer).
  await page.locator(".chart svg").first().waitFor({ timeout: 10_000 });
  await page.locator("#peak-hours svg").waitFor({ timeout: 10_000 });
  assert.ok(await page.locator(".chart svg").count() >= 4, "messages, active members, joins/leaves and the heatmap");
  await screenshot(page, "insight-group");

  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#weekly-csv")]);
  const csv = (await readFile(await download.path(), "utf8")).replace(/^\uFEFF/, "");
  const lines = csv.trim().split("\r\n");
  assert.match(lines[0], /^week_start,members,active,silent_pct,messages,/);
  assert.equal(lines.length, 9, "a header and eight weeks");
  const thisWeek = lines[8].split(",");
  assert.deepEqual([thisWeek[1], thisWeek[2], thisWeek[4]], ["3", "2", "3"], "three members, two active, three messages");

  await page.click("#core-members a", { hasText: "王妈妈" });
  await page.getByRole("heading", { name: /王妈妈/ }).waitFor();
  await page.locator("#groups a", { hasText: "三年级数学家长群" }).or(page.locator("#groups a", { hasText: "sandbox/" })).first().waitFor();
  await page.fill("#add-tag input[name=add]", "VIP, 热心家长");
  await page.click("#add-tag button[type=submit]");
  await page.locator("#tags [data-tag=VIP]").waitFor();
  await page.locator("#tags [data-tag=热心家长]").waitFor();
  await screenshot(page, "insight-profile");

  await page.goto(`${server.base}/members?tag=VIP`);
  assert.equal(await page.locator("#members tr[data-member]").count(), 1, "the tagged member is found by tag");
  await screenshot(page, "insight-members");

  await page.goto(`${server.base}/connectors`);
  await page.locator("[data-connector=sandbox]").waitFor();
  await screenshot(page, "insight-connectors");
  assert.deepEqual(problems, []);
  await context.close();
});
