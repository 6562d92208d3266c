// Refunds and chargebacks (issue 3, item 9): the creator refunds in part or in full through
// the API, Stripe's refund and dispute webhooks move the request, and the creator can export
// the evidence for a dispute. Webhooks are signed by the official stripe library.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { eventually, PNG, settle, startFixture } from "./support/fixture.mjs";

let f;
before(async () => (f = await startFixture()));
after(async () => f?.stop());

const api = (id) => `/apps/pixel-icon/api/requests/${id}`;
const view = async (id) => (await f.request("GET", api(id), { key: f.owner.apiKey })).data;

/** A paid, queued pixel-icon request (2500 cents). */
async function paidRequest({ ip, userAgent } = {}) {
  const form = new FormData();
  for (const [k, v] of Object.entries({ subject: "a fox", style: "static", palette: "retro", email: "fan@example.com" })) form.append(k, v);
  form.append("reference", new Blob([PNG], { type: "image/png" }), "ref.png");
  const r = await f.request("POST", "/apps/pixel-icon/api/requests", { body: form, ip, headers: userAgent ? { "user-agent": userAgent } : {} });
  assert.equal(r.status, 201, r.text);
  await f.stripe.pay(r.data.checkout_session_id);
  const paid = await eventually(async () => ((await view(r.data.id)).status === "queued" ? view(r.data.id) : null), { what: "queued" });
  return { id: r.data.id, intent: paid.payment_intent_id };
}

// Every refund call carries an Idempotency-Key (required); a fresh one unless a test gives one.
const refund = (id, json, headers = { "idempotency-key": crypto.randomUUID() }, key = f.owner.apiKey) => f.request("POST", `${api(id)}/refund`, { key, json, headers });

describe("refunds through the creator API", () => {
  test("a partial refund keeps the request; the rest refunds it fully, mails the fan once, and the webhooks change nothing more", async () => {
    const { id, intent } = await paidRequest();
    const part = await refund(id, { amount: 1000, reason: "late delivery" });
    assert.equal(part.status, 200, part.text);
    assert.equal(part.data.status, "queued");
    assert.equal(part.data.price.refunded, 1000);
    assert.deepEqual(part.data.refunds.map((r) => [r.amount, r.reason, r.actor]), [[1000, "late delivery", "creator:cr_owner"]]);
    const call = f.stripe.calls.findLast((c) => c.path === "/v1/refunds");
    assert.deepEqual([call.form.payment_intent, call.form.amount, call.form.metadata.request_id], [intent, "1000", id]);

    const tooMuch = await refund(id, { amount: 5000 });
    assert.equal(tooMuch.status, 400);
    assert.equal(tooMuch.data.error.code, "invalid_refund_amount");
    assert.match(tooMuch.data.error.message, /1500/);

    const rest = await refund(id, {});
    assert.equal(rest.status, 200, rest.text);
    assert.equal(rest.data.status, "refunded");
    assert.equal(rest.data.price.refunded, 2500);
    assert.deepEqual(rest.data.refunds.map((r) => r.amount), [1000, 1500]);
    assert.equal(f.stripe.intents.get(intent).amount_refunded, 2500);

    const mail = await eventually(() => f.mail.mails.find((m) => m.text.includes(id) && m.subject.startsWith("Your request was refunded")), { what: "refund email" });
    assert.equal(mail.to, "fan@example.com");
    await eventually(() => f.webhooks.received.some((m) => m.json?.type === "request.refunded" && m.json.data.id === id), { what: "refunded webhook" });
    await settle();
    assert.equal((await view(id)).price.refunded, 2500, "Stripe's charge.refunded webhooks do not double the total");
    assert.equal(f.mail.mails.filter((m) => m.text.includes(id) && m.subject.startsWith("Your request was refunded")).length, 1);

    const again = await refund(id, {});
    assert.equal(again.status, 409);
    assert.equal(again.data.error.code, "not_refundable");
  });

  test("retrying a refund call with the same Idempotency-Key refunds once", async () => {
    const { id, intent } = await paidRequest();
    const headers = { "idempotency-key": "refund-once-1" };
    const first = await refund(id, { amount: 700 }, headers);
    const second = await refund(id, { amount: 700 }, headers);
    assert.equal(first.status, 200);
    assert.equal(second.status, 200);
    assert.equal(f.stripe.intents.get(intent).amount_refunded, 700);
    assert.deepEqual(second.data.refunds.map((r) => r.amount), [700]);
    assert.equal(second.data.price.refunded, 700);
  });

  test("only the owner can refund, and only a paid request", async () => {
    const { id } = await paidRequest();
    assert.equal((await refund(id, {}, {}, null)).status, 401);
    assert.equal((await refund(id, {}, {}, f.other.apiKey)).status, 404);
    const free = await f.submit("song-request", { song: "Free one" });
    const r = await f.request("POST", `/apps/song-request/api/requests/${free.data.id}/refund`, { key: f.owner.apiKey, json: {}, headers: { "idempotency-key": "free-1" } });
    assert.equal(r.status, 409);
    assert.equal(r.data.error.code, "not_refundable");
  });
});

