// Money moves exactly once (issue 10, items 1-4, 10, 11, 19): refunds need a caller key and a
// retry never refunds twice; creator action bodies are strict on every endpoint; closed
// requests can still be refunded and disputed, and a won dispute puts the request back; events
// that overtake their payment are redelivered, not lost; the queue's capacity holds through
// payments; Idempotency-Keys are bound to their body and client; one tier checkout at a time.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { eventually, PNG, startFixture } from "./support/fixture.mjs";

let f;
before(async () => (f = await startFixture()));
after(async () => f?.stop());

const api = (id) => `/apps/song-request/api/requests/${id}`;
const view = async (id) => (await f.request("GET", api(id), { key: f.owner.apiKey })).data;
const event = (type, object) => ({ id: `evt_${crypto.randomUUID().replaceAll("-", "")}`, object: "event", api_version: "2025-03-31.basil", created: Math.floor(Date.now() / 1000), type, livemode: false, data: { object } });
const charge = (pi, fields) => ({ id: `ch_${pi}`, object: "charge", payment_intent: pi, amount: 300, currency: "usd", paid: true, ...fields });

/** A paid, queued song request with the $3 priority add-on. */
async function paid() {
  const r = await f.submit("song-request", { song: `Song ${crypto.randomUUID()}` }, { addOns: ["priority"] });
  assert.equal(r.status, 201, r.text);
  await f.stripe.pay(r.data.checkout_session_id);
  const row = await eventually(async () => ((await view(r.data.id)).status === "queued" ? view(r.data.id) : null), { what: "queued" });
  return { id: r.data.id, intent: row.payment_intent_id };
}

const refund = (id, json, key) => f.request("POST", `${api(id)}/refund`, { key: f.owner.apiKey, json, headers: key ? { "idempotency-key": key } : {} });

describe("refunds", () => {
  test("a refund without an Idempotency-Key is refused; a blind retry of a partial refund refunds once", async () => {
    const { id, intent } = await paid();
    const bare = await refund(id, { amount: 100 });
    assert.deepEqual([bare.status, bare.data.error.code], [400, "idempotency_key_required"]);
    assert.equal(f.stripe.calls.filter((c) => c.path === "/v1/refunds" && c.form.payment_intent === intent).length, 0);
    const first = await refund(id, { amount: 100 }, "retry-me");
    const again = await refund(id, { amount: 100 }, "retry-me");
    assert.deepEqual([first.status, again.status], [200, 200]);
    assert.equal(f.stripe.intents.get(intent).amount_refunded, 100, "Stripe refunded once");
    assert.equal(again.data.price.refunded, 100);
    // A full refund retried after it emptied the payment answers as the first call did.
    const all = await refund(id, {}, "all-of-it");
    const allAgain = await refund(id, {}, "all-of-it");
    assert.deepEqual([all.status, allAgain.status, allAgain.data.status], [200, 200, "refunded"]);
    assert.equal(f.stripe.intents.get(intent).amount_refunded, 300);
    const call = f.stripe.calls.findLast((c) => c.path === "/v1/refunds");
    assert.ok(call.idempotencyKey.length <= 108, "short enough for PayPal-Request-Id too");
  });

  test("closed requests can still be refunded; a chargeback on a closed request disputes it", async () => {
    const a = await paid();
    for (const step of ["complete", "close"]) assert.equal((await f.request("POST", `${api(a.id)}/${step}`, { key: f.owner.apiKey })).status, 200);
    const r = await refund(a.id, {}, "closed-1");
    assert.equal(r.status, 200, r.text);
    assert.equal(r.data.status, "refunded");

    const b = await paid();
    for (const step of ["complete", "close"]) await f.request("POST", `${api(b.id)}/${step}`, { key: f.owner.apiKey });
    const opened = await f.stripe.dispute(b.intent);
    assert.equal(opened.deliveries[0].body.outcome, "applied");
    assert.equal((await view(b.id)).status, "disputed");
    await f.stripe.closeDispute(opened.dispute.id, "won");
    assert.equal((await view(b.id)).status, "closed", "won: back to closed, where it was");
  });
});

