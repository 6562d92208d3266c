// The fan's path on a free app: validation, moderation, idempotency, rate limits, routing.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Webhook } from "standardwebhooks";
import { eventually, settle, startFixture, freshLimiterWindow } from "./support/fixture.mjs";

let f;
before(async () => (f = await startFixture()));
after(async () => f?.stop());

const discordFor = (id) => f.discord.messages.filter((m) => m.json.embeds[0].description.includes(id));
const webhooksFor = (id) => f.webhooks.received.filter((m) => m.json?.data?.id === id);

describe("a free song request", () => {
  test("is queued, routed once to Discord and once to the signed webhook, and shows its history", async () => {
    const r = await f.submit("song-request", { song: "Africa", artist: "[Toto](x)", email: "fan@example.com" });
    assert.equal(r.status, 201, r.text);
    assert.match(r.data.id, /^req_[0-9a-f]{32}$/);
    assert.equal(r.data.status, "queued");
    assert.deepEqual(r.data.price, { amount: 0, currency: "usd", lines: [], refunded: 0 });
    assert.equal(r.data.checkout_url, undefined);

    const [message] = await eventually(() => discordFor(r.data.id).length && discordFor(r.data.id), { what: "Discord message" });
    assert.equal(message.query.wait, "true");
    const embed = message.json.embeds[0];
    assert.equal(embed.title, "Request a song at my next stream");
    assert.deepEqual(message.json.allowed_mentions, { parse: [] });
    assert.ok(embed.fields.some((x) => x.name === "Song" && x.value === "Africa"));
    assert.ok(embed.fields.some((x) => x.name === "Price" && x.value === "Free"));
    // Fan markdown is shown as typed: no masked link.
    assert.ok(embed.fields.some((x) => x.name === "Artist" && x.value === "\\[Toto\\]\\(x\\)"), JSON.stringify(embed.fields));
    assert.ok(!JSON.stringify(message.json).includes("fan@example.com"), "the fan's email stays out of Discord");

    const [hook] = await eventually(() => webhooksFor(r.data.id).length && webhooksFor(r.data.id), { what: "signed webhook" });
    const verified = new Webhook(f.stack.webhookSecrets["song-request"]).verify(hook.raw, {
      "webhook-id": hook.headers["webhook-id"],
      "webhook-timestamp": hook.headers["webhook-timestamp"],
      "webhook-signature": hook.headers["webhook-signature"],
    });
    assert.equal(verified.type, "request.queued");
    assert.equal(verified.data.fields.song, "Africa");
    assert.equal(verified.data.fields.artist, "[Toto](x)", "only Discord escapes");
    assert.match(hook.headers["webhook-id"], /^msg_/);
    assert.throws(() => new Webhook("whsec_" + Buffer.from("wrong-secret-wrong-secret").toString("base64")).verify(hook.raw, hook.headers));

    const status = await f.request("GET", `/apps/song-request/api/requests/${r.data.id}`);
    assert.equal(status.status, 200);
    assert.equal(status.data.status, "queued");
    assert.deepEqual(status.data.history.map((e) => e.status), ["created", "validated", "queued"]);
    assert.equal(status.data.fields, undefined, "the public view does not show the submission");

    await settle();
    assert.equal(discordFor(r.data.id).length, 1);
    assert.equal(webhooksFor(r.data.id).length, 1);
  });

  test("with an Idempotency-Key, a retried submission returns the first request", async () => {
    const headers = { "idempotency-key": `retry-${Date.now()}` };
    // A retry comes from the same client (the key is bound to it and to the body).
    const ip = f.freshIp();
    const first = await f.submit("song-request", { song: "Toxic" }, { headers, ip });
    const second = await f.submit("song-request", { song: "Toxic" }, { headers, ip });
    assert.equal(first.status, 201);
    assert.equal(second.status, 201);
    assert.equal(second.data.id, first.data.id);
    assert.equal(second.headers.get("idempotent-replayed"), "true");
    await eventually(() => discordFor(first.data.id).length === 1, { what: "one Discord message" });
    await settle();
    assert.equal(discordFor(first.data.id).length, 1);

    const bad = await f.submit("song-request", { song: "Toxic" }, { headers: { "idempotency-key": "has space" } });
    assert.equal(bad.status, 400);
    assert.equal(bad.data.error.code, "invalid_idempotency_key");
  });
});

