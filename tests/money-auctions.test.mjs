// Live auctions (issue 3, item 7): the stream-slot app auctions a few slots. Every bid is a
// held payment; bids must clear the minimum increment; a late bid pushes the end back; at the
// close (the hub's cron, run here at times the test chooses) the winners are captured and
// every other hold released, exactly once even when the close runs twice at the same moment.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startFixture } from "./support/fixture.mjs";

let f;
before(async () => (f = await startFixture()));
after(async () => f?.stop());

const base = "/apps/stream-slot/api";
const open = (json) => f.request("POST", `${base}/auctions`, { key: f.owner.apiKey, json });
const show = async (id) => (await f.request("GET", `${base}/auctions/${id}`)).data;
// stream-slot requires Cloudflare Turnstile; the local siteverify passes Cloudflare's dummy token.
const bid = (auction, amount, name = "Ana") => f.request("POST", `${base}/auctions/${auction}/bids`, { json: { fields: { name, plan: "Play a round of Tetris 99 together" }, bid: amount, turnstile_token: "XXXX.DUMMY.TOKEN.XXXX" } });
const view = async (id) => (await f.request("GET", `${base}/requests/${id}`, { key: f.owner.apiKey })).data;

async function heldBid(auction, amount, name) {
  const r = await bid(auction, amount, name);
  assert.equal(r.status, 201, r.text);
  const { deliveries } = await f.stripe.pay(r.data.checkout_session_id);
  assert.equal(deliveries[0].body.outcome, "applied");
  return r.data.id;
}

/** Runs the hub's cron trigger as if it fired at `time` (ms since the epoch). */
const cron = (time) => fetch(`${f.url}/cdn-cgi/local/scheduled?cron=${encodeURIComponent("*/10 * * * *")}&time=${time}`).then((r) => assert.equal(r.status, 200));

describe("an auction of two stream slots", () => {
  test("only the creator opens one, with sane slots and duration", async () => {
    assert.equal((await f.request("POST", `${base}/auctions`, { json: { title: "x", slots: 2, duration_secs: 600 } })).status, 401);
    assert.equal((await open({ title: "x", slots: 0, duration_secs: 600 })).data.error.code, "invalid_slots");
    assert.equal((await open({ title: "x", slots: 2, duration_secs: 30 * 24 * 3600 })).data.error.code, "invalid_duration");
    assert.equal((await f.request("POST", `${base}/requests`, { json: { fields: { name: "A", plan: "B" }, bid: 2000, turnstile_token: "XXXX.DUMMY.TOKEN.XXXX" } })).data.error.code, "bid_on_an_auction");
  });

  test("bids are holds that must clear the increment; the best two win and the rest are released once", async () => {
    const opened = await open({ title: "Friday stream", slots: 2, duration_secs: 600 });
    assert.equal(opened.status, 201, opened.text);
    const auction = opened.data.id;
    assert.equal(opened.data.minimum_bid, 1000);

    const tooLow = await bid(auction, 900);
    assert.equal(tooLow.status, 422);
    assert.equal(tooLow.data.error.fields[0].code, "bid_too_low");

    const a = await heldBid(auction, 1000, "Ana");
    const b = await heldBid(auction, 1500, "Ben");
    assert.equal((await show(auction)).minimum_bid, 1100, "both slots taken: beat the lower bid by the increment");
    const under = await bid(auction, 1050);
    assert.equal(under.data.error.fields[0].code, "bid_too_low");
    const c = await heldBid(auction, 1200, "Cat");
    const unpaid = (await bid(auction, 2000, "Dan")).data;
    const state = await show(auction);
    assert.deepEqual(state.held_bids, [1500, 1200, 1000], "an unpaid bid does not count");
    assert.equal(state.ends_at_ms, opened.data.ends_at_ms, "no bid came near the end");

    const call = f.stripe.calls.find((x) => x.form.client_reference_id === a);
    assert.equal(call.form.payment_intent_data.capture_method, "manual");
    assert.equal((await view(a)).payment.hold, true);

    await cron(state.ends_at_ms - 1000);
    assert.equal((await show(auction)).status, "open", "not before the end");

    // Two closes at the same instant, then a third later: one settles, the others find nothing.
    const closeAt = state.ends_at_ms + 1000;
    await Promise.all([cron(closeAt), cron(closeAt)]);
    await cron(closeAt + 60_000);
    assert.equal((await show(auction)).status, "closed");

    const statuses = Object.fromEntries(await Promise.all([a, b, c, unpaid.id].map(async (id) => [id, (await view(id)).status])));
    assert.deepEqual(statuses, { [b]: "accepted", [c]: "accepted", [a]: "rejected", [unpaid.id]: "expired" });
    const intentOf = async (id) => f.stripe.intents.get((await view(id)).payment_intent_id);
    assert.deepEqual([(await intentOf(b)).status, (await intentOf(b)).amount_received], ["succeeded", 1500]);
    assert.deepEqual([(await intentOf(c)).status, (await intentOf(c)).amount_received], ["succeeded", 1200]);
    assert.deepEqual([(await intentOf(a)).status, (await intentOf(a)).amount_received], ["canceled", 0]);
    assert.equal(f.stripe.sessions.get(unpaid.checkout_session_id).status, "expired", "the unpaid bid's checkout can no longer be paid");

    // Every Stripe action happened once, whatever the number of closes.
    const actions = (id, what) => f.stripe.calls.filter((x) => x.method === "POST" && x.path.endsWith(`/${what}`) && x.idempotencyKey?.endsWith(id));
    for (const id of [b, c]) assert.equal(actions(id, "capture").length, 1, `one capture for ${id}`);
    assert.equal(actions(a, "cancel").length, 1);
    assert.equal(actions(a, "capture").length, 0);
    const history = (await view(a)).history.at(-1);
    assert.deepEqual([history.status, history.actor, history.reason], ["rejected", "auction", "outbid"]);

    const late = await bid(auction, 5000);
    assert.deepEqual([late.status, late.data.error.code], [409, "auction_closed"]);
  });

  test("a bid in the last seconds pushes the end back", async () => {
    const opened = await open({ title: "Saturday stream", slots: 1, duration_secs: 20 });
    const before = opened.data.ends_at_ms;
    const placedAround = Date.now();
    await heldBid(opened.data.id, 1000, "Eve");
    const after = (await show(opened.data.id)).ends_at_ms;
    assert.ok(after > before, "extended");
    assert.ok(after >= placedAround + 60_000 && after <= Date.now() + 60_000, "to 60 s (anti_snipe_secs) after the bid");
    // The old end passes: still open. The new end passes: closed, and the only bid wins.
    await cron(before + 1000);
    assert.equal((await show(opened.data.id)).status, "open");
    await cron(after + 1000);
    assert.equal((await show(opened.data.id)).status, "closed");
  });
});