describe("creator action bodies are strict", () => {
  test("a misspelled key, a body that is not an object, a wrong type or unreadable JSON is a 400 naming the problem on every action", async () => {
    const { id } = await paid();
    const key = f.owner.apiKey;
    const cases = [
      ["POST", `${api(id)}/refund`, { amout: 300 }, "amout"],
      ["POST", `${api(id)}/complete`, { notes: "x" }, "notes"],
      ["POST", `${api(id)}/close`, { not: "x" }, "not"],
      ["POST", `${api(id)}/accept`, { reasn: "x" }, "reasn"],
      ["POST", `${api(id)}/decline`, { reasn: "x" }, "reasn"],
      ["POST", `${api(id)}/approve`, { reasn: "x" }, "reasn"],
      ["POST", `${api(id)}/reject`, { reasn: "x" }, "reasn"],
      ["PUT", "/api/apps/song-request/limits", { max_per_fan_per_dya: 3 }, "max_per_fan_per_dya"],
      ["PUT", "/api/apps/song-request/destinations", { discord: { webhook_url: "http://127.0.0.1:1/x", rol_id: "1" } }, "rol_id"],
      ["PUT", "/api/apps/song-request/destinations", { disord: { webhook_url: "http://127.0.0.1:1/x" } }, "disord"],
      ["POST", "/apps/stream-slot/api/auctions", { title: "t", slots: 1, duration_sec: 60 }, "duration_sec"],
      ["POST", "/api/blocklist", { kind: "email", vaule: "x@y.z" }, "vaule"],
      ["PUT", "/api/creator/stripe-account", { acount_id: "acct_1" }, "acount_id"],
    ];
    for (const [method, path, json, word] of cases) {
      const r = await f.request(method, path, { key, json, headers: { "idempotency-key": "strict-1" } });
      assert.equal(r.status, 400, `${method} ${path}: ${r.text}`);
      assert.match(r.data.error.message, new RegExp(word), `${path} names ${word}`);
      assert.match(r.data.error.code, /^invalid_/);
    }
    for (const body of ["300", "[300]", '"300"', "{not json", "{\"amount\": \"300\"}"]) {
      const r = await f.request("POST", `${api(id)}/refund`, { key, body, headers: { "content-type": "application/json", "idempotency-key": "strict-2" } });
      assert.equal(r.status, 400, body);
      assert.equal(r.data.error.code, "invalid_json", body);
    }
    const limits = await f.request("GET", "/api/apps/song-request/limits", { key });
    assert.equal(limits.data.source, "manifest", "the misspelled limits changed nothing");
    const row = await view(id);
    assert.deepEqual([row.status, row.price.refunded], ["queued", 0], "nothing was refunded");
  });
});

describe("payment events that overtake their payment", () => {
  test("a refund event before its checkout event is answered non-2xx and applied when Stripe delivers it again", async () => {
    const r = await f.submit("song-request", { song: "Out of order" }, { addOns: ["priority"] });
    const session = f.stripe.sessions.get(r.data.checkout_session_id);
    const pi = `pi_early${Date.now()}`;
    const early = event("charge.refunded", charge(pi, { amount_refunded: 300, refunded: true }));
    const first = await f.stripe.deliver(early);
    assert.equal(first[0].status, 503, JSON.stringify(first[0].body));
    const dispute = event("charge.dispute.created", { id: `dp_${pi}`, object: "dispute", payment_intent: pi, amount: 300, reason: "fraudulent", status: "needs_response" });
    assert.equal((await f.stripe.deliver(dispute))[0].status, 503);
    // Now the payment lands; Stripe's retry of the refund then applies.
    const paidEvent = f.stripe.completedEvent({ ...session, status: "complete", payment_status: "paid", payment_intent: pi });
    assert.equal((await f.stripe.deliver(paidEvent))[0].body.outcome, "applied");
    const retry = await f.stripe.deliver(early);
    assert.deepEqual([retry[0].status, retry[0].body.outcome], [200, "applied"]);
    assert.equal((await view(r.data.id)).status, "refunded");
  });

  test("PayPal events about an unknown capture are redelivered, not lost", async () => {
    const unknown = f.paypal.event("PAYMENT.CAPTURE.REFUNDED", { id: "REFUND-EARLY", amount: { value: "3.00", currency_code: "USD" }, links: [{ rel: "up", href: `${f.paypal.url}/v2/payments/captures/CAPTURE-NOT-YET` }] });
    const tokenCalls = () => f.paypal.calls.filter((c) => c.path === "/v1/oauth2/token").length;
    const before = f.paypal.calls.length;
    const delivered = await f.paypal.deliver(unknown);
    assert.equal(delivered[0].status, 503, JSON.stringify(delivered[0].body));
    assert.equal(f.paypal.calls.length, before, "checked before asking PayPal anything");
    // Anonymous garbage with PayPal-looking headers never reaches PayPal either.
    const forged = await f.request("POST", "/webhooks/paypal", { json: { id: "x", event_type: "X", resource: {} }, headers: { "paypal-auth-algo": "x", "paypal-cert-url": "https://evil.example/c", "paypal-transmission-id": "1", "paypal-transmission-sig": "s", "paypal-transmission-time": "t" } });
    assert.equal(forged.status, 400);
    assert.equal(f.paypal.calls.length, before);
    assert.ok(tokenCalls() <= 1);
  });
});

