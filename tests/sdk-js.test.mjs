// The JavaScript SDK (sdk/js) against the local stack, from the package `npm pack` makes:
// what a developer installs is what is tested. Fan side (JSON and multipart submit with a
// generated Idempotency-Key, typed errors, status, form token, backing off on 429), creator
// side (queue, actions, deliveries and replay, destinations, limits, KPIs, block list, keys,
// the overlay link, Twitch and YouTube connections, memberships), and
// verifyWebhook on a real delivery, cross-checked with the official Standard Webhooks library.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Webhook } from "standardwebhooks";
import { eventually, startFixture, tinyPng } from "./support/fixture.mjs";
import { freePort } from "../scripts/stack.mjs";

const ROOT = path.resolve(import.meta.dirname, "..");
let f, sdk, packed, packageDir;

/** A fetch that sends from its own client address, as each test's fan does. */
const fetchFrom = (ip) => (url, init = {}) => fetch(url, { ...init, headers: { ...(init.headers ?? {}), "cf-connecting-ip": ip } });

before(async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fanline-sdk-"));
  const [{ filename, files }] = JSON.parse(execFileSync("npm", ["pack", "--json", "--pack-destination", dir], { cwd: path.join(ROOT, "sdk/js"), encoding: "utf8" }));
  packed = files.map((x) => x.path).sort();
  execFileSync("tar", ["xzf", path.join(dir, filename), "-C", dir]);
  packageDir = path.join(dir, "package");
  sdk = await import(path.join(packageDir, "index.js"));
  f = await startFixture();
});
after(() => f?.stop());

describe("the package", () => {
  test("npm pack ships the module, its types and its README, and nothing else", () => {
    assert.deepEqual(packed, ["README.md", "index.d.ts", "index.js", "package.json"]);
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "sdk/js/package.json"), "utf8"));
    assert.equal(pkg.dependencies, undefined, "no runtime dependencies");
    assert.equal(pkg.exports["."].types, "./index.d.ts");
  });
});

