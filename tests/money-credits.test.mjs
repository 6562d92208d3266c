// Credit packs (issue 3, item 4): a fan buys a pack through Checkout, the append-only ledger
// credits it once however often Stripe's webhook arrives, requests are paid from the balance
// without a card, the balance never goes negative under concurrent spending, and refunds
// (of a request, or of the pack itself) return or take back credits exactly once.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { eventually, startFixture } from "./support/fixture.mjs";

let f;
before(async () => (f = await startFixture()));
after(async () => f?.stop());

const me = (token) => f.request("GET", "/apps/song-request/api/me", { headers: { "fan-token": token } });
const buy = (token, json = { pack: "five_priority" }) => f.request("POST", "/apps/song-request/api/credits/checkout", { json, headers: token ? { "fan-token": token } : {} });
const spend = (token, extra = {}) => f.request("POST", "/apps/song-request/api/requests", { json: { fields: { song: "Hurt" }, add_ons: ["priority"], pay_with: "credits", ...extra }, headers: token ? { "fan-token": token } : {} });
const api = (id) => `/apps/song-request/api/requests/${id}`;

async function paidPack(token) {
  const bought = await buy(token);
  assert.equal(bought.status, 201, bought.text);
  const { deliveries } = await f.stripe.pay(bought.data.checkout_session_id);
  assert.equal(deliveries[0].body.outcome, "applied");
  return bought.data;
}