describe("delivery", () => {
  test("a failed webhook delivery is retried on its own, with the same webhook-id, and Discord is not re-sent", async () => {
    let failures = 0;
    f.webhooks.handler.respond = (entry) => (entry.json?.data?.fields?.song === "Retry me" && failures++ === 0 ? { status: 500, body: { error: "down" } } : undefined);
    try {
      const r = await f.submit("song-request", { song: "Retry me" });
      const attempts = await eventually(() => webhooksFor(r.data.id).length === 2 && webhooksFor(r.data.id), { ms: 30000, what: "retried delivery" });
      assert.equal(attempts[0].headers["webhook-id"], attempts[1].headers["webhook-id"]);
      assert.ok(attempts[1].at - attempts[0].at >= 900, "the retry waits for its backoff");
      await settle();
      assert.equal(webhooksFor(r.data.id).length, 2);
      assert.equal(discordFor(r.data.id).length, 1);
      const deliveries = await f.request("GET", "/api/apps/song-request/deliveries?state=delivered", { key: f.owner.apiKey });
      const row = deliveries.data.deliveries.find((d) => d.id === attempts[0].headers["webhook-id"]);
      assert.deepEqual([row.destination, row.event, row.attempts], ["webhook", "request.queued", 2]);
    } finally {
      f.webhooks.handler.respond = undefined;
    }
  });

  test("a job that always fails is retried the configured number of times, then dead-lettered and shown as dead", async () => {
    f.webhooks.handler.respond = (entry) => (entry.json?.data?.fields?.song === "Poison" ? { status: 500 } : undefined);
    try {
      const r = await f.submit("song-request", { song: "Poison" });
      const path = "/api/apps/song-request/deliveries?state=dead";
      const dead = await eventually(
        async () => (await f.request("GET", path, { key: f.owner.apiKey })).data.deliveries.find((d) => d.request_id === r.data.id),
        { ms: 90000, what: "dead-lettered delivery" },
      );
      // max_retries = 7 in wrangler.toml: the first attempt and seven retries.
      assert.equal(dead.attempts, 8);
      assert.equal(dead.last_error, "HTTP 500");
      assert.equal(webhooksFor(r.data.id).length, 8);
      assert.equal(new Set(webhooksFor(r.data.id).map((m) => m.headers["webhook-id"])).size, 1);
      await settle();
      assert.equal(webhooksFor(r.data.id).length, 8, "nothing is sent after the job is dead");
      assert.equal(discordFor(r.data.id).length, 1, "the Discord job was delivered on its own");
      const unauthorised = await f.request("GET", path, { key: f.other.apiKey });
      assert.equal(unauthorised.status, 404);
    } finally {
      f.webhooks.handler.respond = undefined;
    }
  });
});

