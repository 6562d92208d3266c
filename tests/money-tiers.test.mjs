// Subscriber tiers (issue 3, item 5): a fan subscribes through Checkout (a Stripe
// subscription), Stripe's subscription webhooks keep the tier current (in whatever order they
// arrive), and intake applies the tier's discount and queue priority only while it is live.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { eventually, startFixture } from "./support/fixture.mjs";

let f;
before(async () => (f = await startFixture()));
after(async () => f?.stop());

const me = (token) => f.request("GET", "/apps/song-request/api/me", { headers: { "fan-token": token } });
const submit = (token, json) => f.request("POST", "/apps/song-request/api/requests", { json, headers: token ? { "fan-token": token } : {} });
const queue = async () => (await f.request("GET", "/api/apps/song-request/requests?status=queued", { key: f.owner.apiKey })).data.requests;

describe("subscriber tiers", () => {
  let token;
  let subscription;

  test("subscribing opens a subscription Checkout and the webhooks make the tier live", async () => {
    const started = await f.request("POST", "/apps/song-request/api/tiers/checkout", { json: { tier: "fan_club" } });
    assert.equal(started.status, 201, started.text);
    token = started.data.fan_token;
    assert.deepEqual(started.data.price, { amount: 500, currency: "usd", interval: "month" });
    const call = f.stripe.calls.find((c) => c.path === "/v1/checkout/sessions" && c.form.metadata?.kind === "tier");
    assert.equal(call.form.mode, "subscription");
    assert.equal(call.form.line_items[0].price_data.recurring.interval, "month");
    assert.equal(call.form.subscription_data.metadata.fan_id, started.data.fan_id);
    assert.equal((await me(token)).data.tier, null, "no tier before Stripe confirms");

    await f.stripe.pay(started.data.checkout_session_id);
    subscription = [...f.stripe.subscriptions.values()].find((s) => s.metadata.fan_id === started.data.fan_id);
    const tier = await eventually(async () => (await me(token)).data.tier, { what: "tier live" });
    assert.deepEqual(tier, { id: "fan_club", label: "Fan club", discount_bps: 2500, priority: true });

    const again = await f.request("POST", "/apps/song-request/api/tiers/checkout", { json: { tier: "fan_club" }, headers: { "fan-token": token } });
    assert.equal(again.data.error.code, "already_subscribed");
    assert.equal((await f.request("POST", "/apps/song-request/api/tiers/checkout", { json: { tier: "vip" } })).data.error.code, "unknown_tier");
  });

  test("a subscriber pays 25% less on everything but the tip and jumps the queue", async () => {
    const stranger = await submit(null, { fields: { song: "Yellow" } });
    assert.equal(stranger.data.status, "queued");
    const r = await submit(token, { fields: { song: "Hurt" }, add_ons: ["priority"], tip: 200 });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.data.price.amount, 225 + 200);
    assert.deepEqual(r.data.price.lines.map((l) => l.amount), [225, 200]);
    assert.match(r.data.price.lines[0].label, /Fan club -25%/);
    const call = f.stripe.calls.find((c) => c.form.client_reference_id === r.data.id);
    assert.deepEqual(call.form.line_items.map((l) => l.price_data.unit_amount), ["225", "200"], "Stripe charges the discounted lines");
    await f.stripe.pay(r.data.checkout_session_id);
    const free = await submit(token, { fields: { song: "Creep" } });
    assert.equal(free.data.status, "queued");
    const ids = (await queue()).map((q) => q.id);
    assert.ok(ids.indexOf(r.data.id) < ids.indexOf(stranger.data.id), "the subscriber's paid request comes first");
    assert.ok(ids.indexOf(free.data.id) < ids.indexOf(stranger.data.id));
    assert.equal((await queue()).find((q) => q.id === r.data.id).priority, true);
  });

  test("an older event arriving late does not undo a newer one, and a replay changes nothing", async () => {
    const now = Math.floor(Date.now() / 1000);
    const lapsed = f.stripe.updateSubscription(subscription.id, { status: "past_due" }, { created: now + 10 });
    const stale = f.stripe.updateSubscription(subscription.id, { status: "active" }, { created: now + 5 });
    assert.equal((await f.stripe.deliver(lapsed))[0].body.outcome, "applied");
    assert.equal((await f.stripe.deliver(stale))[0].body.outcome, "applied", "recorded, but older than what we have");
    assert.equal((await f.stripe.deliver(stale))[0].body.outcome, "duplicate");
    assert.equal((await me(token)).data.tier, null, "past_due is not a live tier");
    const r = await submit(token, { fields: { song: "Hurt" }, add_ons: ["priority"] });
    assert.equal(r.data.price.amount, 300, "full price without a live tier");

    const renewed = f.stripe.updateSubscription(subscription.id, { status: "active" }, { created: now + 20 });
    await f.stripe.deliver(renewed);
    assert.notEqual((await me(token)).data.tier, null);
    // Stripe's created-as-incomplete event of the same second, delivered last: the later stage
    // (active) is the newer one.
    const sameSecond = { ...f.stripe.updateSubscription(subscription.id, { status: "incomplete" }, { created: now + 20 }), type: "customer.subscription.created" };
    f.stripe.subscriptions.get(subscription.id).status = "active";
    assert.equal((await f.stripe.deliver(sameSecond))[0].body.outcome, "applied");
    assert.notEqual((await me(token)).data.tier, null, "an incomplete event of the same second does not undo active");
  });

  test("cancelling ends the tier through Stripe's deleted event", async () => {
    const cancelled = await f.request("POST", "/apps/song-request/api/tiers/cancel", { headers: { "fan-token": token } });
    assert.equal(cancelled.status, 202, cancelled.text);
    assert.ok(f.stripe.calls.some((c) => c.method === "DELETE" && c.path === `/v1/subscriptions/${subscription.id}`));
    await eventually(async () => (await me(token)).data.tier === null, { what: "tier ended" });
    const r = await submit(token, { fields: { song: "Hurt" }, add_ons: ["priority"] });
    assert.equal(r.data.price.amount, 300);
    assert.equal((await f.request("POST", "/apps/song-request/api/tiers/cancel", { headers: { "fan-token": token } })).status, 404);
  });
});
