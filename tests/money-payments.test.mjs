// The paid path: multipart intake with an attachment, Stripe Checkout, the payment webhook
// (signed by the official stripe library), fulfilment exactly once, and the creator's side.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import Stripe from "stripe";
import { eventually, PNG, settle, startFixture } from "./support/fixture.mjs";

let f;
before(async () => (f = await startFixture()));
after(async () => f?.stop());

const discordFor = (id) => f.discord.messages.filter((m) => m.json.embeds[0].description.includes(id));
const webhooksFor = (id, type) => f.webhooks.received.filter((m) => m.json?.data?.id === id && (!type || m.json.type === type));

function pixelForm({ file = PNG, type = "image/png", name = "ref.png", rush = false, style = "static" } = {}) {
  const form = new FormData();
  form.append("subject", "a tiny red fox");
  form.append("style", style);
  form.append("palette", "retro");
  form.append("email", "fan@example.com");
  if (file) form.append("reference", new Blob([file], { type }), name);
  if (rush) form.append("add_ons", "rush");
  return form;
}

async function submitPixel(options) {
  return f.request("POST", "/apps/pixel-icon/api/requests", { body: pixelForm(options) });
}

function signedPost(payload, { timestamp, secret = f.stripe.webhookSecret, header } = {}) {
  const body = JSON.stringify(payload);
  const signature = header ?? Stripe.webhooks.generateTestHeaderString({ payload: body, secret, timestamp });
  return f.request("POST", "/webhooks/payment", { body, headers: { "content-type": "application/json", "stripe-signature": signature } });
}

describe("a paid pixel-icon commission", () => {
  let request;

  test("multipart intake stores the attachment and opens a Checkout Session at the server's price", async () => {
    const r = await submitPixel({ rush: true, style: "animated (4 frames)" });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.data.status, "awaiting_payment");
    assert.deepEqual(r.data.price, {
      amount: 5000,
      currency: "usd",
      lines: [
        { label: "Commission a 32x32 pixel icon", amount: 2500 },
        { label: "Style: animated (4 frames)", amount: 1500 },
        { label: "Rush: delivered within 48 hours", amount: 1000 },
      ],
      refunded: 0,
    });
    request = r.data;

    const calls = f.stripe.calls.filter((c) => c.form.client_reference_id === request.id);
    assert.equal(calls.length, 1);
    const [call] = calls;
    assert.equal(call.path, "/v1/checkout/sessions");
    assert.equal(call.idempotencyKey, `checkout-${request.id}`);
    assert.equal(call.form.mode, "payment");
    assert.equal(call.form.metadata.request_id, request.id);
    assert.equal(call.form.customer_email, "fan@example.com");
    assert.deepEqual(
      call.form.line_items.map((l) => [l.price_data.product_data.name, l.price_data.unit_amount, l.price_data.currency]),
      [["Commission a 32x32 pixel icon", "2500", "usd"], ["Style: animated (4 frames)", "1500", "usd"], ["Rush: delivered within 48 hours", "1000", "usd"]],
    );
    const session = [...f.stripe.sessions.values()].find((s) => s.client_reference_id === request.id);
    assert.equal(session.amount_total, 5000);
    assert.equal(request.checkout_url, session.url);
    assert.equal(request.checkout_session_id, session.id);

    const creator = await f.request("GET", `/apps/pixel-icon/api/requests/${request.id}`, { key: f.owner.apiKey });
    assert.equal(creator.data.attachments.length, 1);
    assert.equal(creator.data.attachments[0].media_type, "image/png");
    const file = await fetch(creator.data.attachments[0].url, { headers: { authorization: `Bearer ${f.owner.apiKey}` } });
    assert.equal(file.status, 200);
    assert.deepEqual(Buffer.from(await file.arrayBuffer()), PNG);
    const fanTry = await fetch(creator.data.attachments[0].url);
    assert.equal(fanTry.status, 401);
    await settle(1500);
    assert.equal(discordFor(request.id).length, 0, "nothing is routed before payment");
  });

  test("the payment webhook, delivered twice, marks it paid and reaches Discord exactly once", async () => {
    const session = [...f.stripe.sessions.values()].find((s) => s.client_reference_id === request.id);
    const { event, deliveries } = await f.stripe.pay(session.id, { times: 2 });
    assert.deepEqual(deliveries.map((d) => [d.status, d.body.outcome]), [[200, "applied"], [200, "duplicate"]]);
    const again = await signedPost(event);
    assert.equal(again.data.outcome, "duplicate");

    await eventually(() => discordFor(request.id).length === 1, { what: "Discord message" });
    await settle();
    assert.equal(discordFor(request.id).length, 1);
    assert.equal(webhooksFor(request.id, "request.queued").length, 1);
    const receipts = f.mail.mails.filter((m) => m.text.includes(request.id));
    assert.deepEqual(receipts.map((m) => [m.to, m.subject]), [["fan@example.com", "Your request is in the queue: Commission a 32x32 pixel icon"]]);
    assert.match(receipts[0].text, /Paid: \$50\.00/);
    const embed = discordFor(request.id)[0].json.embeds[0];
    assert.ok(embed.fields.some((x) => x.name === "Price" && x.value === "$50.00"));
    const fanView = await f.request("GET", `/apps/pixel-icon/api/requests/${request.id}`);
    assert.deepEqual([fanView.data.checkout_url, fanView.data.checkout_session_id], [undefined, undefined], "once paid, the fan's view keeps the session to itself");
    const creatorView = await f.request("GET", `/apps/pixel-icon/api/requests/${request.id}`, { key: f.owner.apiKey });
    assert.equal(creatorView.data.checkout_session_id, session.id);

    const status = await f.request("GET", `/apps/pixel-icon/api/requests/${request.id}`);
    assert.equal(status.data.status, "queued");
    assert.deepEqual(status.data.history.map((e) => e.status), ["created", "validated", "awaiting_payment", "paid", "queued"]);
    assert.equal(status.data.checkout_url, undefined);

    // A different event id for an already-paid request changes nothing.
    const replay = await signedPost({ ...event, id: "evt_another_delivery" });
    assert.equal(replay.data.outcome, "already_settled");
  });

  test("the creator completes it; a wrong key gets 401 and another creator gets 404", async () => {
    const path = `/apps/pixel-icon/api/requests/${request.id}/complete`;
    assert.equal((await f.request("POST", path)).status, 401);
    const wrong = await f.request("POST", path, { key: "fl_live_not_a_real_key" });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.data.error.code, "unauthorized");
    const stranger = await f.request("POST", path, { key: f.other.apiKey });
    assert.equal(stranger.status, 404);

    const done = await f.request("POST", path, { key: f.owner.apiKey, json: { note: "delivered fox.png" } });
    assert.equal(done.status, 200, done.text);
    assert.equal(done.data.status, "fulfilled");
    const last = done.data.history.at(-1);
    assert.deepEqual([last.status, last.actor, last.reason], ["fulfilled", "creator:cr_owner", "delivered fox.png"]);
    await eventually(() => webhooksFor(request.id, "request.fulfilled").length === 1, { what: "fulfilled webhook" });
    const confirmation = await eventually(() => f.mail.mails.find((m) => m.text.includes(request.id) && m.subject.startsWith("Your request was fulfilled")), { what: "fan confirmation" });
    assert.equal(confirmation.to, "fan@example.com");
    assert.equal(confirmation.from, "requests@fanline.local");

    const twice = await f.request("POST", path, { key: f.owner.apiKey });
    assert.equal(twice.status, 409);
    assert.equal(twice.data.error.code, "invalid_transition");
  });
});