describe("bad input", () => {
  test("invalid fields get one error per field and nothing is stored", async () => {
    const before = await f.request("GET", "/api/apps/song-request/requests", { key: f.owner.apiKey });
    const r = await f.submit("song-request", { artist: "x".repeat(121), email: "nope", favourite_colour: "red" }, { addOns: ["free_money"] });
    assert.equal(r.status, 422);
    assert.equal(r.data.error.code, "validation_failed");
    const byField = Object.fromEntries(r.data.error.fields.map((e) => [e.field, e.code]));
    assert.deepEqual(byField, { favourite_colour: "unknown_field", song: "required", artist: "too_long", email: "invalid_email", add_ons: "unknown_add_on" });
    const afterwards = await f.request("GET", "/api/apps/song-request/requests", { key: f.owner.apiKey });
    assert.equal(afterwards.data.requests.length, before.data.requests.length);
  });

  test("an address a payment service would refuse is a field error, before any checkout", async () => {
    for (const email of ["a,b@example.com", '"quoted"@example.com', "fan@example.c", "jürgen@example.com"]) {
      const r = await f.submit("song-request", { song: "Hello", email }, { addOns: ["priority"] });
      assert.equal(r.status, 422, email);
      assert.deepEqual(r.data.error.fields.map((e) => [e.field, e.code]), [["email", "invalid_email"]], email);
    }
    assert.equal(f.stripe.calls.filter((c) => ["a,b@example.com", "fan@example.c"].includes(c.form?.customer_email)).length, 0);
  });

  test("malformed bodies get a clear JSON error", async () => {
    const notJson = await f.request("POST", "/apps/song-request/api/requests", { body: "{oops", headers: { "content-type": "application/json" } });
    assert.equal(notJson.status, 400);
    assert.equal(notJson.data.error.code, "invalid_json");
    const stray = await f.request("POST", "/apps/song-request/api/requests", { json: { song: "Africa" } });
    assert.equal(stray.status, 400);
    assert.match(stray.data.error.message, /fields/);
    const text = await f.request("POST", "/apps/song-request/api/requests", { body: "song=Africa", headers: { "content-type": "text/plain" } });
    assert.equal(text.status, 415);
    assert.equal(text.data.error.code, "unsupported_media_type");
    const wrongType = await f.submit("song-request", { song: ["a", "list"] });
    assert.equal(wrongType.status, 422);
    assert.equal(wrongType.data.error.fields[0].code, "invalid_type");
  });

  test("a plain form post and JSON sent as a form (curl -d) are both read", async () => {
    const form = await f.request("POST", "/apps/song-request/api/requests", { body: "song=Hey+Jude&artist=The+Beatles&add_ons=", headers: { "content-type": "application/x-www-form-urlencoded" } });
    assert.equal(form.status, 201, form.text);
    const creator = await f.request("GET", `/apps/song-request/api/requests/${form.data.id}`, { key: f.owner.apiKey });
    assert.deepEqual(creator.data.fields, { song: "Hey Jude", artist: "The Beatles" });
    const curlish = await f.request("POST", "/apps/song-request/api/requests", { body: '{"fields": {"song": "Yesterday"}}', headers: { "content-type": "application/x-www-form-urlencoded" } });
    assert.equal(curlish.status, 201, curlish.text);
    const fileAsText = await f.request("POST", "/apps/pixel-icon/api/requests", { body: "subject=fox&style=static&palette=retro&email=a%40b.co&reference=fox.png", headers: { "content-type": "application/x-www-form-urlencoded" } });
    assert.equal(fileAsText.status, 422);
    assert.deepEqual(fileAsText.data.error.fields.map((e) => [e.field, e.code]), [["reference", "file_expected"], ["reference", "required"]]);
  });

  test("unknown routes and methods answer in JSON", async () => {
    const missing = await f.request("GET", "/apps/song-request/nowhere");
    assert.equal(missing.status, 404);
    assert.equal(missing.data.error.code, "not_found");
    const noApp = await f.request("GET", "/apps/no-such-app/");
    assert.equal(noApp.status, 404);
    const method = await f.request("DELETE", "/apps/song-request/api/requests");
    assert.equal(method.status, 405);
    assert.equal(method.data.error.code, "method_not_allowed");
    const notAnId = await f.request("GET", "/apps/song-request/api/requests/../../etc");
    assert.equal(notAnId.status, 404);
  });

  test("an app's Worker has only the parts its manifest uses; the others' routes answer 404 and say so", async () => {
    // pixel-icon uses no sign-in, PayPal, credits or auction: none is compiled into its Worker.
    const absent = [
      ["GET", "/apps/pixel-icon/auth/twitch/start", "this app has no sign-in"],
      ["POST", "/apps/pixel-icon/api/session", "this app has no sign-in"],
      ["GET", "/apps/pixel-icon/paypal/return?request=req_0", "this app takes no PayPal"],
      ["POST", "/apps/pixel-icon/api/credits/checkout", "this app sells no credit packs or tiers"],
      ["GET", "/apps/pixel-icon/api/me", "this app sells no credit packs or tiers"],
      ["GET", "/apps/pixel-icon/api/auctions", "this app holds no auctions"],
      ["GET", "/apps/song-request/api/auctions", "this app holds no auctions"],
      ["GET", "/apps/stream-slot/auth/twitch/start", "this app has no sign-in"],
    ];
    for (const [method, url, why] of absent) {
      const r = await f.request(method, url, method === "POST" ? { json: {} } : {});
      assert.equal(r.status, 404, `${method} ${url}: ${r.text}`);
      assert.deepEqual(r.data.error, { code: "not_found", message: `No such route: ${why}.` }, url);
    }
    // Each app that uses a part has it: the routes answer for themselves.
    assert.equal((await f.request("GET", "/apps/stream-slot/api/auctions")).status, 200);
    const signIn = await f.request("GET", "/apps/shoutout/auth/twitch/start");
    assert.equal(signIn.status, 302, signIn.text);
    const pack = await f.request("POST", "/apps/song-request/api/credits/checkout", { json: { pack: "no_such_pack" } });
    assert.equal(pack.status, 400, pack.text);
    assert.equal(pack.data.error.code, "unknown_pack");
  });
});

