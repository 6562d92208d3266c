// Intake plans a free request on the app context its Worker read for an earlier one, and the
// batch's `app_context` guard re-checks that context in the same transaction (issue 12). These
// tests change the context between two requests to the same Worker and check that the second
// request gets what a fresh read would have given: a new destination, a pause, a block, a limit.
// Rows for destinations the creator has not set up are written as skipped and never queued.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { eventually, settle, startFixture } from "./support/fixture.mjs";

let f;
before(async () => (f = await startFixture()));
after(async () => f?.stop());

const key = () => f.owner.apiKey;
const song = (options = {}) => f.submit("song-request", { song: "Wonderwall", artist: "Oasis", message: "context" }, options);
const rowsOf = async (id) => (await f.request("GET", "/api/apps/song-request/deliveries", { key: key() })).data.deliveries.filter((d) => d.request_id === id);

describe("the app context a Worker planned on", () => {
  test("destinations not set up are skipped at intake, and one set up later is used by the next request", async () => {
    const first = await song();
    assert.equal(first.status, 201, first.text);
    const rows = await eventually(async () => {
      const r = await rowsOf(first.data.id);
      return r.find((d) => d.destination === "discord")?.state === "delivered" && r;
    }, { what: "the first request's Discord delivery" });
    const trello = rows.find((d) => d.destination === "trello");
    assert.equal(trello.state, "skipped");
    assert.equal(trello.attempts, 0, "never queued, never attempted");
    assert.match(trello.last_error, /no destination configured/);

    const setUp = await f.request("PUT", "/api/apps/song-request/destinations", {
      key: key(),
      json: { trello: { key: f.trello.key, token: f.trello.token, list_id: f.trello.lists.todo, done_list_id: f.trello.lists.done } },
    });
    assert.equal(setUp.status, 200, setUp.text);
    const second = await song();
    assert.equal(second.status, 201, second.text);
    const card = await eventually(() => [...f.trello.cards.values()].find((c) => c.desc.includes(second.data.id)), { what: "the second request's Trello card" });
    assert.ok(card);
    assert.equal((await rowsOf(second.data.id)).find((d) => d.destination === "trello").state, "delivered");
    assert.equal((await rowsOf(first.data.id)).find((d) => d.destination === "trello").state, "skipped", "the earlier row stays skipped (replayable)");
  });

  test("a pause refuses the very next request, and resuming takes the one after", async () => {
    assert.equal((await song()).status, 201);
    const paused = await f.request("POST", "/api/apps/song-request/state", { key: key(), json: { state: "paused", message: "Back at 8." } });
    assert.equal(paused.status, 200, paused.text);
    const refused = await song();
    assert.deepEqual([refused.status, refused.data.error.code], [409, "app_paused"]);
    assert.match(refused.data.error.message, /Back at 8\./);
    assert.equal((await f.request("POST", "/api/apps/song-request/state", { key: key(), json: { state: "live" } })).status, 200);
    assert.equal((await song()).status, 201);
  });

  test("a sender blocked after an earlier request is refused on the next one", async () => {
    const ip = f.freshIp();
    assert.equal((await song({ ip })).status, 201);
    assert.equal((await f.request("POST", "/api/blocklist", { key: key(), json: { kind: "ip", value: ip } })).status, 201);
    const refused = await song({ ip });
    assert.deepEqual([refused.status, refused.data.error.code], [422, "request_rejected"]);
    assert.equal((await song()).status, 201, "other senders go on");
  });

  test("limits set after an earlier request bound the next one", async () => {
    const ip = f.freshIp();
    assert.equal((await song({ ip })).status, 201);
    const set = await f.request("PUT", "/api/apps/song-request/limits", { key: key(), json: { max_open_per_fan: 1, max_per_fan_per_day: null, capacity: null } });
    assert.equal(set.status, 200, set.text);
    const refused = await song({ ip });
    assert.deepEqual([refused.status, refused.data.error.code], [429, "quota_exceeded"]);
    assert.equal((await f.request("DELETE", "/api/apps/song-request/limits", { key: key() })).status, 200);
    assert.equal((await song({ ip })).status, 201);
    await settle(500);
  });
});