describe("queue capacity", () => {
  test("requests awaiting payment hold their place: paying them all never passes the capacity", async () => {
    const key = f.owner.apiKey;
    await f.request("PUT", "/api/apps/pixel-icon/limits", { key, json: { capacity: 1 } });
    const form = (i) => {
      const body = new FormData();
      for (const [k, v] of Object.entries({ subject: "cap", style: "static", palette: "retro", email: `cap${i}@example.com` })) body.append(k, v);
      body.append("reference", new Blob([PNG], { type: "image/png" }), "ref.png");
      return body;
    };
    const answers = await Promise.all([0, 1, 2].map((i) => f.request("POST", "/apps/pixel-icon/api/requests", { body: form(i) })));
    assert.deepEqual(answers.map((a) => a.status).sort(), [201, 409, 409], answers.map((a) => a.text).join("\n"));
    const admitted = answers.find((a) => a.status === 201).data;
    await f.stripe.pay(admitted.checkout_session_id);
    await eventually(async () => (await f.request("GET", "/api/apps/pixel-icon/limits", { key })).data.in_queue === 1, { what: "one in queue" });
    await f.request("DELETE", "/api/apps/pixel-icon/limits", { key });
  });

  test("a payment that arrives after the creator lowered the capacity is refunded with the reason, never queued", async () => {
    const key = f.owner.apiKey;
    const a = await f.submit("song-request", { song: "first" }, { addOns: ["priority"] });
    // `a` holds its place while the fan pays; then the creator shrinks the queue below it.
    const inQueue = (await f.request("GET", "/api/apps/song-request/limits", { key })).data.in_queue;
    await f.request("PUT", "/api/apps/song-request/limits", { key, json: { capacity: inQueue - 1 } });
    await f.stripe.pay(a.data.checkout_session_id);
    const row = await eventually(async () => ((await view(a.data.id)).status === "refunded" ? view(a.data.id) : null), { what: "refunded" });
    assert.match(row.history.at(-1).reason, /queue was full/);
    assert.equal(f.stripe.intents.get(row.payment_intent_id).amount_refunded, 300);
    await f.request("DELETE", "/api/apps/song-request/limits", { key });
    const b = await f.submit("song-request", { song: "second" }, { addOns: ["priority"] });
    await f.stripe.pay(b.data.checkout_session_id);
    await eventually(async () => (await view(b.data.id)).status === "queued", { what: "b queued" });
  });
});

describe("Idempotency-Key", () => {
  test("the same key with another body is 422; another fan's key never returns the first fan's request", async () => {
    const headers = { "idempotency-key": "order-1" };
    const a = await f.submit("song-request", { song: "A" }, { headers, ip: "203.0.113.10" });
    assert.equal(a.status, 201);
    const replay = await f.submit("song-request", { song: "A" }, { headers, ip: "203.0.113.10" });
    assert.deepEqual([replay.status, replay.data.id, replay.headers.get("idempotent-replayed")], [201, a.data.id, "true"]);
    const otherBody = await f.submit("song-request", { song: "B" }, { headers, ip: "203.0.113.10", addOns: ["priority"] });
    assert.deepEqual([otherBody.status, otherBody.data.error.code], [422, "idempotency_key_reused"]);
    const otherFan = await f.submit("song-request", { song: "A" }, { headers, ip: "203.0.113.99" });
    assert.equal(otherFan.status, 422);
    assert.equal(otherFan.data.id, undefined, "no id leaks to another client");
  });
});

describe("tier subscriptions", () => {
  test("a second tier checkout is refused while the first is pending, also when both race", async () => {
    const first = await f.request("POST", "/apps/song-request/api/tiers/checkout", { json: { tier: "fan_club" } });
    assert.equal(first.status, 201, first.text);
    const token = first.data.fan_token;
    const again = await f.request("POST", "/apps/song-request/api/tiers/checkout", { json: { tier: "fan_club" }, headers: { "fan-token": token } });
    assert.deepEqual([again.status, again.data.error.code], [409, "subscription_pending"]);
    // A new fan racing two checkouts gets one session.
    const fresh = await f.request("POST", "/apps/song-request/api/credits/checkout", { json: { pack: "five_priority" } });
    const raced = await Promise.all([0, 1].map(() => f.request("POST", "/apps/song-request/api/tiers/checkout", { json: { tier: "fan_club" }, headers: { "fan-token": fresh.data.fan_token } })));
    assert.deepEqual(raced.map((r) => r.status).sort(), [201, 409]);
    // Once the first is paid, the fan is subscribed: still refused.
    await f.stripe.pay(first.data.checkout_session_id);
    const later = await f.request("POST", "/apps/song-request/api/tiers/checkout", { json: { tier: "fan_club" }, headers: { "fan-token": token } });
    assert.equal(later.status, 409);
  });
});
