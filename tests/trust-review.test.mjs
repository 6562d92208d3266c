// The human review queue (issue 4, item 2): requests moderation is unsure about wait for the
// creator. Paid ones are paid (or held) first and reviewed after, so paid never means
// published; approving continues the pipeline (capturing a held card), rejecting releases the
// hold, refunds the charge or returns the credits. Every decision records who, when and why.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Webhook } from "standardwebhooks";
import { eventually, startFixture } from "./support/fixture.mjs";

let f;
before(async () => (f = await startFixture()));
after(async () => f?.stop());

const view = async (app, id) => (await f.request("GET", `/apps/${app}/api/requests/${id}`, { key: f.owner.apiKey })).data;
const decide = (app, id, what, reason, key = f.owner.apiKey) => f.request("POST", `/apps/${app}/api/requests/${id}/${what}`, { key, json: reason ? { reason } : {} });

describe("the review queue", () => {
  test("a free request held for review is listed with its reasons and approved into the queue", async () => {
    const r = await f.submit("song-request", { song: "Explicit version please" });
    assert.equal(r.data.status, "held_for_review");
    const listed = await f.request("GET", "/api/apps/song-request/requests?status=held_for_review", { key: f.owner.apiKey });
    const item = listed.data.requests.find((x) => x.id === r.data.id);
    assert.deepEqual(item.moderation.reasons.map((x) => [x.rule, x.detail]), [["review_term", "explicit"]]);

    assert.equal((await decide("song-request", r.data.id, "approve", null, f.other.apiKey)).status, 404, "another creator cannot decide");
    const approved = await decide("song-request", r.data.id, "approve", "radio edit exists");
    assert.equal(approved.status, 200, approved.text);
    assert.equal(approved.data.status, "queued");
    const last = approved.data.history.at(-1);
    assert.deepEqual([last.status, last.actor, last.reason], ["queued", "creator:cr_owner", "radio edit exists"]);
    assert.ok(Date.parse(last.at) > Date.now() - 60_000);
    await eventually(() => f.discord.messages.some((m) => JSON.stringify(m.json).includes(r.data.id) && JSON.stringify(m.json).includes("queued")), { what: "queued notice" });
    const again = await decide("song-request", r.data.id, "approve");
    assert.deepEqual([again.status, again.data.error.code], [409, "not_held_for_review"]);
  });

  test("a paid request needing review is paid first, held, and refunded in full when rejected", async () => {
    const r = await f.submit("song-request", { song: "NSFW remix" }, { addOns: ["priority"] });
    assert.equal(r.data.status, "awaiting_payment", "payment is taken before review");
    await f.stripe.pay(r.data.checkout_session_id);
    const held = await view("song-request", r.data.id);
    assert.deepEqual(held.history.map((e) => e.status).slice(-2), ["paid", "held_for_review"], "paid does not mean queued");
    const rejected = await decide("song-request", r.data.id, "reject", "not on my stream");
    assert.equal(rejected.status, 200, rejected.text);
    assert.equal(rejected.data.status, "refunded");
    const refund = f.stripe.calls.find((c) => c.path === "/v1/refunds" && c.form.payment_intent === held.payment_intent_id);
    assert.equal(refund.form.amount, "300");
    assert.deepEqual([rejected.data.history.at(-1).actor, rejected.data.history.at(-1).reason], ["creator:cr_owner", "not on my stream"]);
  });

  test("a held card is captured on approval and released on rejection", async () => {
    const submit = (message) => f.submit("shoutout", { to_name: "Sam", occasion: "pep talk", message, email: "fan@example.com" });
    const yes = (await submit("Say something about the campaign")).data;
    const no = (await submit("A political speech please")).data;
    for (const r of [yes, no]) {
      assert.equal(r.status, "awaiting_payment");
      await f.stripe.pay(r.checkout_session_id);
      assert.deepEqual((await view("shoutout", r.id)).history.map((e) => e.status).slice(-2), ["authorized", "held_for_review"]);
    }
    const approved = await decide("shoutout", yes.id, "approve");
    assert.equal(approved.data.status, "queued");
    const yesIntent = f.stripe.intents.get(approved.data.payment_intent_id);
    assert.deepEqual([yesIntent.status, yesIntent.amount_received], ["succeeded", 1500]);
    const rejected = await decide("shoutout", no.id, "reject", "no politics");
    assert.equal(rejected.data.status, "rejected");
    assert.equal(f.stripe.intents.get(rejected.data.payment_intent_id).status, "canceled");
  });

  test("credits spent on a rejected request come back", async () => {
    const bought = (await f.request("POST", "/apps/song-request/api/credits/checkout", { json: { pack: "five_priority" } })).data;
    await f.stripe.pay(bought.checkout_session_id);
    const headers = { "fan-token": bought.fan_token };
    const r = await f.request("POST", "/apps/song-request/api/requests", { json: { fields: { song: "Explicit" }, add_ons: ["priority"], pay_with: "credits" }, headers });
    assert.equal(r.data.status, "held_for_review");
    assert.equal((await f.request("GET", "/apps/song-request/api/me", { headers })).data.credits.balance, 4);
    assert.equal((await decide("song-request", r.data.id, "reject")).data.status, "rejected");
    assert.equal((await f.request("GET", "/apps/song-request/api/me", { headers })).data.credits.balance, 5);
  });

  test("an outside moderation service's signed verdict is applied once per message", async () => {
    const held = (await f.submit("song-request", { song: "Explicit cut" })).data;
    const signer = new Webhook(f.stack.moderationSecret);
    const send = async (msgId, data, { sign = true } = {}) => {
      const body = JSON.stringify({ type: "moderation.verdict", data });
      const at = new Date();
      const headers = { "webhook-id": msgId, "webhook-timestamp": String(Math.floor(at / 1000)), "webhook-signature": sign ? signer.sign(msgId, at, body) : "v1,AAAA" };
      return f.request("POST", "/webhooks/moderation", { body, headers: { ...headers, "content-type": "application/json" } });
    };
    const forged = await send("msg_forged", { request_id: held.id, decision: "allow" }, { sign: false });
    assert.deepEqual([forged.status, forged.data.error.code], [400, "invalid_signature"]);
    const unsure = await send("msg_1", { request_id: held.id, decision: "review", reasons: ["ambiguous"] });
    assert.equal(unsure.data.outcome, "recorded");
    const allowed = await send("msg_2", { request_id: held.id, decision: "allow", reasons: ["lyrics are clean"] });
    assert.equal(allowed.data.outcome, "applied");
    assert.equal((await send("msg_2", { request_id: held.id, decision: "allow" })).data.outcome, "duplicate");
    const after = await view("song-request", held.id);
    assert.equal(after.status, "queued");
    assert.deepEqual([after.history.at(-1).actor, after.history.at(-1).reason], ["moderation-service", "moderation service: allow: lyrics are clean"]);
    assert.equal((await send("msg_3", { request_id: held.id, decision: "block" })).data.outcome, "recorded", "only held requests are decided");
    assert.equal((await send("msg_4", { request_id: held.id, decision: "maybe" })).status, 400);

    // Deliveries of one webhook-id racing past the dedupe: the decision commits with the
    // event's row, so one of them acts and the rest answer as already done.
    const raced = (await f.submit("song-request", { song: "Explicit cut, raced" })).data;
    const msgId = `msg_race_${Date.now()}`;
    const answers = await Promise.all(Array.from({ length: 6 }, () => send(msgId, { request_id: raced.id, decision: "block", reasons: ["raced"] })));
    const outcomes = answers.map((a) => a.data.outcome);
    assert.equal(outcomes.filter((o) => o === "applied").length, 1, outcomes.join(", "));
    assert.ok(outcomes.every((o) => ["applied", "duplicate", "already_settled"].includes(o)), outcomes.join(", "));
    const decided = await view("song-request", raced.id);
    assert.equal(decided.status, "rejected");
    assert.equal(decided.history.filter((e) => e.actor === "moderation-service").length, 1);
    assert.deepEqual(f.stack.d1Rows(`SELECT outcome FROM payment_events WHERE event_id = '${msgId}'`), [{ outcome: "applied" }]);
  });
});
