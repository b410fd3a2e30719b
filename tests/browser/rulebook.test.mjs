// The rulebook pages in a real browser (issue 9, item 5): an operator changes the welcome on
// the template page, saves, opens the sandbox and sees the new welcome when someone joins; a
// bad value is shown next to its field and nothing is saved; rolling back brings the old
// welcome back. Screenshots of each page are kept as artifacts.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launchBrowser, screenshot, signIn, startServer, watchPage } from "./support.mjs";

let server, browser, context;

const WELCOME = 'textarea[data-path="templates.default.welcome.text"]';
const NEW_WELCOME = "欢迎 {name} 来到「{group}」！这里是新的欢迎语 🎈";

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  context = await browser.newContext();
});

after(async () => {
  await context?.close();
  await browser?.close();
  await server?.stop();
});

async function version() {
  const response = await fetch(`${server.base}/api/v1/rulebook`);
  return (await response.json()).version;
}

// Joins the sandbox's group as `name` and waits for the bot's welcome mentioning them.
async function joinInSandbox(page, name) {
  await page.locator("#player-name").waitFor();
  await page.fill("#player-name", name);
  await page.press("#player-name", "Enter");
  await page.locator("#players button", { hasText: name }).click();
  await page.click("#act-join");
  const welcome = page.locator(".row.bot .bubble").filter({ has: page.locator(".mention", { hasText: `@${name}` }) });
  await welcome.first().waitFor({ timeout: 15_000 });
  return welcome.first().innerText();
}

test("a welcome changed on the template page greets the next newcomer in the sandbox", async () => {
  const page = await context.newPage();
  const problems = watchPage(page, server);
  await signIn(page, server);
  await page.goto(`${server.base}/rulebook`);
  await page.locator("#templates a", { hasText: "default" }).waitFor();
  await screenshot(page, "rulebook-index");
  await page.click("#templates a:text('default')");
  await page.locator(WELCOME).waitFor();
  assert.match(await page.inputValue(WELCOME), /欢迎 \{name\} 加入「\{group\}」/);
  await screenshot(page, "rulebook-template");

  const before = await version();
  await page.fill(WELCOME, NEW_WELCOME);
  await page.fill("input[data-note]", "新的欢迎语");
  await Promise.all([page.waitForEvent("load"), page.click(".save-bar button[type=submit]")]);
  assert.equal(await version(), before + 1, "saving made a new version");
  assert.equal(await page.inputValue(WELCOME), NEW_WELCOME, "the page shows the saved text");

  // "在沙盒里试试" opens the sandbox next to the editor.
  const [sandbox] = await Promise.all([context.waitForEvent("page"), page.click(".save-bar a:text('在沙盒里试试')")]);
  const sandboxProblems = watchPage(sandbox, server);
  const text = await joinInSandbox(sandbox, "小新");
  assert.match(text, /欢迎 @小新 来到「测试群」！这里是新的欢迎语/);
  await screenshot(sandbox, "rulebook-sandbox-new-welcome");
  await sandbox.close();
  assert.deepEqual(problems, []);
  assert.deepEqual(sandboxProblems, []);
  await page.close();
});

test("a bad value is shown next to its field and nothing is saved", async () => {
  const page = await context.newPage();
  await signIn(page, server);
  await page.goto(`${server.base}/rulebook/templates/default`);
  const before = await version();
  await page.fill(WELCOME, "欢迎 {nmae}");
  await page.click(".save-bar button[type=submit]");
  const error = page.locator(`${WELCOME} + .field-error`);
  await error.waitFor();
  assert.match(await error.innerText(), /nmae/);
  assert.ok(await page.locator(WELCOME).evaluate((el) => el.classList.contains("invalid")));
  await screenshot(page, "rulebook-template-error");
  assert.equal(await version(), before, "nothing was saved");

  // The advanced editor names the line of a mistake in the template's TOML.
  await page.click("#advanced summary");
  const toml = page.locator("#advanced textarea");
  await toml.fill((await toml.inputValue()).replace("batch_window_secs = 3", "batch_window_secs = 9999"));
  await page.click("#advanced button[type=submit]");
  const listed = page.locator("#advanced ul.problems li", { hasText: "batch_window_secs" });
  await listed.waitFor();
  assert.match(await listed.innerText(), /line \d+/);
  assert.equal(await version(), before, "nothing was saved");
  await page.close();
});