describe("moderation", () => {
  test("a review term holds the request for the creator and says why only to the creator", async () => {
    const r = await f.submit("song-request", { song: "Something NSFW please" });
    assert.equal(r.status, 201);
    assert.equal(r.data.status, "held_for_review");
    const held = await eventually(() => discordFor(r.data.id).length && discordFor(r.data.id), { what: "held notice" });
    assert.match(held[0].json.embeds[0].description, /held_for_review/);
    const fan = await f.request("GET", `/apps/song-request/api/requests/${r.data.id}`);
    assert.equal(fan.data.moderation, undefined);
    const creator = await f.request("GET", `/apps/song-request/api/requests/${r.data.id}`, { key: f.owner.apiKey });
    assert.equal(creator.data.moderation.decision, "review");
    assert.deepEqual(creator.data.moderation.reasons.map((x) => [x.rule, x.detail]), [["review_term", "nsfw"]]);
    await settle();
    assert.equal(webhooksFor(r.data.id).length, 0, "held requests are not routed to the queue webhook");
  });

  test("a blocked term is refused without naming the rule, and is kept for the record", async () => {
    const r = await f.submit("song-request", { song: "Africa", message: "get FREE followers at my site" });
    assert.equal(r.status, 422);
    assert.equal(r.data.error.code, "request_rejected");
    assert.doesNotMatch(JSON.stringify(r.data), /free followers|blocked_term/i);
    const creator = await f.request("GET", `/apps/song-request/api/requests/${r.data.error.request_id}`, { key: f.owner.apiKey });
    assert.equal(creator.data.status, "rejected");
    assert.equal(creator.data.moderation.reasons[0].rule, "blocked_term");
    await settle(1500);
    assert.equal(discordFor(r.data.error.request_id).length, 0);
  });
});

describe("edge rate limit", () => {
  test("the eleventh submission in a minute from one address gets 429 with Retry-After and RateLimit headers", async () => {
    await freshLimiterWindow();
    const ip = f.freshIp();
    const answers = [];
    for (let i = 0; i < 10; i++) answers.push(await f.submit("song-request", {}, { ip }));
    assert.deepEqual(answers.map((a) => a.status), Array(10).fill(422));
    // Every answer of a limited endpoint announces the limits in force (IETF draft syntax).
    for (const a of answers) assert.equal(a.headers.get("ratelimit-policy"), '"per-client";q=10;w=60, "per-fan";q=30;w=60');
    const limited = await f.submit("song-request", { song: "One more" }, { ip });
    assert.equal(limited.status, 429);
    // Until the limiter's 60-second window ends, which freshLimiterWindow left at least 25 s off.
    const retryAfter = Number(limited.headers.get("retry-after"));
    assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
    assert.equal(limited.headers.get("ratelimit"), `"per-client";r=0;t=${retryAfter}`);
    assert.equal(limited.headers.get("ratelimit-policy"), '"per-client";q=10;w=60');
    assert.equal(limited.data.error.code, "rate_limited");
    const otherFan = await f.submit("song-request", { song: "Different fan" });
    assert.equal(otherFan.status, 201, "another address is unaffected");
    assert.equal(otherFan.headers.get("ratelimit-policy"), '"per-client";q=10;w=60, "per-fan";q=30;w=60');
    const unlimited = await f.request("GET", "/apps/song-request/api/status", { ip });
    assert.equal(unlimited.status, 200);
    assert.equal(unlimited.headers.get("ratelimit-policy"), null, "endpoints without a limiter announce none");
  });

  test("the hub's limited endpoints announce their limits too: PayPal webhooks and console sign-in", async () => {
    const hook = await f.request("POST", "/webhooks/paypal", { json: { id: "WH-unsigned" } });
    assert.equal(hook.status, 400, hook.text);
    assert.equal(hook.headers.get("ratelimit-policy"), '"per-sender";q=300;w=60');
    const signIn = await f.request("POST", "/console/api/signin/key", { json: { key: "fl_live_wrong" }, headers: { origin: f.url } });
    assert.equal(signIn.data.error.code, "invalid_key", signIn.text);
    assert.equal(signIn.headers.get("ratelimit-policy"), '"per-client-sign-in";q=20;w=60');
  });
});

// Last in the file: it runs the cron a day ahead, which also raises reminders for waiting requests.
describe("housekeeping", () => {
  test("an Idempotency-Key is remembered for a day, then the cron forgets it", async () => {
    const headers = { "idempotency-key": `day-${Date.now()}` };
    const ip = f.freshIp();
    const cron = (at) => fetch(`${f.url}/cdn-cgi/local/scheduled?cron=${encodeURIComponent("*/10 * * * *")}&time=${at}`).then((r) => assert.equal(r.status, 200));
    const first = await f.submit("song-request", { song: "Yesterday" }, { headers, ip });
    assert.equal(first.status, 201);
    await cron(Date.now() + 23 * 3600_000);
    const sameDay = await f.submit("song-request", { song: "Yesterday" }, { headers, ip });
    assert.deepEqual([sameDay.data.id, sameDay.headers.get("idempotent-replayed")], [first.data.id, "true"]);
    await cron(Date.now() + 25 * 3600_000);
    const nextDay = await f.submit("song-request", { song: "Yesterday" }, { headers, ip });
    assert.equal(nextDay.status, 201);
    assert.notEqual(nextDay.data.id, first.data.id);
    assert.equal(nextDay.headers.get("idempotent-replayed"), null);
  });
});
