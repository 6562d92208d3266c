// The embed script on a creator's own site (another origin), driven in headless Chromium.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { launchBrowser } from "./support/browser.mjs";
import { listen, send } from "../scripts/fakes/server.mjs";
import { eventually, startFixture } from "./support/fixture.mjs";

let f, site, browser;
before(async () => {
  f = await startFixture();
  // The creator's site styles forms and labels aggressively; the embed must not care.
  site = await listen((req, res) => {
    // The SDK, served from the creator's site as a bundler would ship it.
    if (req.url === "/sdk.js") {
      res.writeHead(200, { "content-type": "text/javascript" });
      return res.end(fs.readFileSync(path.join(import.meta.dirname, "../sdk/js/index.js")));
    }
    // `/iframe/<slug>`: the same kind of page with the iframe embed of that app.
    // `/script/<slug>`: the script embed of another app.
    const framed = req.url.match(/^\/iframe\/([a-z-]+)/)?.[1];
    const scripted = req.url.match(/^\/script\/([a-z-]+)/)?.[1] ?? "song-request";
    const embed = framed ? `<script src="${f.url}/apps/${framed}/embed.js" data-mode="iframe"></script>` : `<script src="${f.url}/apps/${scripted}/embed.js"></script>`;
    send(res, 200, `<!doctype html><html><head><style>form{display:none!important} label{color:red;font-size:40px} body{background:#ffe9c7}</style></head>
      <body><h1>DJ Luna</h1><p>Requests are open!</p>${embed}<footer>after the form</footer></body></html>`);
  });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await site?.close();
  await f?.stop();
});

describe("the embed script", () => {
  test("mounts the form in place, isolated from the page's styles, and shows field errors", async () => {
    const page = await browser.newPage();
    await page.goto(site.url);
    const form = page.locator(".fanline-embed form");
    await form.waitFor({ state: "visible" });
    assert.equal(await page.locator("h1").count(), 1);
    const order = await page.evaluate(() => [...document.body.children].map((e) => e.className || e.tagName));
    assert.deepEqual(order.filter((x) => x !== "SCRIPT"), ["H1", "P", "fanline-embed", "FOOTER"]);
    const labelColor = await page.locator(".fanline-embed label").first().evaluate((e) => getComputedStyle(e).color);
    assert.notEqual(labelColor, "rgb(255, 0, 0)");

    await page.locator(".fanline-embed button[type=submit]").click();
    const error = page.locator(".fanline-embed #f-song ~ .error").first();
    await eventually(async () => (await error.textContent()) === "This field is required.", { what: "field error" });
    await page.close();
  });

  test("a fan picks priority, sees the total, submits and gets a checkout link", async () => {
    const page = await browser.newPage();
    await page.goto(site.url);
    await page.locator(".fanline-embed #f-song").fill("Dancing Queen");
    await page.locator(".fanline-embed #f-artist").fill("ABBA");
    assert.equal(await page.locator(".fanline-embed .total").textContent(), "Free");
    await page.locator(".fanline-embed input[value=priority]").check();
    assert.equal(await page.locator(".fanline-embed .total").textContent(), "Total: $3.00");
    await page.locator(".fanline-embed button.tip", { hasText: "$5.00" }).click();
    assert.equal(await page.locator(".fanline-embed .total").textContent(), "Total: $8.00");
    await page.locator(".fanline-embed #f-tip").fill("");
    assert.equal(await page.locator(".fanline-embed .total").textContent(), "Total: $3.00");
    await page.locator(".fanline-embed #f-tip").fill("1.50");
    assert.equal(await page.locator(".fanline-embed .total").textContent(), "Total: $4.50");
    assert.match(await page.locator(".fanline-embed input[name=form_token]").inputValue(), /^\d+\.[0-9a-f]{64}$/);
    assert.equal(await page.locator(".fanline-embed input[name=website]").inputValue(), "", "the honeypot is there, empty and out of sight");
    // A person takes a moment; song-request blocks forms sent within 2 s of being shown.
    await new Promise((r) => setTimeout(r, 2200));
    await page.locator(".fanline-embed button[type=submit]").click();
    const pay = page.locator(".fanline-embed a.pay");
    await pay.waitFor({ state: "visible" });
    assert.equal(await pay.textContent(), "Pay $4.50");
    const href = await pay.getAttribute("href");
    assert.ok(href.startsWith(f.stripe.url), href);
    const statusLink = await page.locator(".fanline-embed .result a:not(.pay)").getAttribute("href");
    await page.screenshot({ path: path.join(f.stack.stateDir, "embed.png") });
    const id = new URL(statusLink).searchParams.get("request");
    assert.equal(new URL(statusLink).pathname, "/apps/song-request/");
    const apiPath = `/apps/song-request/api/requests/${id}`;

    const status = await f.request("GET", apiPath);
    assert.equal(status.data.status, "awaiting_payment");
    assert.deepEqual(status.data.add_ons, ["priority"]);
    assert.deepEqual(status.data.price.lines, [{ label: "Priority: played next", amount: 300 }, { label: "Tip", amount: 150 }]);

    // The fan pays on the (local) hosted checkout page and lands back on the app.
    await page.goto(href);
    await page.locator("button").click();
    await page.waitForURL(/paid=1/);
    const back = page.locator(".fanline-embed .result");
    await back.waitFor({ state: "visible" });
    assert.match(await back.textContent(), /Payment received/);
    await eventually(async () => (await f.request("GET", apiPath)).data.status === "queued", { what: "queued after payment" });
    await eventually(() => f.discord.messages.some((m) => m.json.embeds[0].fields.some((x) => x.value === "Dancing Queen")), { what: "Discord message" });

    // The "Where is my request?" link is a page a fan can keep: it shows the current status.
    await page.goto(statusLink);
    const card = page.locator(".fanline-embed .result");
    await card.waitFor({ state: "visible" });
    assert.match(await card.textContent(), /Your request is in the queue\./);
    await page.close();
  });
});