test("rolling back to the previous version brings the old welcome back", async () => {
  const page = await context.newPage();
  const problems = watchPage(page, server);
  await signIn(page, server);
  await page.goto(`${server.base}/rulebook/versions`);
  await page.locator("#versions tr[data-version='2']", { hasText: "新的欢迎语" }).waitFor();
  await screenshot(page, "rulebook-versions");

  await page.click("#versions tr[data-version='1'] a:text('与当前比较')");
  await page.locator("#diff tr.del", { hasText: "加入「{group}」" }).waitFor();
  await page.locator("#diff tr.add", { hasText: "这里是新的欢迎语" }).waitFor();
  await screenshot(page, "rulebook-diff");

  const before = await version();
  page.once("dialog", (dialog) => dialog.accept());
  await Promise.all([page.waitForEvent("load"), page.click("button.rollback")]);
  assert.equal(await version(), before + 1, "the rollback is saved as a new version");
  await page.locator(".empty", { hasText: "与当前版本相同" }).waitFor();

  await page.goto(`${server.base}/sandbox`);
  const text = await joinInSandbox(page, "老王");
  assert.match(text, /欢迎 @老王 加入「测试群」/);
  assert.doesNotMatch(text, /新的欢迎语/);
  assert.deepEqual(problems, []);
  await page.close();
});

test("a level row and a FAQ entry added on the form are saved, and the new entry answers in the sandbox", async () => {
  const page = await context.newPage();
  const problems = watchPage(page, server);
  await signIn(page, server);
  await page.goto(`${server.base}/rulebook/templates/default`);
  const ladder = page.locator('[data-field="templates.default.levels.ladder"]');
  await ladder.locator("button.add-row").click();
  const row = ladder.locator(".row-item").last();
  await row.locator('[data-sub=\'["min_points"]\']').fill("5000");
  await row.locator('[data-sub=\'["title"]\']').fill("传奇");

  const entries = page.locator('[data-field="templates.default.auto_reply.entries"]');
  await entries.locator(".new-entry-id").fill("hours");
  await entries.locator("button.add-entry").click();
  const entry = "templates.default.auto_reply.entries.hours";
  await page.fill(`textarea[data-path="${entry}.answer"]`, "{name} 我们每天 9:00–21:00 营业");
  await page.fill(`textarea[data-path="${entry}.triggers.contains"]`, "营业时间");
  await Promise.all([page.waitForEvent("load"), page.click(".save-bar button[type=submit]")]);

  const book = (await (await fetch(`${server.base}/api/v1/rulebook`)).json()).rulebook;
  const settings = book.templates.default;
  assert.deepEqual(settings.levels.ladder.at(-1), { min_points: 5000, title: "传奇" });
  assert.equal(settings.levels.ladder.length, 5);
  assert.deepEqual(settings.auto_reply.entries.hours.triggers.contains, ["营业时间"]);
  assert.ok(settings.auto_reply.entries.returns, "the other entries are kept");
  await page.locator(`textarea[data-path="${entry}.answer"]`).waitFor();

  await page.goto(`${server.base}/sandbox`);
  await joinInSandbox(page, "阿花");
  await page.fill("#message", "请问营业时间是几点？");
  await page.press("#message", "Enter");
  await page.locator(".row.bot .bubble", { hasText: "9:00–21:00 营业" }).first().waitFor({ timeout: 15_000 });
  assert.deepEqual(problems, []);
  await page.close();
});

test("a group is bound to a template with its own override from its page", async () => {
  const page = await context.newPage();
  const problems = watchPage(page, server);
  await signIn(page, server);
  await page.goto(`${server.base}/rulebook`);
  await page.fill("#bindings input[name=group]", "qq/123456");
  await Promise.all([page.waitForURL("**/rulebook/groups/qq/123456"), page.click("#bindings button[type=submit]")]);
  const toml = page.locator("form[data-toml-api] textarea");
  await toml.fill('template = "default"\n\n[overrides]\nrules_text = "只聊咖啡，不发广告"\n');
  await Promise.all([page.waitForEvent("load"), page.click("form[data-toml-api] button[type=submit]")]);
  assert.match(await toml.inputValue(), /只聊咖啡，不发广告/);
  await screenshot(page, "rulebook-group");
  const book = (await (await fetch(`${server.base}/api/v1/rulebook`)).json()).rulebook;
  assert.equal(book.groups["qq/123456"].overrides.rules_text, "只聊咖啡，不发广告");
  await page.goto(`${server.base}/rulebook`);
  await page.locator("#bindings a", { hasText: "qq/123456" }).waitFor();
  assert.deepEqual(problems, []);
  await page.close();
});

test("the template page works on a phone without sideways scrolling", async () => {
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true });
  const page = await phone.newPage();
  await signIn(page, server);
  await page.goto(`${server.base}/rulebook/templates/default`);
  await page.locator(WELCOME).waitFor();
  const overflow = await page.evaluate(() => document.scrollingElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `no sideways scrolling on a phone (overflow ${overflow}px)`);
  await screenshot(page, "rulebook-template-phone");
  await phone.close();
});
