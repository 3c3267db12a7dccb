// slim-server's page in a real browser: headless Chromium (Debian's package) driven by
// puppeteer-core, against a slim-server on loopback with stories260K.
//   node tests/webui/webui_test.mjs SLIM_SERVER MODEL_DIR OUT_DIR
// Checks: the page loads with no console errors and no request to another origin; a typed message
// gets a streamed reply equal to the API's greedy reply for the same messages; stop cancels the
// request (the server's slot is freed); a reply containing markup shows as characters; the mode
// select and the settings panel work. Saves OUT_DIR/webui.png. Exits non-zero on any failure,
// including puppeteer-core or Chromium missing.
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { mkdirSync } from "node:fs";
import path from "node:path";

const [server, model, out] = process.argv.slice(2);
if (!server || !model || !out) {
  console.error("usage: webui_test.mjs SLIM_SERVER MODEL_DIR OUT_DIR");
  process.exit(2);
}
// puppeteer-core is installed by scripts/test.sh under BUILD/npm (NODE_PATH points there).
const require = createRequire(path.join(process.env.SLIM_NPM_DIR || ".", "node_modules", "x.js"));
const puppeteer = require("puppeteer-core");
const chromium = process.env.CHROMIUM || "/usr/bin/chromium";

let failures = 0;
function check(ok, what) {
  console.log((ok ? "ok   " : "FAIL ") + what);
  if (!ok) failures++;
}

function startServer(extra = []) {
  return new Promise((resolve, reject) => {
    const proc = spawn(server, ["--model", model, "--port", "0", "--threads", "1", "--parallel", "2", ...extra], { stdio: ["ignore", "pipe", "inherit"] });
    proc.on("error", reject);
    proc.stdout.once("data", (d) => {
      const m = /listening on (http:\/\/[^\s]+)/.exec(String(d));
      if (!m) reject(new Error("unexpected output: " + d));
      else resolve({ proc, url: m[1] });
    });
  });
}

