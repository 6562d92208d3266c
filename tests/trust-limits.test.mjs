// Quotas, capacity, the block list (issue 4, item 6) and Cloudflare Turnstile (item 5),
// through the real stack: D1 quotas hold under concurrent submissions (no over-admission), the
// form closes by itself when the queue is full and reopens as requests are done, and Turnstile
// fails closed when siteverify does not answer.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startFixture } from "./support/fixture.mjs";

let f;
before(async () => (f = await startFixture()));
after(async () => f?.stop());

const setLimits = (json) => f.request("PUT", "/api/apps/song-request/limits", { key: f.owner.apiKey, json });
const song = (email, extra = {}) => f.submit("song-request", { song: "Africa", email }, extra);
const complete = (id) => f.request("POST", `/apps/song-request/api/requests/${id}/complete`, { key: f.owner.apiKey });
const statusOf = async () => (await f.request("GET", "/apps/song-request/api/status")).data;

describe("quotas and capacity", () => {
  test("open requests per fan hold under concurrent submissions and free up when one is done", async () => {
    const set = await setLimits({ max_open_per_fan: 3 });
    assert.equal(set.status, 200, set.text);
    assert.deepEqual([set.data.source, set.data.limits.max_open_per_fan], ["creator", 3]);
    assert.equal((await f.request("PUT", "/api/apps/song-request/limits", { key: f.other.apiKey, json: {} })).status, 404);
    assert.equal((await setLimits({ capacity: -1 })).data.error.code, "invalid_limits");

    const results = await Promise.all(Array.from({ length: 8 }, () => song("busy@example.com")));
    const admitted = results.filter((r) => r.status === 201);
    assert.equal(admitted.length, 3, results.map((r) => r.status).join(","));
    const refused = results.filter((r) => r.status !== 201);
    assert.ok(refused.every((r) => r.status === 429 && r.data.error.code === "quota_exceeded" && !r.headers.get("retry-after")));
    assert.equal((await song("BUSY@example.com")).status, 429, "emails count case-insensitively");
    assert.equal((await song("someone-else@example.com")).status, 201);

    assert.equal((await complete(admitted[0].data.id)).status, 200);
    assert.equal((await song("busy@example.com")).status, 201, "a fulfilled request frees a place");
  });

  test("requests per fan per day hold under concurrent submissions", async () => {
    await setLimits({ max_per_fan_per_day: 2 });
    const results = await Promise.all(Array.from({ length: 6 }, () => song("daily@example.com")));
    assert.deepEqual(results.map((r) => r.status).sort(), [201, 201, 429, 429, 429, 429]);
    const later = await song("daily@example.com");
    assert.deepEqual([later.status, later.data.error.code], [429, "quota_exceeded"]);
    assert.match(later.data.error.message, /today/);
  });

  test("a full queue closes the form by itself and reopens it as requests are fulfilled", async () => {
    const now = (await f.request("GET", "/api/apps/song-request/limits", { key: f.owner.apiKey })).data.in_queue;
    await setLimits({ capacity: now + 2 });
    assert.equal((await statusOf()).open, true);
    const results = await Promise.all(Array.from({ length: 5 }, (_, i) => song(`cap${i}@example.com`)));
    const admitted = results.filter((r) => r.status === 201);
    assert.equal(admitted.length, 2, results.map((r) => r.status).join(","));
    assert.ok(results.filter((r) => r.status !== 201).every((r) => r.status === 409 && r.data.error.code === "queue_full"));
    assert.deepEqual(await statusOf(), { app: "song-request", open: false, capacity: now + 2, in_queue: now + 2, state: "live", message: null, successor: null });
    await complete(admitted[1].data.id);
    assert.equal((await statusOf()).open, true);
    assert.equal((await song("cap-late@example.com")).status, 201);

    const reset = await f.request("DELETE", "/api/apps/song-request/limits", { key: f.owner.apiKey });
    assert.equal(reset.data.source, "manifest");
    assert.equal((await song("cap-after@example.com")).status, 201);
  });
});