describe("the iframe embed", () => {
  test("the page is made for a frame: transparent, framable by the app's sites only", async () => {
    const open = await f.request("GET", "/apps/song-request/embed");
    assert.equal(open.status, 200);
    assert.match(open.text, /data-fanline-frame/);
    assert.match(open.text, /background:transparent/);
    assert.match(open.headers.get("content-security-policy"), /frame-ancestors \*$/, "no sites listed: any site may frame it");
    const listed = await f.request("GET", "/apps/pixel-icon/embed");
    assert.match(listed.headers.get("content-security-policy"), /frame-ancestors https:\/\/pixels\.example https:\/\/\*\.pixels\.example$/);
    const formPage = await f.request("GET", "/apps/song-request/");
    assert.match(formPage.headers.get("content-security-policy"), /frame-ancestors 'none'/, "the full page is still never framed");
  });

  test("mounted by the script on another origin: it sizes its frame, and the page hears of the request", async () => {
    const page = await browser.newPage({ viewport: { width: 720, height: 1100 } });
    await page.goto(`${site.url}/iframe/song-request`);
    await page.evaluate(() => {
      window.submitted = [];
      document.addEventListener("fanline:submitted", (e) => window.submitted.push(e.detail));
    });
    const iframe = page.locator("iframe.fanline-embed-frame");
    await iframe.waitFor();
    const frame = page.frameLocator("iframe.fanline-embed-frame");
    await frame.locator(".fanline-embed form").waitFor({ state: "visible" });
    // The frame's height follows the form inside (the script starts it at 520 px).
    const inner = await frame.locator("html").evaluate((e) => Math.ceil(e.getBoundingClientRect().height));
    await eventually(async () => Math.abs((await iframe.evaluate((e) => e.getBoundingClientRect().height)) - inner) <= 1, { what: "the frame resized to its form" });
    assert.notEqual(inner, 520);
    await frame.locator("#f-song").fill("Framed Song");
    await new Promise((r) => setTimeout(r, 2200)); // song-request's minimum fill time
    await frame.locator("button[type=submit]").click();
    await frame.locator(".result").waitFor({ state: "visible" });
    const submitted = await eventually(() => page.evaluate(() => window.submitted[0]), { what: "fanline:submitted on the host page" });
    assert.equal(submitted.status, "queued");
    assert.equal((await f.request("GET", `/apps/song-request/api/requests/${submitted.id}`)).data.status, "queued");
    // After the answer the form is shorter; the frame follows it again.
    const after = await frame.locator("html").evaluate((e) => Math.ceil(e.getBoundingClientRect().height));
    await eventually(async () => Math.abs((await iframe.evaluate((e) => e.getBoundingClientRect().height)) - after) <= 1, { what: "the frame resized to the answer" });
    assert.equal(await frame.locator(".result a").last().getAttribute("target"), "_top", "links leave the frame for the whole page");
    await page.screenshot({ path: path.join(f.stack.stateDir, "embed-iframe.png"), fullPage: true });
    await page.close();
  });

  test("a site the creator did not list gets no form: the browser refuses to frame it", async () => {
    const page = await browser.newPage();
    await page.goto(`${site.url}/iframe/pixel-icon`);
    await page.locator("iframe.fanline-embed-frame").waitFor();
    await new Promise((r) => setTimeout(r, 1500));
    const frame = page.frames().find((x) => x !== page.mainFrame());
    const forms = await frame.locator(".fanline-embed form").count().catch(() => 0);
    assert.equal(forms, 0, "frame-ancestors kept the form out of an unlisted site");
    await page.close();
  });
});

