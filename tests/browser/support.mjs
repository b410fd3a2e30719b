// Shared set-up for the browser tests: a real qunzhu server on a free port with its own data
// directory, Debian's headless Chromium through playwright-core, screenshots as artifacts.
//
// QUNZHU_BIN:         the qunzhu binary (default: $CARGO_TARGET_DIR/debug/qunzhu).
// CHROMIUM:           the browser (default: /usr/bin/chromium).
// QUNZHU_SCREENSHOTS: where screenshots go (default: tests/browser/artifacts, git-ignored).

import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const bin = process.env.QUNZHU_BIN ?? join(process.env.CARGO_TARGET_DIR ?? "../../target", "debug", "qunzhu");
const artifacts = process.env.QUNZHU_SCREENSHOTS ?? join(dirname(fileURLToPath(import.meta.url)), "artifacts");

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

async function waitForHealth(server) {
  const end = Date.now() + 20_000;
  while (Date.now() < end) {
    if (server.process.exitCode !== null) break;
    try {
      const response = await fetch(`${server.base}/healthz`);
      if (response.ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`qunzhu did not become healthy:\n${server.log()}`);
}

/// Runs `qunzhu <args>` against the server's data directory; resolves with {code, stdout, stderr}.
export function cli(server, args, input) {
  return new Promise((resolve) => {
    const child = spawn(bin, args, { cwd: server.dataDir, env: { ...process.env, NO_COLOR: "1" } });
    let stdout = "", stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
    if (input !== undefined) child.stdin.end(input); else child.stdin.end();
  });
}

/// Starts `qunzhu serve` on a free port with a fresh data directory.
/// Returns { base, dataDir, process, log(), stop() }.
export async function startServer(extraArgs = []) {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), "qunzhu-browser-"));
  let log = "";
  const child = spawn(bin, ["serve", "--listen", `127.0.0.1:${port}`, "--data-dir", dataDir, ...extraArgs], {
    cwd: dataDir,
    env: { ...process.env, RUST_LOG: "info", NO_COLOR: "1" },
  });
  child.stdout.on("data", (d) => (log += d));
  child.stderr.on("data", (d) => (log += d));
  const server = {
    base: `http://127.0.0.1:${port}`,
    dataDir,
    process: child,
    log: () => log,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGKILL");
        await exited;
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  await waitForHealth(server);
  return server;
}

/// Debian's Chromium, headless.
export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
}

/// Signs `page` in to the dashboard (creating the owner on the first-run page when no
/// account exists yet) and waits for the page it lands on.
export async function signIn(page, server, { name = "owner", password = "correct horse battery" } = {}) {
  await page.goto(`${server.base}/login`);
  await page.fill("#login", name);
  await page.fill("#password", password);
  if (new URL(page.url()).pathname === "/setup") await page.fill("#password_again", password);
  await Promise.all([
    page.waitForURL((url) => url.pathname !== "/login" && url.pathname !== "/setup"),
    page.click("button[type=submit]"),
  ]);
  // Node-side API calls of the tests (plain fetch to the server) act as this session, as
  // the page's own script does: the session cookie plus its CSRF token.
  const session = (await page.context().cookies(server.base)).find((c) => c.name === "qunzhu_session");
  const csrf = await page.evaluate(() => document.body.dataset.csrf || "");
  if (session) actAs(server, `qunzhu_session=${session.value}`, csrf);
}

const sessions = new Map();
const plainFetch = globalThis.fetch;
function actAs(server, cookie, csrf) {
  sessions.set(server.base, { cookie, csrf });
  globalThis.fetch = (input, init = {}) => {
    const url = typeof input === "string" ? input : input.url;
    const found = [...sessions.entries()].find(([base]) => url.startsWith(base));
    if (!found) return plainFetch(input, init);
    const headers = new Headers(init.headers || {});
    if (!headers.has("cookie")) headers.set("cookie", found[1].cookie);
    if (!headers.has("x-csrf-token")) headers.set("x-csrf-token", found[1].csrf);
    return plainFetch(input, { ...init, headers });
  };
}

/// Saves a full-page screenshot as a test artifact (tests/browser/artifacts/<name>.png).
export async function screenshot(page, name) {
  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
}

/// Fails the test if the page logged an error or a request for an asset failed, or if it
/// tried to load anything from outside the server (CDNs are blocked for many operators).
export function watchPage(page, server) {
  const problems = [];
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) problems.push(`console: ${m.text()}`);
  });
  page.on("response", (r) => { if (r.status() >= 400) problems.push(`${r.status()} ${r.request().method()} ${r.url()}`); });
  page.on("request", (r) => { if (!r.url().startsWith(server.base) && !r.url().startsWith("data:")) problems.push(`external request: ${r.url()}`); });
  return problems;
}