describe("fan side", () => {
  test("submit sends JSON with an Idempotency-Key made for it, and status follows the request", async () => {
    const seen = [];
    const fanline = new sdk.Fanline({ baseUrl: f.url, fetch: (url, init) => (seen.push(init.headers), fetchFrom(f.freshIp())(url, init)) });
    const app = fanline.app("song-request");
    const created = await app.submit({ song: "SDK song", artist: "The Clients" });
    assert.equal(created.status, "queued");
    assert.match(created.id, /^req_/);
    assert.ok(seen[0]["idempotency-key"]?.length >= 16, "a key is made for each submission");
    const status = await app.status(created.id);
    assert.equal(status.id, created.id);
    assert.equal(status.status, "queued");
    assert.equal(status.queue.position >= 1, true);
  });

  test("the same Idempotency-Key returns the same request, never a second one", async () => {
    const fanline = new sdk.Fanline({ baseUrl: f.url, fetch: fetchFrom(f.freshIp()) });
    const app = fanline.app("song-request");
    const first = await app.submit({ song: "Once only" }, { idempotencyKey: "sdk-key-1" });
    const again = await app.submit({ song: "Once only" }, { idempotencyKey: "sdk-key-1" });
    assert.equal(again.id, first.id);
  });

  test("invalid fields throw a FanlineError with the field errors", async () => {
    const fanline = new sdk.Fanline({ baseUrl: f.url, fetch: fetchFrom(f.freshIp()) });
    const error = await fanline.app("song-request").submit({}).then(() => null, (e) => e);
    assert.ok(error instanceof sdk.FanlineError);
    assert.equal(error.status, 422);
    assert.equal(error.code, "validation_failed");
    assert.equal(error.fieldError("song").code, "required");
  });

  test("a Blob field makes the submission multipart (a paid commission with its reference image)", async () => {
    const fanline = new sdk.Fanline({ baseUrl: f.url, fetch: fetchFrom(f.freshIp()) });
    const app = fanline.app("pixel-icon");
    const created = await app.submit({ subject: "a fox", style: "static", palette: "retro", email: "fan@example.com", reference: new Blob([tinyPng()], { type: "image/png" }) }, { addOns: ["rush"] });
    assert.equal(created.status, "awaiting_payment");
    assert.match(created.checkout_url, /^http/);
    assert.deepEqual(created.price.lines.map((l) => l.amount), [2500, 1000]);
  });

  test("form token, manifest and open status", async () => {
    const app = new sdk.Fanline({ baseUrl: f.url, fetch: fetchFrom(f.freshIp()) }).app("song-request");
    assert.match(await app.formToken(), /^\d+\.[0-9a-f]{64}$/);
    assert.equal((await app.manifest()).slug, "song-request");
    assert.equal((await app.openStatus()).open, true);
  });

  test("a 429 with Retry-After is waited out and retried; without retries it throws with retryAfter", async () => {
    const ip = f.freshIp();
    let calls = 0;
    // The first answer is a 429 as the edge limiter gives it; the rest go to the stack.
    const limitedOnce = (url, init) => (++calls === 1 ? Promise.resolve(new Response(JSON.stringify({ error: { code: "rate_limited", message: "Too many requests" } }), { status: 429, headers: { "content-type": "application/json", "retry-after": "1" } })) : fetchFrom(ip)(url, init));
    const started = Date.now();
    const created = await new sdk.Fanline({ baseUrl: f.url, fetch: limitedOnce }).app("song-request").submit({ song: "After the wait" });
    assert.equal(created.status, "queued");
    assert.equal(calls, 2);
    assert.ok(Date.now() - started >= 950, "waited the second it was told to");

    // The real limiter: song-request takes 10 a minute from one address. Its minute is a fixed
    // window, so 12 sends that straddle a window's end may all pass; 21 cannot (one window
    // then holds at least 11 of them).
    const strict = new sdk.Fanline({ baseUrl: f.url, fetch: fetchFrom(f.freshIp()), maxRetries: 0 }).app("song-request");
    let refused;
    for (let i = 0; i < 21 && !refused; i++) refused = await strict.submit({}).then(() => null, (e) => (e.status === 429 ? e : null));
    assert.ok(refused, "the limiter refused within 21 submissions");
    assert.equal(refused.code, "rate_limited");
    assert.ok(refused.retryAfter >= 1 && refused.retryAfter <= 60);
  });
});

describe("creator side", () => {
  test("queue, accept, complete and the request's history", async () => {
    const fan = new sdk.Fanline({ baseUrl: f.url, fetch: fetchFrom(f.freshIp()) }).app("song-request");
    const { id } = await fan.submit({ song: "For the creator" });
    const creator = new sdk.Fanline({ baseUrl: f.url, apiKey: f.owner.apiKey });
    const queue = await creator.queue({ app: "song-request", status: "in_queue" });
    assert.ok(queue.requests.some((r) => r.id === id));
    assert.equal((await creator.accept("song-request", id, { reason: "next up" })).status, "accepted");
    const done = await creator.complete("song-request", id, { note: "played" });
    assert.equal(done.status, "fulfilled");
    assert.ok((await creator.getRequest("song-request", id)).fields.song === "For the creator");
    assert.match(await creator.queueCsv({ app: "song-request" }), /For the creator/);
  });

  test("a wrong key is a FanlineError 401", async () => {
    const error = await new sdk.Fanline({ baseUrl: f.url, apiKey: "flk_wrong" }).creator().then(() => null, (e) => e);
    assert.equal(error.status, 401);
    assert.equal(error.code, "unauthorized");
  });

  test("destinations, a test send, deliveries and replay", async () => {
    const creator = new sdk.Fanline({ baseUrl: f.url, apiKey: f.owner.apiKey });
    const { destinations } = await creator.destinations("song-request");
    assert.ok(destinations.some((d) => d.kind === "webhook"));
    const tested = await creator.testDestination("song-request", "webhook");
    assert.equal(tested.delivered, true);
    const { deliveries } = await eventually(async () => {
      const list = await creator.deliveries("song-request");
      return list.deliveries.some((d) => d.state === "delivered") && list;
    }, { what: "a delivered notification" });
    const one = deliveries.find((d) => d.state === "delivered");
    assert.equal((await creator.delivery("song-request", one.id)).id, one.id);
    const replayAll = await creator.replay("song-request");
    assert.ok(Array.isArray(replayAll.replayed));
    const notReplayable = await creator.replay("song-request", one.id).then(() => null, (e) => e);
    assert.equal(notReplayable.status, 409, "a delivered notification is not sent again");
  });

  test("limits, KPIs, block list and app state", async () => {
    const creator = new sdk.Fanline({ baseUrl: f.url, apiKey: f.owner.apiKey });
    const set = await creator.setLimits("shoutout", { capacity: 40 });
    assert.equal(set.source, "creator");
    assert.equal(set.limits.capacity, 40);
    assert.equal((await creator.resetLimits("shoutout")).source, "manifest");
    const kpis = await creator.kpis({ days: 7 });
    assert.equal(kpis.kpis.days, 7);
    await creator.block({ kind: "email", value: "spam@example.com", reason: "spam" });
    assert.ok(JSON.stringify(await creator.blocklist()).includes("spam@example.com"));
    await creator.unblock("email", "spam@example.com");
    assert.ok(!JSON.stringify(await creator.blocklist()).includes("spam@example.com"));
    assert.equal((await creator.appState("song-request")).state, "live");
  });
});

