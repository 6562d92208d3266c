// The delivery engine's fault handling (issue 5, items 4, 5 and 7), with local receivers that
// fail on purpose: a receiver down for a while, intermittent 500s, a timeout, 410 disabling the
// target, Retry-After on 503, a payload rendered once, a redirect never followed, the creator's replay (delivered once,
// same webhook-id), and the cron's sweeper sending an outbox row whose queue send was lost, a row
// whose retry was dropped, a lost row behind many parked ones, and leaving a claimed row alone.
// "Exactly once in effect": every job is accepted (2xx) once, and any repeat carries the same
// webhook-id, which is what receivers deduplicate on. Signatures are checked with the official
// `standardwebhooks` library.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Webhook } from "standardwebhooks";
import { eventually, settle, startFixture } from "./support/fixture.mjs";
import { startReceiver } from "../scripts/fakes/webhook-receiver.mjs";

let f;
before(async () => (f = await startFixture()));
after(async () => f?.stop());

const hooksFor = (id) => f.webhooks.received.filter((m) => m.json?.data?.id === id && m.path === "/hooks/fanline");
const deliveries = async () => (await f.request("GET", "/api/apps/song-request/deliveries", { key: f.owner.apiKey })).data.deliveries;
const webhookRow = async (id) => (await deliveries()).find((d) => d.request_id === id && d.destination === "webhook");
const answerFor = (song, answer) => (f.webhooks.handler.respond = (e) => (e.json?.data?.fields?.song === song ? answer(e) : undefined));

const verify = (m) => new Webhook(f.stack.webhookSecrets["song-request"]).verify(m.raw, m.headers);

/** Per webhook-id, how many times the receiver accepted it (answered 2xx). */
function acceptedCounts(received, ids) {
  const counts = Object.fromEntries(ids.map((id) => [id, 0]));
  for (const m of received) if (m.accepted && m.headers["webhook-id"] in counts) counts[m.headers["webhook-id"]] += 1;
  return counts;
}

