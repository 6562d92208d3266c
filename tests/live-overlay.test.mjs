// The OBS overlay (issue 16, item 3): a browser source on a read-only, rotatable token that
// shows what plays now and what comes next, with names and titles only, transparent and
// themable, following the queue within two seconds. Driven in headless Chromium.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { launchBrowser } from "./support/browser.mjs";
import { eventually, startFixture } from "./support/fixture.mjs";

let f, browser;
before(async () => {
  f = await startFixture();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await f?.stop();
});

const link = (key = f.owner.apiKey) => f.request("GET", "/api/apps/song-request/overlay", { key });

describe("the overlay link", () => {
  test("the creator gets one link (the same on every ask), another creator gets none, and rotating it retires the old one", async () => {
    const first = await link();
    assert.equal(first.status, 200);
    assert.match(first.data.token, /^ovl_/);
    assert.equal(first.data.url, `${f.url}/apps/song-request/overlay?token=${first.data.token}`);
    assert.equal((await link()).data.token, first.data.token);
    assert.equal((await link(f.other.apiKey)).status, 404);
    const state = () => f.request("GET", `/apps/song-request/api/overlay?token=${first.data.token}`);
    assert.equal((await state()).status, 200);
    const rotated = await f.request("POST", "/api/apps/song-request/overlay/rotate", { key: f.owner.apiKey });
    assert.notEqual(rotated.data.token, first.data.token);
    // The old answer may be served from the edge cache for its one second.
    await new Promise((r) => setTimeout(r, 1200));
    const old = await state();
    assert.equal(old.status, 403);
    assert.equal(old.data.error.code, "invalid_overlay_token");
    assert.equal((await f.request("GET", `/apps/song-request/api/overlay?token=${rotated.data.token}`)).status, 200);
    assert.equal((await f.request("GET", "/apps/song-request/api/overlay")).status, 403, "no token, no queue");
  });
});

describe("the overlay page", () => {
  test("shows now playing and up next with who asked, never an email or a message, and follows the queue within two seconds", async () => {
    const { data } = await link();
    const submit = async (fields) => (await f.submit("song-request", fields)).data.id;
    const a = await submit({ song: "Africa", artist: "Toto", twitch_handle: "luna_fan", email: "secret@example.com", message: "private words" });
    const b = await submit({ song: "Dancing Queen", artist: "ABBA" });
    const page = await browser.newPage({ viewport: { width: 640, height: 360 } });
    await page.goto(`${data.url}&color=%23fff8e1&accent=%23ff5c8a&size=30&next=3`);
    const overlay = page.locator(".overlay");
    await eventually(async () => /Up next/.test(await overlay.textContent()), { what: "the queue on the overlay" });
    const text = await overlay.textContent();
    assert.match(text, /Nothing yet/);
    assert.match(text, /Africa - Toto\s*for luna_fan/);
    assert.match(text, /Dancing Queen - ABBA/);
    assert.doesNotMatch(text, /secret@example\.com|private words/);
    assert.equal(await page.evaluate(() => getComputedStyle(document.body).backgroundColor), "rgba(0, 0, 0, 0)", "transparent for OBS");
    assert.equal(await overlay.evaluate((e) => getComputedStyle(e).color), "rgb(255, 248, 225)", "themed by the URL");

    // The creator takes the first one on: it moves to "now playing" within two seconds.
    const accepted = await f.request("POST", `/apps/song-request/api/requests/${a}/accept`, { key: f.owner.apiKey, json: {} });
    assert.equal(accepted.status, 200);
    const changedAt = Date.now();
    await eventually(async () => /Now playing\s*Africa - Toto/.test(await overlay.textContent()), { ms: 5000, what: "now playing" });
    assert.ok(Date.now() - changedAt <= 2500, `updated ${Date.now() - changedAt} ms after the change`);
    await page.screenshot({ path: path.join(f.stack.stateDir, "overlay-transparent.png"), omitBackground: true });
    // As it looks over a dark game scene in OBS.
    await page.evaluate(() => (document.documentElement.style.background = "linear-gradient(135deg, #1d2b3a, #3b1f4a)"));
    await page.screenshot({ path: path.join(f.stack.stateDir, "overlay.png") });
    for (const id of [a, b]) await f.request("POST", `/apps/song-request/api/requests/${id}/complete`, { key: f.owner.apiKey, json: {} });
    await eventually(async () => /Nothing yet/.test(await overlay.textContent()), { ms: 5000, what: "an empty queue" });
    await page.close();
  });

  test("a rotated or wrong token shows a message on the overlay, not a browser error", async () => {
    const page = await browser.newPage();
    await page.goto(`${f.url}/apps/song-request/overlay?token=ovl_wrong`);
    await eventually(async () => /not valid any more/.test(await page.locator(".overlay").textContent()), { what: "the message" });
    await page.close();
  });

  test("a hostile theme is ignored: nothing from the URL becomes markup or CSS", async () => {
    const { data } = await link();
    const page = await browser.newPage();
    await page.goto(`${data.url}&color=red;background:url(//evil)&font=${encodeURIComponent('x"}</style><script>alert(1)</script>')}&now_label=${encodeURIComponent("<b>hi</b>")}`);
    await eventually(async () => (await page.locator(".overlay .label").count()) > 0, { what: "the overlay" });
    assert.equal(await page.locator(".overlay").evaluate((e) => getComputedStyle(e).color), "rgb(255, 255, 255)", "an invalid colour falls back");
    assert.equal(await page.locator(".overlay .label").first().textContent(), "<b>hi</b>", "labels are text");
    assert.equal(await page.locator("script").count(), 1, "only the overlay's own script");
    await page.close();
  });
});
