// Auctions settle every bid exactly once (issue 10, items 5 and 6): only a bid whose card hold
// is in place moves the end; accepted bids keep their slots; declined bids never take one;
// bids held for review and bids paid during the close are released; a hold that can no longer
// be captured drops out and the next bid wins, without stopping the close.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startFixture } from "./support/fixture.mjs";

let f;
before(async () => (f = await startFixture()));
after(async () => f?.stop());

const base = "/apps/stream-slot/api";
const open = async (json) => {
  const r = await f.request("POST", `${base}/auctions`, { key: f.owner.apiKey, json });
  assert.equal(r.status, 201, r.text);
  return r.data;
};
const show = async (id) => (await f.request("GET", `${base}/auctions/${id}`)).data;
const view = async (id) => (await f.request("GET", `${base}/requests/${id}`, { key: f.owner.apiKey })).data;
const bid = (auction, amount, plan = "Play a round together") => f.request("POST", `${base}/auctions/${auction}/bids`, { json: { fields: { name: "Fan", plan }, bid: amount, turnstile_token: "XXXX.DUMMY.TOKEN.XXXX" } });
const cron = (time) => fetch(`${f.url}/cdn-cgi/local/scheduled?cron=${encodeURIComponent("*/10 * * * *")}&time=${time}`).then((r) => assert.equal(r.status, 200));
const act = (id, action, json = {}) => f.request("POST", `${base}/requests/${id}/${action}`, { key: f.owner.apiKey, json });
const intentOf = async (id) => f.stripe.intents.get((await view(id)).payment_intent_id);

async function held(auction, amount, plan) {
  const r = await bid(auction, amount, plan);
  assert.equal(r.status, 201, r.text);
  await f.stripe.pay(r.data.checkout_session_id);
  return r.data.id;
}

describe("anti-sniping", () => {
  test("refused and unpaid bids never move the end; a held bid does, within the documented cap", async () => {
    const auction = await open({ title: "Snipe test", slots: 1, duration_secs: 30 });
    assert.equal(auction.max_extension_secs, 600);
    const end = auction.ends_at_ms;
    const blocked = await bid(auction.id, 1000, "crypto giveaway");
    assert.equal(blocked.status, 422);
    const unpaid = await bid(auction.id, 1000);
    assert.equal(unpaid.status, 201);
    assert.equal((await show(auction.id)).ends_at_ms, end, "neither a blocked nor an unpaid bid extends");
    await held(auction.id, 1100);
    const extended = (await show(auction.id)).ends_at_ms;
    assert.ok(extended > end && extended <= end + 600_000, "a held bid extends, at most 10 minutes past the scheduled end");
  });
});

describe("holds of an open auction", () => {
  test("are never released by the hold-lapse sweep; only the close settles them", async () => {
    const auction = await open({ title: "Long one", slots: 1, duration_secs: 600 });
    const a = await held(auction.id, 1000);
    const acceptBy = Date.parse((await view(a)).payment.accept_by);
    // However the auction came to outlive its bids' acceptance window, the sweep leaves them.
    f.stack.d1(`UPDATE auctions SET ends_at = ${acceptBy + 3_600_000} WHERE id = '${auction.id}'`);
    await cron(acceptBy + 60_000);
    assert.equal((await show(auction.id)).status, "open");
    assert.deepEqual([(await view(a)).status, (await intentOf(a)).status], ["queued", "requires_capture"]);
    await cron(acceptBy + 3_600_000 + 60_000);
    assert.equal((await show(auction.id)).status, "closed");
    assert.deepEqual([(await view(a)).status, (await intentOf(a)).status], ["accepted", "succeeded"], "the close captures the winner");
  });
});

describe("the close", () => {
  test("accepted bids keep their slots, declined ones take none, review and late holds are released", async () => {
    const auction = await open({ title: "Settle test", slots: 1, duration_secs: 600 });
    const a = await held(auction.id, 1000);
    const accepted = await act(a, "accept");
    assert.equal(accepted.status, 200, accepted.text);
    assert.equal((await intentOf(a)).status, "succeeded", "accepting a bid captures it");
    const b = await held(auction.id, 1200);
    const noSlot = await act(b, "accept");
    assert.deepEqual([noSlot.status, noSlot.data.error.code], [409, "no_slot_left"]);
    const d = await held(auction.id, 3000);
    assert.equal((await act(d, "decline", { reason: "not this one" })).status, 200);
    const c = await held(auction.id, 2500, "see https://example.com/plan");
    assert.equal((await view(c)).status, "held_for_review");
    // A bid whose fan pays while the close runs: paid at Stripe, the webhook comes after.
    const late = await bid(auction.id, 1500);
    await f.stripe.pay(late.data.checkout_session_id, { times: 0 });

    await cron(auction.ends_at_ms + 1000);
    assert.equal((await show(auction.id)).status, "closed");
    assert.equal((await view(a)).status, "accepted");
    assert.equal((await intentOf(a)).status, "succeeded");
    assert.deepEqual([(await view(b)).status, (await intentOf(b)).status], ["rejected", "canceled"], "outbid: released");
    assert.deepEqual([(await view(c)).status, (await intentOf(c)).status], ["rejected", "canceled"], "held for review: released");
    assert.deepEqual([(await view(d)).status, (await intentOf(d)).status], ["rejected", "canceled"], "declined: released, took no slot");
    assert.equal((await act(c, "approve")).status, 409, "nothing to approve after the close");

    const session = f.stripe.sessions.get(late.data.checkout_session_id);
    const [delivery] = await f.stripe.deliver(f.stripe.completedEvent(session));
    assert.equal(delivery.status, 200, JSON.stringify(delivery.body));
    assert.equal(f.stripe.intents.get(session.payment_intent).status, "canceled", "a hold that landed after the close is released at once");
    const captures = f.stripe.calls.filter((x) => x.path.endsWith("/capture"));
    assert.equal(captures.length, new Set(captures.map((x) => x.path)).size, "every capture once");
  });

  test("a winning hold that can no longer be captured drops out; the next bid wins and the close finishes", async () => {
    const auction = await open({ title: "Lapsed hold", slots: 1, duration_secs: 600 });
    const y = await held(auction.id, 1500);
    const x = await held(auction.id, 2000);
    // The authorization was cancelled outside Fanline (or lapsed).
    Object.assign(await intentOf(x), { status: "canceled" });
    await cron(auction.ends_at_ms + 1000);
    assert.equal((await show(auction.id)).status, "closed");
    assert.equal((await view(x)).status, "expired");
    assert.deepEqual([(await view(y)).status, (await intentOf(y)).status], ["accepted", "succeeded"]);
  });
});
