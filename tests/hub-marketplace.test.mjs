// The marketplace hub: the index, app discovery, embed script, destinations and the queue.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { PNG, startFixture } from "./support/fixture.mjs";

let f;
before(async () => (f = await startFixture()));
after(async () => f?.stop());

describe("the marketplace", () => {
  test("lists every app as HTML and JSON with embed snippets", async () => {
    const page = await f.request("GET", "/");
    assert.equal(page.status, 200);
    assert.match(page.text, /Request a song at my next stream/);
    assert.match(page.text, /href="\/apps\/pixel-icon\/"/);
    const apps = await f.request("GET", "/api/apps");
    const bySlug = Object.fromEntries(apps.data.apps.map((a) => [a.slug, a]));
    assert.deepEqual(Object.keys(bySlug).sort(), ["pixel-icon", "shoutout", "song-request", "stream-slot"]);
    assert.equal(bySlug["pixel-icon"].pricing.base, 2500);
    assert.equal(bySlug["song-request"].embed, `<script src="${f.url}/apps/song-request/embed.js"></script>`);
  });

  test("each app serves its form page, its public manifest and an embed script without moderation rules", async () => {
    const page = await f.request("GET", "/apps/song-request/");
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type"), /text\/html/);
    assert.match(page.text, /<script src="\/apps\/song-request\/embed.js\?v=[0-9a-f]{20}"><\/script>/);
    const manifest = await f.request("GET", "/apps/pixel-icon/manifest.json");
    assert.equal(manifest.data.fields.find((x) => x.name === "reference").type, "file");
    assert.equal(manifest.data.moderation, undefined);
    const embed = await f.request("GET", "/apps/song-request/embed.js");
    assert.equal(embed.status, 200);
    assert.match(embed.headers.get("content-type"), /javascript/);
    assert.equal(embed.headers.get("access-control-allow-origin"), "*");
    assert.match(embed.text, /attachShadow/);
    assert.match(embed.text, /"slug":"song-request"/);
    assert.doesNotMatch(embed.text, /free followers|blocked_terms/);
    new Function(embed.text); // parses as JavaScript
  });

  test("the request API answers CORS preflights from creators' sites", async () => {
    const r = await f.request("OPTIONS", "/apps/song-request/api/requests", { headers: { origin: "https://creator.example", "access-control-request-method": "POST" } });
    assert.equal(r.status, 204);
    assert.equal(r.headers.get("access-control-allow-origin"), "*");
    assert.match(r.headers.get("access-control-allow-headers"), /Idempotency-Key/);
  });
});

describe("creator API", () => {
  test("destinations are set per app, validated, and a webhook gets a signing secret", async () => {
    const path = "/api/apps/song-request/destinations";
    assert.equal((await f.request("PUT", path, { json: {} })).status, 401);
    assert.equal((await f.request("PUT", path, { key: f.other.apiKey, json: {} })).status, 404);
    const withPassword = await f.request("PUT", path, { key: f.owner.apiKey, json: { webhook_url: "https://user:pw@example.com/hook" } });
    assert.equal(withPassword.status, 400);
    assert.equal(withPassword.data.error.code, "invalid_destination");
    const ftp = await f.request("PUT", path, { key: f.owner.apiKey, json: { discord_webhook_url: "ftp://example.com/x" } });
    assert.equal(ftp.status, 400);
    const unknown = await f.request("PUT", path, { key: f.owner.apiKey, json: { slack: "https://x" } });
    assert.equal(unknown.status, 400);

    const before = await f.request("GET", path, { key: f.owner.apiKey });
    const oldSecret = before.data.destinations.find((d) => d.kind === "webhook").secret;
    const moved = await f.request("PUT", path, { key: f.owner.apiKey, json: { webhook_url: "https://hooks.example.com/new" } });
    assert.equal(moved.status, 200);
    const hook = moved.data.destinations.find((d) => d.kind === "webhook");
    assert.equal(hook.url, "https://hooks.example.com/new");
    assert.equal(hook.secret, oldSecret, "moving the URL keeps the secret receivers already trust");
    const removed = await f.request("PUT", path, { key: f.owner.apiKey, json: { webhook_url: null } });
    assert.deepEqual(removed.data.destinations.map((d) => d.kind), ["discord"]);
    const fresh = await f.request("PUT", path, { key: f.owner.apiKey, json: { webhook_url: `${f.webhooks.url}/hooks/again` } });
    assert.match(fresh.data.destinations.find((d) => d.kind === "webhook").secret, /^whsec_/);
  });

  test("the creator's queue lists requests by status, oldest first", async () => {
    const a = await f.submit("song-request", { song: "First" });
    const b = await f.submit("song-request", { song: "Second" });
    const queue = await f.request("GET", "/api/apps/song-request/requests?status=queued", { key: f.owner.apiKey });
    assert.equal(queue.status, 200);
    const ids = queue.data.requests.map((r) => r.id);
    assert.ok(ids.indexOf(a.data.id) < ids.indexOf(b.data.id) && ids.indexOf(a.data.id) >= 0);
    assert.equal(queue.data.requests.find((r) => r.id === b.data.id).fields.song, "Second");
    const bad = await f.request("GET", "/api/apps/song-request/requests?status=exploded", { key: f.owner.apiKey });
    assert.equal(bad.status, 400);
    assert.equal((await f.request("GET", "/api/apps/song-request/requests")).status, 401);
  });
});