describe("refunds and disputes from Stripe", () => {
  test("a refund made in Stripe's dashboard refunds the request through the webhook", async () => {
    const { id, intent } = await paidRequest();
    const { delivered, created, refund: made } = f.stripe.refundFromDashboard(intent, undefined, { reason: "requested_by_customer" });
    const [answer] = await delivered;
    assert.equal(answer.body.outcome, "applied");
    assert.equal((await created)[0].body.outcome, "recorded", "refund.created itemizes it");
    const after = await view(id);
    assert.equal(after.status, "refunded");
    assert.equal(after.price.refunded, 2500);
    assert.equal(after.history.at(-1).actor, "stripe");
    assert.deepEqual(after.refunds.map((r) => [r.id, r.amount, r.actor, r.reason]), [[made.id, 2500, "stripe", "requested_by_customer"]], "the creator sees the dashboard's refund");
  });

  // Review L3: dashboard refunds never reach the refunds table, so before this the request's
  // total stayed at the larger of the two sources until Stripe's next event.
  test("after a dashboard refund, an API refund shows the charge's whole refunded total at once and empties the payment", async () => {
    const { id, intent } = await paidRequest();
    const [answer] = await f.stripe.refundFromDashboard(intent, 1000).delivered;
    assert.equal(answer.body.outcome, "recorded", "a partial refund changes no state");
    assert.equal((await view(id)).price.refunded, 1000);
    f.stripe.delayEvents(5000);
    try {
      const part = await refund(id, { amount: 500 });
      assert.equal(part.status, 200, part.text);
      assert.equal(part.data.price.refunded, 1500, "the dashboard's 1000 and this 500, before Stripe's event for it");
      const rest = await refund(id, {});
      assert.equal(rest.status, 200, rest.text);
      assert.equal(f.stripe.calls.findLast((c) => c.path === "/v1/refunds").form.amount, "1000", "what was left");
      assert.deepEqual([rest.data.status, rest.data.price.refunded], ["refunded", 2500]);
    } finally {
      f.stripe.delayEvents(30);
    }
    await settle(6000);
    const settled = await view(id);
    assert.equal(settled.price.refunded, 2500, "Stripe's late events change nothing");
    assert.deepEqual(
      settled.refunds.map((r) => [r.amount, r.actor.split(":")[0]]),
      [[1000, "stripe"], [500, "creator"], [1000, "creator"]],
      "each refund once: the dashboard's from its refund.created, ours from the calls that made them",
    );
  });

  test("a lost dispute: disputed, evidence exported, then refunded", async () => {
    const { id, intent } = await paidRequest({ ip: "203.0.113.9", userAgent: "Mozilla/5.0 (evidence test)" });
    const opened = await f.stripe.dispute(intent, { reason: "fraudulent" });
    assert.equal(opened.deliveries[0].body.outcome, "applied");
    const disputed = await view(id);
    assert.equal(disputed.status, "disputed");
    assert.deepEqual(disputed.disputes.map((d) => [d.reason, d.status]), [["fraudulent", "open"]]);

    // The evidence is a snapshot; wait until the queue has delivered the Discord notice.
    const bundle = await eventually(async () => {
      const b = await f.request("GET", `${api(id)}/evidence`, { key: f.owner.apiKey });
      return b.data.deliveries.some((d) => d.destination === "discord" && d.state === "delivered") && b;
    }, { what: "evidence with a delivered notice" });
    assert.equal(bundle.status, 200);
    assert.match(bundle.headers.get("content-disposition"), /evidence-req_/);
    assert.equal(bundle.data.payment.payment_intent_id, intent);
    assert.equal(bundle.data.payment.amount, 2500);
    assert.deepEqual(bundle.data.identity, { signed_in: null, email: "fan@example.com", ip: "203.0.113.9", user_agent: "Mozilla/5.0 (evidence test)" });
    assert.deepEqual(bundle.data.request.history.map((e) => e.status), ["created", "validated", "awaiting_payment", "paid", "queued", "disputed"]);
    assert.equal(bundle.data.request.fields.subject, "a fox");
    assert.equal((await f.request("GET", `${api(id)}/evidence`)).status, 401);
    assert.equal((await f.request("GET", `${api(id)}/evidence`, { key: f.other.apiKey })).status, 404);

    const closed = await f.stripe.closeDispute(opened.dispute.id, "lost");
    assert.equal(closed.deliveries[0].body.outcome, "applied");
    const lost = await view(id);
    assert.equal(lost.status, "refunded");
    assert.equal(lost.disputes[0].status, "lost");
  });

  test("a won dispute returns the request to the queue it was in; replaying the dispute events changes nothing", async () => {
    const { id, intent } = await paidRequest();
    const opened = await f.stripe.dispute(intent);
    assert.equal((await view(id)).status, "disputed");
    const closed = await f.stripe.closeDispute(opened.dispute.id, "won");
    assert.equal((await view(id)).status, "queued", "never closed unless it was fulfilled");
    const replayOpen = await f.stripe.deliver(opened.event);
    const replayClose = await f.stripe.deliver(closed.event);
    assert.deepEqual([replayOpen[0].body.outcome, replayClose[0].body.outcome], ["duplicate", "duplicate"]);
    assert.equal((await view(id)).status, "queued");
    const done = await f.request("POST", `${api(id)}/complete`, { key: f.owner.apiKey, json: { note: "done after all" } });
    assert.equal(done.data.status, "fulfilled", "a queued request is still workable");
  });
});