describe("tips", () => {
  test("a free request with a tip is paid through Checkout for exactly the tip; a tip out of bounds is refused", async () => {
    const r = await f.request("POST", "/apps/song-request/api/requests", { json: { fields: { song: "Tipped" }, tip: 500 } });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.data.status, "awaiting_payment");
    assert.deepEqual(r.data.price, { amount: 500, currency: "usd", lines: [{ label: "Tip", amount: 500 }], refunded: 0 });
    const call = f.stripe.calls.find((c) => c.form.client_reference_id === r.data.id);
    assert.deepEqual(call.form.line_items.map((l) => [l.price_data.product_data.name, l.price_data.unit_amount]), [["Tip", "500"]]);
    const both = await f.request("POST", "/apps/song-request/api/requests", { json: { fields: { song: "Both" }, add_ons: ["priority"], tip: 200 } });
    assert.equal(both.data.price.amount, 500);
    const low = await f.request("POST", "/apps/song-request/api/requests", { json: { fields: { song: "Cheap" }, tip: 50 } });
    assert.equal(low.status, 422);
    assert.deepEqual(low.data.error.fields.map((e) => [e.field, e.code]), [["tip", "tip_out_of_range"]]);
    assert.match(low.data.error.fields[0].message, /\$1\.00 and \$100\.00/);
    const pixelTip = await submitPixelWith({ tip: "300" });
    assert.deepEqual(pixelTip.data.error.fields.map((e) => [e.field, e.code]), [["tip", "tips_not_accepted"]]);
  });
});

