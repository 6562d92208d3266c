// PayPal (issue 3, item 10): a fan picks PayPal, approves the order on PayPal's page, comes
// back and the order is captured; PayPal's webhooks are verified through its
// verify-webhook-signature API; refunds go through PayPal's captures API. Replays and
// out-of-order events never double-charge or double-refund.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { eventually, settle, startFixture } from "./support/fixture.mjs";

let f;
before(async () => (f = await startFixture()));
after(async () => f?.stop());

const api = (id) => `/apps/song-request/api/requests/${id}`;
const view = async (id) => (await f.request("GET", api(id), { key: f.owner.apiKey })).data;
const paypalRequest = () => f.request("POST", "/apps/song-request/api/requests", { json: { fields: { song: "Hurt" }, add_ons: ["priority"], tip: 250, pay_with: "paypal" } });

describe("paying with PayPal", () => {
  test("the fan approves, returns, and the order is captured for the server's price", async () => {
    const r = await paypalRequest();
    assert.equal(r.status, 201, r.text);
    assert.equal(r.data.status, "awaiting_payment");
    assert.match(r.data.checkout_url, new RegExp(`^${f.paypal.url}/checkoutnow\\?token=`));
    const order = [...f.paypal.orders.values()].find((o) => o.purchase_units[0].custom_id === r.data.id);
    assert.deepEqual(order.purchase_units[0].amount, { currency_code: "USD", value: "5.50" });
    const create = f.paypal.calls.find((c) => c.path === "/v2/checkout/orders");
    assert.equal(create.requestId, `order-${r.data.id}`);

    // The fan presses Pay on PayPal's page and is sent back to the app, which captures.
    const approve = await fetch(r.data.checkout_url, { method: "POST", redirect: "manual" });
    assert.equal(approve.status, 303);
    const back = await fetch(approve.headers.get("location"), { redirect: "manual" });
    assert.equal(back.status, 303);
    assert.match(back.headers.get("location"), new RegExp(`\\?paid=1&request=${r.data.id}$`));
    const paid = await view(r.data.id);
    assert.deepEqual(paid.history.map((e) => e.status).slice(-2), ["paid", "queued"]);
    assert.equal(paid.payment.provider, "paypal");
    assert.match(paid.paypal.capture_id, /^C/);

    // PayPal's own CAPTURE.COMPLETED arrives after; and the fan reloads the return page.
    await eventually(() => f.paypal.calls.length && true);
    await settle(500);
    assert.equal((await fetch(approve.headers.get("location"), { redirect: "manual" })).status, 303);
    const captures = f.paypal.calls.filter((c) => c.path.endsWith("/capture"));
    assert.equal(new Set(captures.map((c) => c.requestId)).size, 1, "every capture call carries the same PayPal-Request-Id");
    assert.equal([...f.paypal.captures.values()].filter((c) => c.custom_id === r.data.id).length, 1, "captured once");
    assert.equal((await view(r.data.id)).history.filter((e) => e.status === "paid").length, 1);
  });

  test("a fan who never comes back is captured from the ORDER.APPROVED webhook", async () => {
    const r = await paypalRequest();
    const orderId = new URL(r.data.checkout_url).searchParams.get("token");
    const { deliveries } = await f.paypal.approve(orderId);
    assert.equal(deliveries[0].body.outcome, "applied");
    assert.equal((await view(r.data.id)).status, "queued");
    // The same approval again, and the capture event: nothing more happens.
    const { event } = await f.paypal.approve(orderId, { notify: false });
    const again = await f.paypal.deliver(event, { times: 2 });
    assert.ok(again.every((d) => ["already_settled", "duplicate"].includes(d.body.outcome)), JSON.stringify(again));
    assert.equal([...f.paypal.captures.values()].filter((c) => c.custom_id === r.data.id).length, 1);
  });

  test("one approval delivered six times at once captures once and is recorded as applied with its payment (review L5)", async () => {
    const r = await paypalRequest();
    const orderId = new URL(r.data.checkout_url).searchParams.get("token");
    const { event } = await f.paypal.approve(orderId, { notify: false });
    const answers = (await Promise.all(Array.from({ length: 6 }, () => f.paypal.deliver(event)))).flat();
    const outcomes = answers.map((a) => a.body?.outcome);
    assert.equal(outcomes.filter((o) => o === "applied").length, 1, JSON.stringify(answers));
    assert.ok(outcomes.every((o) => ["applied", "already_settled", "duplicate"].includes(o)), JSON.stringify(answers));
    assert.equal([...f.paypal.captures.values()].filter((c) => c.custom_id === r.data.id).length, 1, "captured once");
    assert.deepEqual(f.stack.d1Rows(`SELECT outcome FROM payment_events WHERE provider = 'paypal' AND event_id = '${event.id}'`), [{ outcome: "applied" }]);
    assert.equal((await view(r.data.id)).history.filter((e) => e.status === "paid").length, 1);
  });

  test("webhooks that PayPal does not vouch for are refused", async () => {
    const r = await paypalRequest();
    const orderId = new URL(r.data.checkout_url).searchParams.get("token");
    const event = f.paypal.event("CHECKOUT.ORDER.APPROVED", { id: orderId, purchase_units: [{ custom_id: r.data.id }] });
    const forged = await f.paypal.deliver(event, { tamper: true });
    assert.equal(forged[0].status, 400);
    const unsigned = await f.request("POST", "/webhooks/paypal", { json: event });
    assert.deepEqual([unsigned.status, unsigned.data.error.code], [400, "invalid_signature"]);
    assert.equal((await view(r.data.id)).status, "awaiting_payment");
    assert.equal(f.paypal.calls.filter((c) => c.path === `/v2/checkout/orders/${orderId}/capture`).length, 0);
  });

  test("refunds go through PayPal once, and PayPal's refund event does not count twice", async () => {
    const r = await paypalRequest();
    await f.paypal.approve(new URL(r.data.checkout_url).searchParams.get("token"));
    const captureId = (await view(r.data.id)).paypal.capture_id;
    const partial = await f.request("POST", `${api(r.data.id)}/refund`, { key: f.owner.apiKey, json: { amount: 200 }, headers: { "idempotency-key": "pp-1" } });
    assert.equal(partial.status, 200, partial.text + JSON.stringify(f.paypal.calls.slice(-3)));
    const retry = await f.request("POST", `${api(r.data.id)}/refund`, { key: f.owner.apiKey, json: { amount: 200 }, headers: { "idempotency-key": "pp-1" } });
    assert.equal(retry.status, 200, retry.text);
    assert.equal(f.paypal.captures.get(captureId).refunded, 200, "the retried call refunded nothing more");
    await settle(800);
    assert.equal((await view(r.data.id)).price.refunded, 200);
    const rest = await f.request("POST", `${api(r.data.id)}/refund`, { key: f.owner.apiKey, json: {}, headers: { "idempotency-key": "pp-2" } });
    assert.equal(rest.data.status, "refunded");
    // The retried key is answered from the refund it already made: PayPal is not asked again.
    assert.deepEqual(f.paypal.calls.filter((c) => c.path.endsWith("/refund")).map((c) => JSON.parse(c.body).amount.value), ["2.00", "3.50"]);
    await settle(800);
    const done = await view(r.data.id);
    assert.deepEqual([done.status, done.price.refunded], ["refunded", 550]);
  });

  test("a refund event in another currency than the payment's is not counted", async () => {
    const r = await paypalRequest();
    await f.paypal.approve(new URL(r.data.checkout_url).searchParams.get("token"));
    const captureId = (await view(r.data.id)).paypal.capture_id;
    const refund = (currency_code) =>
      f.paypal.event("PAYMENT.CAPTURE.REFUNDED", { id: `R-${currency_code}-${r.data.id}`, status: "COMPLETED", amount: { value: "5.50", currency_code }, links: [{ rel: "up", href: `${f.paypal.url}/v2/payments/captures/${captureId}` }] });
    const [other] = await f.paypal.deliver(refund("EUR"));
    assert.deepEqual([other.status, other.body.outcome], [200, "mismatch"], JSON.stringify(other.body));
    const after = await view(r.data.id);
    assert.deepEqual([after.status, after.price.refunded], ["queued", 0]);
    // The same refund in the payment's currency counts.
    const [same] = await f.paypal.deliver(refund("USD"));
    assert.deepEqual([same.status, same.body.outcome], [200, "applied"], JSON.stringify(same.body));
    assert.deepEqual([(await view(r.data.id)).status, (await view(r.data.id)).price.refunded], ["refunded", 550]);
  });

  test("a refund made in PayPal's dashboard moves the request", async () => {
    const r = await paypalRequest();
    await f.paypal.approve(new URL(r.data.checkout_url).searchParams.get("token"));
    f.paypal.refundFromDashboard((await view(r.data.id)).paypal.capture_id);
    await eventually(async () => (await view(r.data.id)).status === "refunded", { what: "refunded by webhook" });
    assert.equal((await view(r.data.id)).price.refunded, 550);
  });
});
