// The delivery engine's fault handling (issue 5, item 4-5 in part), with a local receiver that
// fails on purpose: 410 disables the target, Retry-After on 503 is honoured, a redirect is a
// failure and is never followed, the creator replays a dead delivery (delivered once, same
// webhook-id), and the cron's sweeper sends an outbox row whose queue send was lost.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { eventually, startFixture } from "./support/fixture.mjs";

let f;
before(async () => (f = await startFixture()));
after(async () => f?.stop());

const hooksFor = (id) => f.webhooks.received.filter((m) => m.json?.data?.id === id && m.path === "/hooks/fanline");
const deliveries = async () => (await f.request("GET", "/api/apps/song-request/deliveries", { key: f.owner.apiKey })).data.deliveries;
const webhookRow = async (id) => (await deliveries()).find((d) => d.request_id === id && d.destination === "webhook");
const answerFor = (song, answer) => (f.webhooks.handler.respond = (e) => (e.json?.data?.fields?.song === song ? answer(e) : undefined));

describe("delivery faults", () => {
  test("a 410 disables the target and dead-letters the job; after re-enabling, a replay is delivered once", async () => {
    answerFor("Gone", () => ({ status: 410 }));
    const r = await f.submit("song-request", { song: "Gone" });
    const dead = await eventually(async () => (await webhookRow(r.data.id))?.state === "dead" && (await webhookRow(r.data.id)), { what: "dead after 410" });
    assert.equal(dead.attempts, 1, "no retries after 410");
    assert.match(dead.last_error, /410/);
    const destinations = (await f.request("GET", "/api/apps/song-request/destinations", { key: f.owner.apiKey })).data;
    assert.equal(JSON.stringify(destinations).includes('"enabled":false'), true, JSON.stringify(destinations));

    f.webhooks.handler.respond = undefined;
    const url = `${f.webhooks.url}/hooks/fanline`;
    assert.equal((await f.request("PUT", "/api/apps/song-request/destinations", { key: f.owner.apiKey, json: { webhook_url: url } })).status, 200);
    const [one, two] = await Promise.all([1, 2].map(() => f.request("POST", `/api/apps/song-request/deliveries/${dead.id}/replay`, { key: f.owner.apiKey })));
    assert.deepEqual([one.status, two.status].sort(), [202, 409], "a replay is queued once");
    await eventually(async () => (await webhookRow(r.data.id)).state === "delivered", { what: "replayed delivery" });
    const sent = hooksFor(r.data.id);
    assert.equal(sent.length, 2, "the failed attempt and one replay");
    assert.equal(sent[0].headers["webhook-id"], sent[1].headers["webhook-id"], "the same webhook-id, so receivers can drop duplicates");
  });

  test("Retry-After on a 503 is honoured", async () => {
    let first = true;
    answerFor("Busy", () => (first ? ((first = false), { status: 503, headers: { "retry-after": "4" } }) : undefined));
    const r = await f.submit("song-request", { song: "Busy" });
    const sent = await eventually(() => hooksFor(r.data.id).length === 2 && hooksFor(r.data.id), { ms: 30000, what: "second attempt" });
    const gap = sent[1].at - sent[0].at;
    assert.ok(gap >= 3500, `waited ${gap} ms, Retry-After said 4 s (our own backoff is 1 s here)`);
  });

  test("a redirect is a failed attempt and is not followed", async () => {
    let first = true;
    answerFor("Moved", () => (first ? ((first = false), { status: 302, headers: { location: `${f.webhooks.url}/elsewhere` } }) : undefined));
    const r = await f.submit("song-request", { song: "Moved" });
    await eventually(async () => (await webhookRow(r.data.id))?.state === "delivered", { ms: 30000, what: "delivered after the redirect" });
    assert.equal(f.webhooks.received.filter((m) => m.path === "/elsewhere").length, 0, "the Location was never requested");
    const row = await webhookRow(r.data.id);
    assert.equal(row.attempts, 2);
  });

  test("the sweeper sends an outbox row whose queue send was lost", async () => {
    f.webhooks.handler.respond = undefined;
    const r = await f.submit("song-request", { song: "Swept" });
    await eventually(() => hooksFor(r.data.id).length === 1, { what: "normal delivery" });
    // As if a Worker died between committing this row and sending it to the queue.
    const lost = `out_lost${Date.now()}`;
    const payload = JSON.stringify({ type: "request.queued", timestamp: new Date().toISOString(), data: { id: r.data.id, note: "lost" } });
    f.stack.d1(`INSERT INTO outbox (id, request_id, app_slug, event, destination, payload, state, attempts, created_at, updated_at) VALUES ('${lost}', '${r.data.id}', 'song-request', 'request.queued', 'webhook', '${payload}', 'pending', 0, ${Date.now() - 600000}, ${Date.now() - 600000})`);
    const cron = () => fetch(`${f.url}/cdn-cgi/local/scheduled?cron=${encodeURIComponent("*/10 * * * *")}&time=${Date.now()}`);
    await cron();
    await eventually(() => f.webhooks.received.some((m) => m.headers["webhook-id"] === lost), { what: "swept row delivered" });
    await cron();
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal(f.webhooks.received.filter((m) => m.headers["webhook-id"] === lost).length, 1, "delivered once");
  });
});
