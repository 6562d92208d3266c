// The embed script on a creator's own site (another origin), driven in headless Chromium.
import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { chromium } from "playwright-core";
import { listen, send } from "../scripts/fakes/server.mjs";
import { eventually, startFixture } from "./support/fixture.mjs";

let f, site, browser;
before(async () => {
  f = await startFixture();
  // The creator's site styles forms and labels aggressively; the embed must not care.
  site = await listen((req, res) =>
    send(res, 200, `<!doctype html><html><head><style>form{display:none!important} label{color:red;font-size:40px}</style></head>
      <body><h1>DJ Luna</h1><p>Requests are open!</p><script src="${f.url}/apps/song-request/embed.js"></script><footer>after the form</footer></body></html>`),
  );
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
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