async function submitPixelWith(extra) {
  const form = pixelForm();
  for (const [k, v] of Object.entries(extra)) form.append(k, v);
  return f.request("POST", "/apps/pixel-icon/api/requests", { body: form });
}

describe("an unpaid checkout", () => {
  test("expires when Stripe says so, and a late payment event cannot revive it", async () => {
    const r = await f.submit("song-request", { song: "Never paid" }, { addOns: ["priority"] });
    const session = [...f.stripe.sessions.values()].find((s) => s.client_reference_id === r.data.id);
    const { deliveries } = await f.stripe.expire(session.id);
    assert.deepEqual(deliveries.map((d) => d.body.outcome), ["applied"]);
    const status = await f.request("GET", `/apps/song-request/api/requests/${r.data.id}`);
    assert.equal(status.data.status, "expired");
    assert.equal(status.data.checkout_url, undefined);
    const late = await signedPost(f.stripe.completedEvent({ ...session, payment_status: "paid" }));
    assert.equal(late.data.outcome, "already_settled");
    await settle(1500);
    assert.equal(discordFor(r.data.id).length, 0);
  });

  test("paid by a delayed method that then fails ends expired, once", async () => {
    const r = await f.submit("song-request", { song: "Bank debit" }, { addOns: ["priority"] });
    const session = [...f.stripe.sessions.values()].find((s) => s.client_reference_id === r.data.id);
    const started = await signedPost(f.stripe.completedEvent({ ...session, status: "complete", payment_status: "unpaid" }));
    assert.equal(started.data.outcome, "not_paid");
    let status = await f.request("GET", `/apps/song-request/api/requests/${r.data.id}`);
    assert.equal(status.data.status, "awaiting_payment");
    const failed = { ...f.stripe.completedEvent({ ...session, status: "complete", payment_status: "unpaid" }), type: "checkout.session.async_payment_failed" };
    assert.equal((await signedPost(failed)).data.outcome, "applied");
    assert.equal((await signedPost(failed)).data.outcome, "duplicate");
    status = await f.request("GET", `/apps/song-request/api/requests/${r.data.id}`);
    assert.equal(status.data.status, "expired");
    assert.equal(status.data.history.at(-1).status, "expired");
  });
});

describe("concurrency", () => {
  test("the same payment event arriving five times at once is applied exactly once", async () => {
    const r = await f.submit("song-request", { song: "Race condition" }, { addOns: ["priority"] });
    const session = [...f.stripe.sessions.values()].find((s) => s.client_reference_id === r.data.id);
    const event = f.stripe.completedEvent({ ...session, status: "complete", payment_status: "paid", payment_intent: "pi_race" });
    const answers = await Promise.all(Array.from({ length: 5 }, () => signedPost(event)));
    assert.deepEqual(answers.map((a) => a.status), [200, 200, 200, 200, 200]);
    assert.deepEqual(answers.map((a) => a.data.outcome).sort(), ["applied", "duplicate", "duplicate", "duplicate", "duplicate"]);
    await eventually(() => discordFor(r.data.id).length === 1, { what: "Discord message" });
    await settle();
    assert.equal(discordFor(r.data.id).length, 1);
    const status = await f.request("GET", `/apps/song-request/api/requests/${r.data.id}`);
    assert.deepEqual(status.data.history.map((e) => e.status), ["created", "validated", "awaiting_payment", "paid", "queued"]);
  });

  test("five simultaneous submissions with one Idempotency-Key create one request", async () => {
    const headers = { "idempotency-key": `burst-${Date.now()}` };
    const ip = f.freshIp();
    const answers = await Promise.all(Array.from({ length: 5 }, () => f.submit("song-request", { song: "Burst" }, { addOns: ["priority"], headers, ip })));
    assert.deepEqual(answers.map((a) => a.status), [201, 201, 201, 201, 201]);
    assert.equal(new Set(answers.map((a) => a.data.id)).size, 1);
    const queue = await f.request("GET", "/api/apps/song-request/requests", { key: f.owner.apiKey });
    assert.equal(queue.data.requests.filter((x) => x.fields.song === "Burst").length, 1);
  });
});