describe("marketplace fees (Stripe Connect)", () => {
  test("a creator connects a Stripe account; payments go to it and the app's fee stays with the marketplace", async () => {
    const put = (json, key = f.owner.apiKey) => f.request("PUT", "/api/creator/stripe-account", { key, json });
    assert.equal((await put({ account_id: "acct_1Fanline" }, null)).status, 401);
    for (const bad of ["acct_", "cus_123", "acct_12 34", 42]) {
      const r = await put({ account_id: bad });
      assert.equal(r.status, 400, String(bad));
      assert.equal(r.data.error.code, "invalid_account");
    }
    // Only an account Stripe knows and lets take charges is accepted (checked at Stripe).
    assert.equal((await put({ account_id: "acct_1Unknown" })).data.error.code, "account_not_found");
    f.stripe.addAccount("acct_1Onboarding", { charges_enabled: false });
    assert.equal((await put({ account_id: "acct_1Onboarding" })).data.error.code, "account_not_ready");
    assert.equal((await f.request("GET", "/api/creator", { key: f.owner.apiKey })).data.stripe_account, null, "a refused account is not saved");
    f.stripe.addAccount("acct_1Fanline");
    const connected = await put({ account_id: "acct_1Fanline" });
    assert.equal(connected.status, 200);
    assert.equal((await f.request("GET", "/api/creator", { key: f.owner.apiKey })).data.stripe_account, "acct_1Fanline");
    assert.equal((await f.request("GET", "/api/creator", { key: f.other.apiKey })).data.stripe_account, null);

    const form = new FormData();
    for (const [k, v] of Object.entries({ subject: "fee test", style: "animated (4 frames)", palette: "retro", email: "fan@example.com" })) form.append(k, v);
    form.append("reference", new Blob([PNG], { type: "image/png" }), "ref.png");
    const r = await f.request("POST", "/apps/pixel-icon/api/requests", { body: form });
    assert.equal(r.status, 201, r.text);
    const call = f.stripe.calls.find((c) => c.form.client_reference_id === r.data.id);
    // 10% (platform_fee_bps 1000) of 4000 cents.
    assert.deepEqual(call.form.payment_intent_data.transfer_data, { destination: "acct_1Fanline" });
    assert.equal(call.form.payment_intent_data.application_fee_amount, "400");
    await f.stripe.pay(r.data.checkout_session_id);
    const view = await f.request("GET", `/apps/pixel-icon/api/requests/${r.data.id}`, { key: f.owner.apiKey });
    assert.equal(view.data.price.platform_fee, 400);
    const intent = f.stripe.intents.get(view.data.payment_intent_id);
    assert.deepEqual([intent.amount, intent.application_fee_amount, intent.transfer_data.destination], [4000, 400, "acct_1Fanline"]);

    // Refunding a destination charge takes it back from the creator and returns the fee.
    const refund = await f.request("POST", `/apps/pixel-icon/api/requests/${r.data.id}/refund`, { key: f.owner.apiKey, json: { amount: 1000 }, headers: { "idempotency-key": "m-1" } });
    assert.equal(refund.status, 200, refund.text);
    const refundCall = f.stripe.calls.find((c) => c.path === "/v1/refunds" && c.form.payment_intent === intent.id);
    assert.deepEqual([refundCall.form.amount, refundCall.form.reverse_transfer, refundCall.form.refund_application_fee], ["1000", "true", "true"]);

    await put({ account_id: null });
    const direct = await f.submit("song-request", { song: "No connect" }, { addOns: ["priority"] });
    const directCall = f.stripe.calls.find((c) => c.form.client_reference_id === direct.data.id);
    assert.equal(directCall.form.payment_intent_data.transfer_data, undefined, "without an account the platform takes the payment");
  });
});