async function waitReady(url) {
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(url + "/health")).status === 200) return;
    } catch (e) { /* not yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("the server never became ready");
}

const { proc, url } = await startServer();
let browser;
try {
  await waitReady(url);
  mkdirSync(out, { recursive: true });
  browser = await puppeteer.launch({ executablePath: chromium, headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
  const page = await browser.newPage();
  await page.setViewport({ width: 360, height: 740 });  // the narrowest phone the issue names
  const errors = [], foreign = [];
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("request", (r) => { if (!r.url().startsWith(url) && !r.url().startsWith("data:")) foreign.push(r.url()); });
  await page.goto(url + "/", { waitUntil: "networkidle0" });
  await page.waitForFunction(() => document.getElementById("model").textContent.includes("context"));
  check((await page.$eval("#model", (e) => e.textContent)).includes("stories260K"), "the header names the model");

  // Greedy settings, kept in local storage.
  await page.click("#toggle-settings");
  await page.$eval("#temperature", (e) => { e.value = "0"; e.dispatchEvent(new Event("input")); });
  await page.$eval("#max-tokens", (e) => { e.value = "24"; e.dispatchEvent(new Event("input")); });
  check(await page.evaluate(() => localStorage.getItem("slim.temperature") === "0"), "settings are kept in local storage");

  // A typed message: the streamed reply equals the API's greedy answer for the same messages.
  const message = "Once upon a time";
  await page.type('[data-testid="prompt"]', message);
  await page.click('[data-testid="send"]');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="reply"]').length === 1 &&
    !document.querySelector('[data-testid="send"]').disabled, { timeout: 60000 });
  const shown = await page.$eval('[data-testid="reply"]', (e) => e.textContent);
  const api = await (await fetch(url + "/v1/chat/completions", { method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ messages: [{ role: "user", content: message }], temperature: 0, max_tokens: 24 }) })).json();
  check(shown.length > 0 && shown === api.choices[0].message.content,
    `the streamed reply equals the API's greedy reply (${JSON.stringify(shown)})`);
  check(/tokens\/s/.test(await page.$eval("#speed", (e) => e.textContent)), "the speed of the last reply is shown");
  await page.screenshot({ path: path.join(out, "webui.png") });

  // Stop: a long reply is cut off, and the server frees the slot (nothing left running).
  await page.$eval("#max-tokens", (e) => { e.value = "100000"; e.dispatchEvent(new Event("input")); });
  await page.click("#clear");
  await page.type('[data-testid="prompt"]', "Tell me a long story");
  await page.click('[data-testid="send"]');
  await page.waitForFunction(() => (document.querySelector('[data-testid="reply"]')?.textContent.length ?? 0) > 0, { timeout: 60000 });
  await page.click('[data-testid="stop"]');
  await page.waitForFunction(() => !document.querySelector('[data-testid="send"]').disabled, { timeout: 10000 });
  const stopped = await page.$eval('[data-testid="reply"]', (e) => e.textContent);
  await new Promise((r) => setTimeout(r, 500));
  check(stopped === await page.$eval('[data-testid="reply"]', (e) => e.textContent), "stop ends the reply");
  let busy = -1;
  for (let i = 0; i < 100 && busy !== 0; i++) {
    const metrics = await (await fetch(url + "/metrics")).text();
    const m = /^slim_busy_slots\s+(\d+)/m.exec(metrics);
    busy = m ? Number(m[1]) : -1;
    if (busy !== 0) await new Promise((r) => setTimeout(r, 100));
  }
  check(busy === 0, "the server freed the slot after stop");

  // Markup in a reply shows as text: the page is given a reply holding HTML (the model cannot be
  // made to write one), through request interception of the chat endpoint.
  await page.setRequestInterception(true);
  const fake = (r) => {
    if (!r.url().endsWith("/v1/chat/completions")) return r.continue();
    const chunk = (c) => "data: " + JSON.stringify({ choices: [{ index: 0, delta: { content: c } }] }) + "\n\n";
    r.respond({ status: 200, contentType: "text/event-stream",
      body: chunk("<script>window.injected = 1</script>") + chunk("<b>bold</b> & <img src=x onerror=window.injected=2>") + "data: [DONE]\n\n" });
  };
  page.on("request", fake);
  await page.click("#clear");
  await page.type('[data-testid="prompt"]', "markup please");
  await page.click('[data-testid="send"]');
  await page.waitForFunction(() => !document.querySelector('[data-testid="send"]').disabled && document.querySelector('[data-testid="reply"]'));
  const reply = await page.$('[data-testid="reply"]');
  check(await reply.evaluate((e) => e.textContent) === "<script>window.injected = 1</script><b>bold</b> & <img src=x onerror=window.injected=2>",
    "markup in a reply is shown as characters");
  check(await reply.evaluate((e) => e.children.length === 0) && await page.evaluate(() => window.injected === undefined),
    "no element of a reply's markup was made or run");
  page.off("request", fake);
  await page.setRequestInterception(false);

  // The mode select: chat, summarize and (the server has structured output) action items.
  const modes = await page.$$eval('[data-testid="mode"] option', (os) => os.map((o) => o.value + (o.hidden ? ":hidden" : "")));
  check(JSON.stringify(modes) === JSON.stringify(["chat", "summarize", "actions"]), "modes: " + modes.join(", "));
  await page.select('[data-testid="mode"]', "summarize");
  check(await page.$eval('[data-testid="mode"]', (e) => e.value) === "summarize", "summarize mode can be chosen");

  // Action items: the reply is JSON of the page's schema (the server constrains it), shown as a table.
  await page.select('[data-testid="mode"]', "actions");
  await page.$eval("#max-tokens", (e) => { e.value = "400"; e.dispatchEvent(new Event("input")); });
  await page.click("#clear");
  await page.type('[data-testid="prompt"]', "Ann: I will send the report by Friday.");
  await page.click('[data-testid="send"]');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="reply"]').length === 1 &&
    !document.querySelector('[data-testid="send"]').disabled, { timeout: 120000 });
  const table = await page.$eval('[data-testid="reply"]', (e) => {
    const t = e.querySelector("table");
    return t ? [...t.rows].map((r) => [...r.cells].map((c) => c.textContent)) : e.textContent;
  });
  check(Array.isArray(table) && JSON.stringify(table[0]) === JSON.stringify(["Owner", "Task", "Due"]) &&
        table.slice(1).every((r) => r.length === 3), "action items come back as a table: " + JSON.stringify(table).slice(0, 200));

  check(errors.length === 0, "no console errors" + (errors.length ? ": " + errors.join(" | ") : ""));
  check(foreign.length === 0, "no request left the server" + (foreign.length ? ": " + foreign.join(" ") : ""));
  // With --api-key the page (open without a key) asks for the key once and sends it.
  const keyed = await startServer(["--api-key", "sesame"]);
  try {
    await waitReady(keyed.url);
    const p2 = await browser.newPage();
    let asked = 0;
    p2.on("dialog", (d) => { asked++; d.accept("sesame"); });
    await p2.goto(keyed.url + "/", { waitUntil: "domcontentloaded" });
    await p2.waitForFunction(() => document.getElementById("model").textContent.includes("context"), { timeout: 20000 });
    await p2.reload({ waitUntil: "domcontentloaded" });
    await p2.waitForFunction(() => document.getElementById("model").textContent.includes("context"), { timeout: 20000 });
    check(asked === 1, `with --api-key the page asks for the key once (asked ${asked} times)`);
  } finally {
    keyed.proc.kill("SIGTERM");
  }
} catch (e) {
  console.error(e);
  failures++;
} finally {
  if (browser) await browser.close();
  proc.kill("SIGTERM");
}
console.log(failures ? `${failures} check(s) failed` : "all checks passed");
process.exit(failures ? 1 : 0);