describe("payment webhook security", () => {
  test("a bad, an expired, a future and a missing signature are refused", async () => {
    const event = f.stripe.completedEvent({ id: "cs_test_x", client_reference_id: "req_00000000000000000000000000000000", payment_status: "paid" });
    const bad = await signedPost(event, { secret: "whsec_not_the_secret" });
    assert.equal(bad.status, 400);
    assert.equal(bad.data.error.code, "invalid_signature");
    const now = Math.floor(Date.now() / 1000);
    const expired = await signedPost(event, { timestamp: now - 301 });
    assert.equal(expired.status, 400);
    assert.match(expired.data.error.message, /tolerance/);
    const future = await signedPost(event, { timestamp: now + 400 });
    assert.equal(future.status, 400);
    const none = await f.request("POST", "/webhooks/payment", { json: event });
    assert.equal(none.status, 400);
    assert.match(none.data.error.message, /missing/);
    const v0 = await signedPost(event, { header: `t=${now},v0=${"0".repeat(64)}` });
    assert.equal(v0.status, 400);
  });

  test("a correctly signed event that does not match the request's session or amount changes nothing", async () => {
    const r = await f.submit("song-request", { song: "Paid song" }, { addOns: ["priority"] });
    assert.equal(r.data.status, "awaiting_payment");
    const session = [...f.stripe.sessions.values()].find((s) => s.client_reference_id === r.data.id);
    const cheap = await signedPost(f.stripe.completedEvent({ ...session, payment_status: "paid", amount_total: 1 }));
    assert.equal(cheap.data.outcome, "mismatch");
    const otherSession = await signedPost(f.stripe.completedEvent({ ...session, id: "cs_test_forged", payment_status: "paid" }));
    assert.equal(otherSession.data.outcome, "mismatch");
    const unpaid = await signedPost(f.stripe.completedEvent({ ...session, payment_status: "unpaid" }));
    assert.equal(unpaid.data.outcome, "not_paid");
    const status = await f.request("GET", `/apps/song-request/api/requests/${r.data.id}`);
    assert.equal(status.data.status, "awaiting_payment");
    // Not recorded yet (or not ours): non-2xx, so Stripe delivers it again later.
    const unknown = await signedPost(f.stripe.completedEvent({ ...session, client_reference_id: "req_ffffffffffffffffffffffffffffffff" }));
    assert.equal(unknown.status, 503, unknown.text);
  });
});

describe("attachments", () => {
  test("an oversize file and a file whose bytes are not an allowed image get field errors", async () => {
    const big = Buffer.concat([PNG, Buffer.alloc(2 * 1024 * 1024)]);
    const tooBig = await submitPixel({ file: big });
    assert.equal(tooBig.status, 422);
    assert.deepEqual(tooBig.data.error.fields.map((e) => [e.field, e.code]), [["reference", "file_too_large"]]);
    const exe = await submitPixel({ file: Buffer.from("MZ\x90\x00 this is not a picture"), type: "image/png", name: "icon.png" });
    assert.equal(exe.status, 422);
    assert.deepEqual(exe.data.error.fields.map((e) => [e.field, e.code]), [["reference", "file_type_not_allowed"]]);
    const missing = await submitPixel({ file: null });
    assert.deepEqual(missing.data.error.fields.map((e) => [e.field, e.code]), [["reference", "required"]]);
    const huge = await f.request("POST", "/apps/pixel-icon/api/requests", { body: Buffer.alloc(5 * 1024 * 1024), headers: { "content-type": "multipart/form-data; boundary=x" } });
    assert.equal(huge.status, 413);
  });

  test("a payment provider that is down gives 502 and stores nothing", async () => {
    const queue = () => f.request("GET", "/api/apps/pixel-icon/requests", { key: f.owner.apiKey });
    const before = (await queue()).data.requests.length;
    const saved = f.stripe.url;
    await f.stripe.close();
    try {
      const r = await submitPixel();
      assert.equal(r.status, 502);
      assert.equal(r.data.error.code, "upstream_unavailable");
    } finally {
      f.stripe.server.listen(new URL(saved).port, "127.0.0.1");
    }
    assert.equal((await queue()).data.requests.length, before);
  });
});

describe("the local Stripe stand-in", () => {
  test("speaks the wire format the official stripe client expects", async () => {
    const client = new Stripe(f.stripe.secretKey, { host: "127.0.0.1", port: new URL(f.stripe.url).port, protocol: "http" });
    const session = await client.checkout.sessions.create({
      mode: "payment",
      success_url: "https://example.com/ok",
      line_items: [{ quantity: 1, price_data: { currency: "usd", unit_amount: 700, product_data: { name: "Shoutout" } } }],
      client_reference_id: "req_client_check",
    });
    assert.equal(session.object, "checkout.session");
    assert.equal(session.amount_total, 700);
    const fetched = await client.checkout.sessions.retrieve(session.id);
    assert.equal(fetched.client_reference_id, "req_client_check");
    await assert.rejects(new Stripe("sk_live_wrong", { host: "127.0.0.1", port: new URL(f.stripe.url).port, protocol: "http" }).checkout.sessions.retrieve(session.id), /Invalid API Key/);
  });
});