describe("the block list", () => {
  test("blocked emails and addresses are refused without saying why, until unblocked", async () => {
    const add = (json) => f.request("POST", "/api/blocklist", { key: f.owner.apiKey, json });
    assert.equal((await add({ kind: "email", value: "Troll@Example.com", reason: "harassment" })).status, 201);
    assert.equal((await add({ kind: "ip", value: "203.0.113.66" })).status, 201);
    assert.equal((await add({ kind: "phone", value: "1" })).data.error.code, "invalid_kind");
    const byEmail = await song("troll@example.com");
    assert.deepEqual([byEmail.status, byEmail.data.error.code], [422, "request_rejected"]);
    assert.doesNotMatch(byEmail.text, /block/i);
    const record = await f.request("GET", `/apps/song-request/api/requests/${byEmail.data.error.request_id}`, { key: f.owner.apiKey });
    assert.deepEqual(record.data.moderation.reasons.map((r) => [r.rule, r.detail]), [["blocklist", "email"]]);
    assert.equal((await song("fine@example.com", { ip: "203.0.113.66" })).status, 422);
    assert.equal((await f.request("GET", "/api/blocklist", { key: f.owner.apiKey })).data.blocklist.length, 2);
    assert.equal((await f.request("GET", "/api/blocklist", { key: f.other.apiKey })).data.blocklist.length, 0, "each creator has their own list");
    assert.equal((await f.request("DELETE", "/api/blocklist/email/troll@example.com", { key: f.owner.apiKey })).status, 204);
    assert.equal((await song("troll@example.com")).status, 201);
  });
});

describe("Cloudflare Turnstile", () => {
  test("passes, fails, and fails closed when siteverify does not answer", async () => {
    const auction = (await f.request("POST", "/apps/stream-slot/api/auctions", { key: f.owner.apiKey, json: { title: "T", slots: 1, duration_secs: 600 } })).data.id;
    const bid = (token, ip) => f.request("POST", `/apps/stream-slot/api/auctions/${auction}/bids`, { json: { fields: { name: "Ana", plan: "chat" }, bid: 1000, ...(token ? { turnstile_token: token } : {}) }, ip });
    const none = await bid(null);
    assert.deepEqual([none.status, none.data.error.code], [403, "turnstile_required"]);
    const failed = await bid("fail");
    assert.deepEqual([failed.status, failed.data.error.code], [403, "turnstile_failed"]);
    const passed = await bid("XXXX.DUMMY.TOKEN.XXXX", "192.0.2.77");
    assert.equal(passed.status, 201, passed.text);
    const call = f.turnstile.calls.at(-1);
    assert.deepEqual([call.secret, call.response, call.remoteip], [f.turnstile.secret, "XXXX.DUMMY.TOKEN.XXXX", "192.0.2.77"]);
    assert.equal(call.idempotency_key, passed.data.id);

    for (const mode of ["down", "hang"]) {
      f.turnstile.state.mode = mode;
      const r = await bid("XXXX.DUMMY.TOKEN.XXXX");
      assert.deepEqual([r.status, r.data.error.code], [503, "unavailable"], mode);
    }
    f.turnstile.state.mode = "up";
    const listed = (await f.request("GET", "/api/apps/stream-slot/requests", { key: f.owner.apiKey })).data.requests;
    assert.equal(listed.length, 1, "only the verified bid was stored");
  });

  test("a real token counts only when solved on this form's widget (its action), on a page the app may be shown on", async () => {
    const auction = (await f.request("POST", "/apps/stream-slot/api/auctions", { key: f.owner.apiKey, json: { title: "T2", slots: 1, duration_secs: 600 } })).data.id;
    const bid = (token, ip) => f.request("POST", `/apps/stream-slot/api/auctions/${auction}/bids`, { json: { fields: { name: "Ana", plan: "chat" }, bid: 1000, turnstile_token: token }, ip });
    const otherForm = await bid("solved:fanline.example:login", "192.0.2.81");
    assert.deepEqual([otherForm.status, otherForm.data.error.code], [403, "turnstile_failed"]);
    assert.match(otherForm.data.error.message, /another form or site/);
    const noAction = await bid("solved:fanline.example", "192.0.2.82");
    assert.equal(noAction.status, 403);
    // stream-slot lists no embed sites, so its form may be solved on any page.
    const onSomeSite = await bid("solved:any-site.example:fanline-intake", "192.0.2.83");
    assert.equal(onSomeSite.status, 201, onSomeSite.text);
  });
});