describe("credit packs", () => {
  let token;

  test("a first purchase opens Checkout for the pack's price and hands out a fan token", async () => {
    const bought = await buy(null, { pack: "five_priority", email: "fan@example.com" });
    assert.equal(bought.status, 201, bought.text);
    assert.match(bought.data.fan_token, /^ft_[0-9a-f]{48}$/);
    assert.deepEqual([bought.data.credits, bought.data.price], [5, { amount: 1200, currency: "usd" }]);
    token = bought.data.fan_token;
    const call = f.stripe.calls.find((c) => c.form.client_reference_id === bought.data.purchase_id);
    assert.equal(call.form.mode, "payment");
    assert.equal(call.form.metadata.kind, "credit_pack");
    assert.equal(call.form.line_items[0].price_data.unit_amount, "1200");

    const before = await me(token);
    assert.equal(before.status, 200, before.text);
    assert.equal(before.data.credits.balance, 0, "nothing until Stripe says it is paid");
    assert.equal(before.data.purchases[0].status, "awaiting_payment");

    const { event, deliveries } = await f.stripe.pay(bought.data.checkout_session_id);
    assert.equal(deliveries[0].body.outcome, "applied");
    // The same event again, twice at once and once more later: credited once.
    const replays = await Promise.all([f.stripe.deliver(event), f.stripe.deliver(event)]);
    assert.deepEqual(replays.flat().map((r) => r.body.outcome), ["duplicate", "duplicate"]);
    const after = (await me(token)).data;
    assert.equal(after.credits.balance, 5);
    assert.deepEqual(after.credits.ledger.map((e) => [e.delta, e.balance, e.reason]), [[5, 5, "purchase"]]);
    assert.equal(after.purchases[0].status, "paid");
  });

  test("bad pack, bad email and unknown tokens get clear errors", async () => {
    assert.equal((await buy(null, { pack: "gold" })).data.error.code, "unknown_pack");
    assert.equal((await buy(null, { pack: "five_priority", email: "nope" })).data.error.code, "invalid_email");
    const stranger = await me("ft_not_a_real_token");
    assert.deepEqual([stranger.status, stranger.data.error.code], [401, "fan_token_required"]);
    assert.equal((await f.request("GET", "/apps/song-request/api/me")).status, 401);
  });

  test("a request paid with credits skips the card and is queued at once", async () => {
    const sessionsBefore = f.stripe.sessions.size;
    const r = await spend(token);
    assert.equal(r.status, 201, r.text);
    assert.equal(r.data.status, "queued");
    assert.equal(r.data.checkout_url, undefined);
    assert.equal(r.data.price.amount, 0);
    assert.equal(f.stripe.sessions.size, sessionsBefore, "no Checkout Session for a credit payment");
    const view = (await f.request("GET", api(r.data.id), { key: f.owner.apiKey })).data;
    assert.deepEqual(view.history.map((e) => e.status), ["created", "validated", "paid", "queued"]);
    assert.deepEqual([view.payment.provider, view.payment.credits], ["credits", 1]);
    assert.equal((await me(token)).data.credits.balance, 4);

    const noToken = await spend(null);
    assert.deepEqual([noToken.status, noToken.data.error.code], [401, "fan_token_required"]);
    const withTip = await spend(token, { tip: 500 });
    assert.equal(withTip.status, 422);
    assert.equal(withTip.data.error.fields[0].code, "tip_needs_card");
    assert.equal((await me(token)).data.credits.balance, 4, "refused requests spend nothing");
  });

  test("refunding or declining a credit request returns its credits, once", async () => {
    const a = (await spend(token)).data.id;
    const b = (await spend(token)).data.id;
    assert.equal((await me(token)).data.credits.balance, 2);
    const partial = await f.request("POST", `${api(a)}/refund`, { key: f.owner.apiKey, json: { amount: 100 }, headers: { "idempotency-key": "c-1" } });
    assert.equal(partial.data.error.code, "invalid_refund_amount");
    const refunded = await f.request("POST", `${api(a)}/refund`, { key: f.owner.apiKey, json: { reason: "stream cancelled" }, headers: { "idempotency-key": "c-2" } });
    assert.equal(refunded.status, 200, refunded.text);
    assert.equal(refunded.data.status, "refunded");
    assert.equal((await f.request("POST", `${api(a)}/refund`, { key: f.owner.apiKey, json: {}, headers: { "idempotency-key": "c-3" } })).status, 409);
    const declined = await f.request("POST", `${api(b)}/decline`, { key: f.owner.apiKey, json: { reason: "not my genre" } });
    assert.equal(declined.status, 200, declined.text);
    assert.equal(declined.data.status, "rejected");
    const ledger = (await me(token)).data.credits;
    assert.equal(ledger.balance, 4);
    assert.deepEqual(ledger.ledger.slice(-4).map((e) => [e.delta, e.reason]), [[-1, "request"], [-1, "request"], [1, "refunded"], [1, "declined"]]);
  });

  test("concurrent spending never takes the balance below zero", async () => {
    const results = await Promise.all(Array.from({ length: 7 }, () => spend(token)));
    const statuses = results.map((r) => r.status).sort();
    assert.deepEqual(statuses, [201, 201, 201, 201, 402, 402, 402]);
    assert.equal(results.find((r) => r.status === 402).data.error.code, "insufficient_credits");
    const { credits } = (await me(token)).data;
    assert.equal(credits.balance, 0);
    assert.ok(credits.ledger.every((e) => e.balance >= 0));
    assert.deepEqual(credits.ledger.map((e) => e.seq), credits.ledger.map((_, i) => i + 1), "one entry per change, in order");
  });

  test("a refunded pack takes back its unspent credits, once", async () => {
    const pack = await paidPack(token);
    assert.equal((await me(token)).data.credits.balance, 5);
    assert.equal((await spend(token)).status, 201);
    const intent = [...f.stripe.intents.values()].find((i) => i.metadata.credit_purchase_id === pack.purchase_id);
    const { event, delivered } = f.stripe.refundFromDashboard(intent.id);
    assert.equal((await delivered)[0].body.outcome, "applied");
    assert.equal((await f.stripe.deliver(event))[0].body.outcome, "duplicate");
    const after = (await me(token)).data;
    assert.equal(after.credits.balance, 0, "4 unspent credits taken back; the spent one stays spent");
    assert.deepEqual(after.credits.ledger.at(-1), { ...after.credits.ledger.at(-1), delta: -4, reason: "pack_refunded" });
    assert.equal(after.purchases.find((p) => p.id === pack.purchase_id).status, "refunded");
  });

  test("the ledger is append-only in the database itself", async () => {
    // Run SQL against the same local D1 the stack uses: updates and deletes are refused.
    const r = f.stack.d1("UPDATE credit_ledger SET balance = 100");
    assert.match(r, /append-only/);
  });
});