describe("signing in from an embed", () => {
  /** Fills the shoutout form with the rush add-on ($25: sign-in required) and sends it. */
  async function sendRush(scope) {
    await scope.locator("#f-to_name").fill("Sam");
    await scope.locator("#f-occasion").selectOption("birthday");
    await scope.locator("#f-message").fill("Happy birthday from the embed!");
    await scope.locator("#f-email").fill("fan@example.com");
    await scope.locator("input[value=rush]").check();
    await scope.locator("button[type=submit]").click();
  }

  test("the provider opens in a popup on Fanline's origin; its one-time token comes back to the page, which never leaves the creator's site", async () => {
    const page = await browser.newPage();
    await page.goto(`${site.url}/script/shoutout`);
    // Everything Fanline posts to this page, to check the token is single-use afterwards.
    await page.evaluate(() => {
      window.fanlineMessages = [];
      window.addEventListener("message", (e) => window.fanlineMessages.push({ origin: e.origin, data: e.data }));
    });
    const embed = page.locator(".fanline-embed");
    await sendRush(embed);
    const signIn = embed.locator("button.sign-in", { hasText: "Twitch" });
    await signIn.waitFor();
    const [popup] = await Promise.all([page.waitForEvent("popup"), signIn.click()]);
    assert.ok(popup.url().startsWith(f.url), `the popup is on Fanline's origin: ${popup.url()}`);
    await popup.waitForEvent("close", { timeout: 15000 });
    const answer = embed.locator(".result");
    await answer.waitFor({ state: "visible", timeout: 15000 });
    assert.equal(new URL(page.url()).origin, site.url, "the fan stayed on the creator's page");
    const pay = await embed.locator("a.pay").getAttribute("href");
    assert.ok(pay.startsWith(f.stripe.url), "the request went through, to payment");
    const id = (await embed.locator(".result").textContent()).match(/req_[0-9a-f]{32}/)[0];
    const stored = await f.request("GET", `/apps/shoutout/api/requests/${id}`, { key: f.owner.apiKey });
    assert.deepEqual([stored.data.identity.provider, stored.data.identity.sub], ["twitch", "johndoe"], "the request carries the popup's identity");
    await page.screenshot({ path: path.join(f.stack.stateDir, "embed-signed-in.png"), fullPage: true });

    // The token came from Fanline's origin only, and works once.
    const messages = await page.evaluate(() => window.fanlineMessages.filter((m) => m.data?.source === "fanline"));
    assert.equal(messages.length, 1);
    assert.equal(messages[0].origin, f.url);
    const again = await f.request("POST", "/apps/shoutout/api/session", { json: { token: messages[0].data.token } });
    assert.equal(again.status, 409);
    assert.equal(again.data.error.code, "token_used");
    await page.close();
  });

  test("from the iframe embed too: the popup hands its token to the frame, on Fanline's origin", async () => {
    const page = await browser.newPage({ viewport: { width: 720, height: 1400 } });
    // This page's calls come from an address of their own, so the shoutout's per-client limit
    // (5 a minute) is not shared with the other browser tests.
    const ip = f.freshIp();
    await page.route(`${f.url}/**`, (route) => route.continue({ headers: { ...route.request().headers(), "cf-connecting-ip": ip } }));
    await page.goto(`${site.url}/iframe/shoutout`);
    const frame = page.frameLocator("iframe.fanline-embed-frame");
    await frame.locator(".fanline-embed form").waitFor({ state: "visible" });
    await sendRush(frame.locator(".fanline-embed"));
    const signIn = frame.locator(".fanline-embed button.sign-in", { hasText: "Discord" });
    await signIn.waitFor();
    const starts = [];
    page.context().on("request", (r) => r.url().includes("/auth/discord/start") && starts.push(r.url()));
    const [popup] = await Promise.all([page.waitForEvent("popup"), signIn.click()]);
    await popup.waitForEvent("close", { timeout: 15000 });
    await frame.locator(".fanline-embed a.pay").waitFor({ state: "visible", timeout: 15000 });
    const id = (await frame.locator(".fanline-embed .result").textContent()).match(/req_[0-9a-f]{32}/)[0];
    const stored = await f.request("GET", `/apps/shoutout/api/requests/${id}`, { key: f.owner.apiKey });
    assert.equal(stored.data.identity.provider, "discord");
    assert.equal(new URL(page.url()).origin, site.url);
    assert.equal(new URL(starts[0]).searchParams.get("popup"), f.url, "the frame named its own (Fanline's) origin as the opener");
    await page.close();
  });

  test("a popup for a page of another origin hands its token to that origin only; a forged token is refused", async () => {
    // The popup's final page names the opener's origin; postMessage delivers only there.
    // pixel-icon has no sign-in: its Worker is built without it, so there is no popup to open.
    const refused = await f.request("GET", `/apps/pixel-icon/auth/popup?origin=${encodeURIComponent("https://evil.example")}`);
    assert.equal(refused.status, 404);
    assert.equal(refused.data.error.message, "No such route: this app has no sign-in.");
    const forged = await f.request("POST", "/apps/shoutout/api/session", { json: { token: "eyJmYWtlIjp0cnVlfQ.c2ln" } });
    assert.equal(forged.status, 403);
    assert.equal(forged.data.error.code, "invalid_token");
    const notAnOrigin = await f.request("GET", `/apps/shoutout/auth/twitch/start?popup=${encodeURIComponent("https://site.example/path")}`);
    assert.equal(notAnOrigin.status, 400);
  });

  test("with popups blocked, the fan signs in on the app's own page instead (a full-page redirect)", async () => {
    const context = await browser.newContext();
    await context.addInitScript(() => {
      window.open = () => null;
    });
    const page = await context.newPage();
    await page.goto(`${site.url}/script/shoutout`);
    const embed = page.locator(".fanline-embed");
    await sendRush(embed);
    await embed.locator("button.sign-in", { hasText: "Twitch" }).click();
    await page.waitForURL(`${f.url}/apps/shoutout/`, { timeout: 15000 });
    const session = await page.evaluate(() => fetch("/apps/shoutout/api/session").then((r) => r.json()));
    assert.equal(session.signed_in, true, "signed in on Fanline's own page, with its cookie");
    await context.close();
  });
});

describe("the JavaScript SDK in a browser", () => {
  test("on a creator's page (another origin), it submits, reads the status and reports field errors", async () => {
    const page = await browser.newPage();
    await page.goto(site.url);
    const result = await page.evaluate(async (baseUrl) => {
      const { Fanline, FanlineError } = await import("/sdk.js");
      const app = new Fanline({ baseUrl }).app("song-request");
      const created = await app.submit({ song: "From the browser SDK" });
      const status = await app.status(created.id);
      const error = await app.submit({}).catch((e) => e);
      return { status: created.status, seen: status.status, isError: error instanceof FanlineError, code: error.code, field: error.fieldError("song")?.code };
    }, f.url);
    assert.deepEqual(result, { status: "queued", seen: "queued", isError: true, code: "validation_failed", field: "required" });
    await page.close();
  });
});