describe("live-stream tools and memberships", () => {
  test("overlay link, API keys, Twitch and YouTube connections, Ko-fi settings", async () => {
    const creator = new sdk.Fanline({ baseUrl: f.url, apiKey: f.owner.apiKey });
    const link = await creator.overlayLink("song-request");
    assert.match(link.url, /\/apps\/song-request\/overlay\?token=ovl_/);
    assert.notEqual((await creator.rotateOverlay("song-request")).token, link.token);
    const made = await creator.createApiKey("sdk test");
    assert.match(made.key, /^fl_live_/);
    assert.ok((await creator.apiKeys()).keys.some((k) => k.id === made.id));
    await creator.revokeApiKey(made.id);
    assert.deepEqual([(await creator.twitch("song-request")).connected, (await creator.twitch("song-request")).command], [false, "!sr"]);
    const twitch = await creator.connectTwitch("song-request", { reward: { title: "Request a song", cost: 300 } });
    assert.match(twitch.authorize_url, /\/oauth2\/authorize\?/);
    const noChat = await creator.connectTwitch("shoutout").then(() => null, (e) => e);
    assert.deepEqual([noChat.status, noChat.code], [409, "chat_not_set_up"]);
    const yt = await creator.connectYoutube("song-request");
    assert.match(yt.authorize_url, /youtube\.force-ssl/);
    assert.equal((await creator.youtube("song-request")).quota.budget, 10000);
    const missing = await creator.disconnectYoutube("song-request").then(() => null, (e) => e);
    assert.equal(missing.status, 404);
    const kofi = await creator.setMembership("song-request", "kofi", { verification_token: "sdk-token-12345", credit_price: 500 });
    assert.deepEqual([kofi.connected, kofi.settings.credit_price], [true, 500]);
    assert.equal((await creator.membership("song-request", "kofi")).settings.credit_price, 500);
    await creator.removeMembership("song-request", "kofi");
    assert.equal((await creator.membership("song-request", "kofi")).connected, false);
  });

  test("linkSignIn needs the fan token and a sign-in", async () => {
    const fan = new sdk.Fanline({ baseUrl: f.url, fanToken: "ft_not_a_real_token", fetch: fetchFrom(f.freshIp()) }).app("song-request");
    const refused = await fan.linkSignIn().then(() => null, (e) => e);
    assert.deepEqual([refused.status, refused.code], [401, "fan_token_required"]);
  });
});