describe("delivery faults", () => {
  test("a receiver down for a while gets every job once it is back, each accepted exactly once", async () => {
    const receiver = await startReceiver();
    const { port } = receiver;
    const hookUrl = `${receiver.url}/down-then-up`;
    assert.equal((await f.request("PUT", "/api/apps/song-request/destinations", { key: f.owner.apiKey, json: { webhook_url: hookUrl } })).status, 200);
    await receiver.close();
    try {
      const songs = ["Down 1", "Down 2", "Down 3"];
      const ids = [];
      for (const song of songs) ids.push((await f.submit("song-request", { song })).data.id);
      // Every job fails at least twice against the closed port.
      await eventually(async () => {
        const rows = (await deliveries()).filter((d) => ids.includes(d.request_id) && d.destination === "webhook");
        return rows.length === 3 && rows.every((d) => d.attempts >= 2 && d.state !== "delivered") && rows;
      }, { ms: 30000, what: "failed attempts while the receiver is down" });
      const failing = (await f.request("GET", "/api/apps/song-request/deliveries?state=failing", { key: f.owner.apiKey })).data.deliveries;
      const failed = failing.filter((d) => ids.includes(d.request_id) && d.destination === "webhook");
      assert.equal(failed.length, 3, "the creator sees them failing while it happens");
      assert.equal(failed[0].last_error, "could not connect");

      const back = await startReceiver({ port });
      back.handler.respond = (m) => ((m.accepted = true), undefined);
      const rows = await eventually(async () => {
        const r = (await deliveries()).filter((d) => ids.includes(d.request_id) && d.destination === "webhook");
        return r.every((d) => d.state === "delivered") && r;
      }, { ms: 60000, what: "every job delivered after the receiver came back" });
      await settle();
      assert.deepEqual(Object.values(acceptedCounts(back.received, rows.map((d) => d.id))), [1, 1, 1]);
      assert.equal(back.received.length, 3, "nothing sent twice once accepted");
      for (const m of back.received) assert.equal(verify(m).data.status, "queued");
      // The webhook's retries never sent the same requests' other deliveries again.
      const discordRows = (await deliveries()).filter((d) => ids.includes(d.request_id) && d.destination === "discord");
      assert.deepEqual(discordRows.map((d) => [d.state, d.attempts]), ids.map(() => ["delivered", 1]));
      for (const id of ids) assert.equal(f.discord.messages.filter((m) => JSON.stringify(m.json).includes(id)).length, 1, `one Discord message for ${id}`);
      await back.close();
    } finally {
      await f.request("PUT", "/api/apps/song-request/destinations", { key: f.owner.apiKey, json: { webhook_url: `${f.webhooks.url}/hooks/fanline` } });
    }
  });

  test("intermittent 500s: every job is accepted exactly once, every attempt correctly signed", async () => {
    let calls = 0;
    f.webhooks.handler.respond = (m) => {
      if (!m.json?.data?.fields?.song?.startsWith("Flaky")) return undefined;
      calls += 1;
      if (calls % 2 === 1) return { status: 500 };
      m.accepted = true;
      return undefined;
    };
    const ids = [];
    for (const song of ["Flaky 1", "Flaky 2", "Flaky 3", "Flaky 4"]) ids.push((await f.submit("song-request", { song })).data.id);
    const rows = await eventually(async () => {
      const r = (await deliveries()).filter((d) => ids.includes(d.request_id) && d.destination === "webhook");
      return r.length === 4 && r.every((d) => d.state === "delivered") && r;
    }, { ms: 60000, what: "all flaky deliveries" });
    await settle();
    assert.deepEqual(Object.values(acceptedCounts(f.webhooks.received, rows.map((d) => d.id))), [1, 1, 1, 1]);
    const sent = f.webhooks.received.filter((m) => rows.some((d) => d.id === m.headers["webhook-id"]));
    assert.ok(sent.length > 4, "some attempts failed and were retried");
    for (const m of sent) assert.ok(ids.includes(verify(m).data.id), "every attempt verifies with the official library");
    f.webhooks.handler.respond = undefined;
  });

  test("a receiver that does not answer in time is retried; the repeat carries the same webhook-id", async () => {
    let first = true;
    answerFor("Slow", () => (first ? ((first = false), { status: 204, delayMs: 4000 }) : undefined));
    const r = await f.submit("song-request", { song: "Slow" });
    const row = await eventually(async () => (await webhookRow(r.data.id))?.state === "delivered" && (await webhookRow(r.data.id)), { ms: 30000, what: "delivery after a timeout" });
    assert.equal(row.attempts, 2);
    const sent = hooksFor(r.data.id);
    assert.equal(sent.length, 2);
    assert.equal(sent[0].headers["webhook-id"], sent[1].headers["webhook-id"]);
    const detail = (await f.request("GET", `/api/apps/song-request/deliveries/${row.id}`, { key: f.owner.apiKey })).data;
    assert.deepEqual(detail.attempt_log.map((a) => [a.attempt, a.status, a.error]), [[1, null, "no answer within 2000 ms"], [2, 204, null]]);
    f.webhooks.handler.respond = undefined;
  });

  test("a payload is rendered once: the retry sends the same bytes, whatever happened to the request since", async () => {
    // Intake leaves rendering to the consumer, which stores the payload with its first claim.
    let first = true;
    answerFor("Once", () => (first ? ((first = false), { status: 503, headers: { "Retry-After": "8" } }) : undefined));
    const r = await f.submit("song-request", { song: "Once" });
    await eventually(async () => (await webhookRow(r.data.id))?.attempts === 1, { what: "the first attempt" });
    // What a second rendering would read differently: the request's fields and price.
    f.stack.d1(`UPDATE requests SET fields = '{"song":"Changed"}', amount = 999 WHERE id = '${r.data.id}'`);
    assert.equal((await webhookRow(r.data.id)).attempts, 1, "changed before the retry");
    const row = await eventually(async () => (await webhookRow(r.data.id))?.state === "delivered" && (await webhookRow(r.data.id)), { ms: 30000, what: "the retry" });
    assert.equal(row.attempts, 2);
    const sent = hooksFor(r.data.id);
    assert.equal(sent.length, 2);
    assert.equal(sent[1].raw, sent[0].raw, "the same bytes");
    assert.equal(verify(sent[1]).data.fields.song, "Once");
    f.webhooks.handler.respond = undefined;
  });

  test("a receiver whose 200 answer never ends is delivered once: the hub reads only a small part of it", async () => {
    answerFor("Endless", () => ({ status: 200, endless: true }));
    const r = await f.submit("song-request", { song: "Endless" });
    const row = await eventually(async () => (await webhookRow(r.data.id))?.state === "delivered" && (await webhookRow(r.data.id)), { ms: 20000, what: "delivered despite an endless answer" });
    assert.equal(row.attempts, 1);
    const detail = (await f.request("GET", `/api/apps/song-request/deliveries/${row.id}`, { key: f.owner.apiKey })).data;
    assert.deepEqual(detail.attempt_log.map((a) => [a.attempt, a.status, a.error]), [[1, 200, null]]);
    f.webhooks.handler.respond = undefined;
  });

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

  test("the sweeper re-sends more rows than one queue batch holds (Queues take 100 per sendBatch)", async () => {
    f.webhooks.handler.respond = undefined;
    const r = await f.submit("song-request", { song: "Swept in bulk" });
    await eventually(() => hooksFor(r.data.id).length === 1, { what: "normal delivery" });
    const prefix = `out_bulk${Date.now()}_`;
    const payload = JSON.stringify({ type: "request.queued", timestamp: new Date().toISOString(), data: { id: r.data.id, note: "lost in bulk" } });
    const at = Date.now() - 600000;
    f.stack.d1(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 150)
      INSERT INTO outbox (id, request_id, app_slug, event, destination, payload, state, attempts, created_at, updated_at)
      SELECT '${prefix}' || i, '${r.data.id}', 'song-request', 'request.queued', 'webhook', '${payload}', 'pending', 0, ${at}, ${at} FROM n`);
    await fetch(`${f.url}/cdn-cgi/local/scheduled?cron=${encodeURIComponent("*/10 * * * *")}&time=${Date.now()}`);
    const swept = () => new Set(f.webhooks.received.map((m) => m.headers["webhook-id"]).filter((id) => id?.startsWith(prefix))).size;
    await eventually(() => swept() === 150, { ms: 30000, what: "all 150 swept rows delivered" });
  });

  // Rows written as the consumer or a lost message would have left them (review L13-L15).
  const hookRow = (requestId, note, { id, state = "pending", attempts = 0, createdAt, updatedAt, claimedAt = null, destination = "webhook" }) => {
    const payload = JSON.stringify({ type: "request.queued", timestamp: new Date().toISOString(), data: { id: requestId, note } });
    return `('${id}', '${requestId}', 'song-request', 'request.queued', '${destination}', '${payload}', '${state}', ${attempts}, ${claimedAt ?? "NULL"}, ${createdAt}, ${updatedAt ?? createdAt})`;
  };
  const insertRows = (values) =>
    f.stack.d1(`INSERT INTO outbox (id, request_id, app_slug, event, destination, payload, state, attempts, claimed_at, created_at, updated_at) VALUES ${values.join(", ")}`);
  const sweepAt = (time) => fetch(`${f.url}/cdn-cgi/local/scheduled?cron=${encodeURIComponent("*/10 * * * *")}&time=${time}`).then((r) => assert.equal(r.status, 200));
  const receivedIds = () => new Set(f.webhooks.received.map((m) => m.headers["webhook-id"]));

  test("the sweeper queues again a row whose retry was dropped, and leaves a row waiting for its retry alone", async () => {
    f.webhooks.handler.respond = undefined;
    const r = await f.submit("song-request", { song: "Dropped retry" });
    await eventually(() => hooksFor(r.data.id).length === 1, { what: "normal delivery" });
    const now = Date.now();
    const stale = `out_stale${now}`;
    const waiting = `out_waiting${now}`;
    // Attempted once and untouched for 14 hours: longer than Queues hold any retry (12 h), so
    // its message is gone. The other failed an hour ago and its retry is still in the queue.
    insertRows([
      hookRow(r.data.id, "stale", { id: stale, attempts: 1, createdAt: now - 15 * 3600_000, updatedAt: now - 14 * 3600_000 }),
      hookRow(r.data.id, "waiting", { id: waiting, attempts: 1, createdAt: now - 2 * 3600_000, updatedAt: now - 3600_000 }),
    ]);
    await sweepAt(now);
    await eventually(() => receivedIds().has(stale), { what: "the stale row delivered" });
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal(receivedIds().has(waiting), false, "a row waiting for its retry is not sent early");
    const [row] = f.stack.d1Rows(`SELECT state, attempts FROM outbox WHERE id = '${stale}'`);
    assert.deepEqual(row, { state: "delivered", attempts: 2 });
    f.stack.d1(`UPDATE outbox SET state = 'dead' WHERE id = '${waiting}'`);
  });

  test("a lost row is swept even behind more parked rows than one sweep takes", async () => {
    f.webhooks.handler.respond = undefined;
    const r = await f.submit("song-request", { song: "Behind the parked" });
    await eventually(() => hooksFor(r.data.id).length === 1, { what: "normal delivery" });
    const now = Date.now();
    const prefix = `out_parked${now}_`;
    const lost = `out_lostbehind${now}`;
    // 250 rows created two hours ago and parked again five minutes ago (Trello rows waiting for
    // their card are touched each time they park), and one row created ten minutes ago whose
    // queue send was lost. Oldest-created-first would take 200 parked rows and never the lost one.
    const values = Array.from({ length: 250 }, (_, i) => hookRow(r.data.id, "parked", { id: `${prefix}${i}`, createdAt: now - 2 * 3600_000, updatedAt: now - 5 * 60_000 }));
    values.push(hookRow(r.data.id, "lost", { id: lost, createdAt: now - 10 * 60_000 }));
    insertRows(values);
    await sweepAt(now);
    const parked = () => [...receivedIds()].filter((id) => id?.startsWith(prefix)).length;
    await eventually(() => receivedIds().has(lost), { ms: 30000, what: "the lost row delivered by the first sweep" });
    await eventually(() => parked() === 199, { ms: 60000, what: "199 parked rows beside it (a sweep takes 200)" });
    await sweepAt(Date.now());
    await eventually(() => parked() === 250, { ms: 60000, what: "the other parked rows by the next sweep" });
  });

  test("a duplicate message's verdict does not overwrite a row another consumer holds", async () => {
    f.webhooks.handler.respond = undefined;
    const r = await f.submit("song-request", { song: "Held elsewhere" });
    await eventually(() => hooksFor(r.data.id).length === 1, { what: "normal delivery" });
    const now = Date.now();
    const held = `out_held${now}`;
    const marker = `out_marker${now}`;
    // A row a consumer claimed a moment ago, for a destination this hub cannot read, and a lost
    // row that shows when the sweep's messages were consumed. A sweep run five minutes ahead
    // queues both; the consumer, on the real clock, finds the claim fresh.
    insertRows([
      hookRow(r.data.id, "held", { id: held, state: "sending", claimedAt: now, createdAt: now - 3600_000, destination: "carrier-pigeon" }),
      hookRow(r.data.id, "marker", { id: marker, createdAt: now - 10 * 60_000 }),
    ]);
    await sweepAt(now + 5 * 60_000);
    await eventually(() => receivedIds().has(marker), { what: "the sweep's messages consumed" });
    await new Promise((r) => setTimeout(r, 2000));
    const [row] = f.stack.d1Rows(`SELECT state, last_error FROM outbox WHERE id = '${held}'`);
    assert.deepEqual(row, { state: "sending", last_error: null }, "the holder's row is left to the holder");
  });
});