describe("verifyWebhook", () => {
  test("accepts a real delivery (as the official library does) and refuses a changed body, an old timestamp or another secret", async () => {
    const fan = new sdk.Fanline({ baseUrl: f.url, fetch: fetchFrom(f.freshIp()) }).app("song-request");
    const { id } = await fan.submit({ song: "Signed for you" });
    const hook = await eventually(() => f.webhooks.received.find((m) => m.json?.data?.request?.id === id || m.raw.includes(id)), { what: "the webhook" });
    const secret = f.stack.webhookSecrets["song-request"];
    const headers = { "webhook-id": hook.headers["webhook-id"], "webhook-timestamp": hook.headers["webhook-timestamp"], "webhook-signature": hook.headers["webhook-signature"] };
    const event = await sdk.verifyWebhook(hook.raw, headers, secret);
    assert.deepEqual(event, new Webhook(secret).verify(hook.raw, headers));
    assert.ok(JSON.stringify(event).includes(id));
    // A Headers object works too, as a Worker or fetch handler receives it.
    assert.deepEqual(await sdk.verifyWebhook(hook.raw, new Headers(headers), secret), event);
    const refused = (p) => p.then(() => null, (e) => e);
    assert.equal((await refused(sdk.verifyWebhook(hook.raw.replace(id, "req_forged"), headers, secret))).reason, "no matching signature");
    assert.equal((await refused(sdk.verifyWebhook(hook.raw, headers, secret, { now: Number(headers["webhook-timestamp"]) + 3600 }))).reason, "timestamp outside the tolerance");
    assert.equal((await refused(sdk.verifyWebhook(hook.raw, headers, "whsec_" + Buffer.from("another secret").toString("base64")))).reason, "no matching signature");
    assert.ok((await refused(sdk.verifyWebhook(hook.raw, {}, secret))) instanceof sdk.WebhookVerificationError);
  });
});

describe("in a Cloudflare Worker", () => {
  test("the packed SDK runs on workerd: it submits to the stack and verifies a webhook with Web Crypto", { timeout: 120_000 }, async () => {
    const { id } = await new sdk.Fanline({ baseUrl: f.url, fetch: fetchFrom(f.freshIp()) }).app("song-request").submit({ song: "Signed for a Worker" });
    const hook = await eventually(() => f.webhooks.received.find((m) => m.raw.includes(id)), { what: "the webhook" });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fanline-sdk-worker-"));
    fs.cpSync(packageDir, path.join(dir, "sdk"), { recursive: true });
    fs.writeFileSync(
      path.join(dir, "worker.mjs"),
      `import { Fanline, verifyWebhook } from "./sdk/index.js";
export default {
  async fetch(request) {
    const { base, ip, secret, body, headers } = await request.json();
    const fanline = new Fanline({ baseUrl: base, fetch: (url, init = {}) => fetch(url, { ...init, headers: { ...(init.headers ?? {}), "cf-connecting-ip": ip } }) });
    const created = await fanline.app("song-request").submit({ song: "From a Worker" });
    const event = await verifyWebhook(body, headers, secret);
    const forged = await verifyWebhook(body.replace("Signed", "Forged"), headers, secret).then(() => "accepted", (e) => e.reason);
    return Response.json({ created: created.status, event: event.type, forged });
  },
};
`,
    );
    fs.writeFileSync(path.join(dir, "wrangler.toml"), `name = "sdk-check"\nmain = "worker.mjs"\ncompatibility_date = "2025-11-01"\n`);
    const port = await freePort();
    const child = spawn(process.execPath, [path.join(ROOT, "node_modules/wrangler/bin/wrangler.js"), "dev", "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(await freePort()), "--persist-to", path.join(dir, "state"), "--show-interactive-dev-session=false"], {
      cwd: dir,
      stdio: "ignore",
      detached: true,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
    });
    try {
      const url = `http://127.0.0.1:${port}/`;
      await eventually(() => fetch(url, { method: "HEAD" }).then(() => true, () => false), { ms: 60_000, what: "the Worker" });
      const headers = { "webhook-id": hook.headers["webhook-id"], "webhook-timestamp": hook.headers["webhook-timestamp"], "webhook-signature": hook.headers["webhook-signature"] };
      const answer = await fetch(url, { method: "POST", body: JSON.stringify({ base: f.url, ip: f.freshIp(), secret: f.stack.webhookSecrets["song-request"], body: hook.raw, headers }) });
      assert.deepEqual(await answer.json(), { created: "queued", event: "request.queued", forged: "no matching signature" });
    } finally {
      process.kill(-child.pid, "SIGTERM");
    }
  });
});
