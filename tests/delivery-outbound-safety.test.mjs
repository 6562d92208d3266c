// Outgoing requests under the production policy (issue 5, item 6): the hub runs with
// ALLOW_HTTP_DESTINATIONS = "false", as deployed. Destinations inside private networks or over
// plain http are refused when saved, and checked again before every send: the local receivers
// (plain http on 127.0.0.1, seeded straight into D1) and the local API bases are refused
// without a request leaving the hub, and the refusal is visible to the creator.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { eventually, startFixture } from "./support/fixture.mjs";

let f;
before(async () => (f = await startFixture({ hubVars: { ALLOW_HTTP_DESTINATIONS: "false" } })));
after(async () => f?.stop());

const path = "/api/apps/song-request/destinations";

describe("outbound policy in production", () => {
  test("private, loopback, link-local and plain-http destinations are refused when saved", async () => {
    for (const url of [
      "https://127.0.0.1/hook",
      "https://localhost/hook",
      "https://169.254.169.254/latest/meta-data/",
      "https://10.0.0.8/hook",
      "https://192.168.1.20/hook",
      "https://[::1]/hook",
      "https://[fe80::1]/hook",
      "https://2130706433/hook",
      "https://10.0.0.1.nip.io/hook",
      "https://printer.local/hook",
      "http://hooks.example.com/hook",
    ]) {
      const r = await f.request("PUT", path, { key: f.owner.apiKey, json: { webhook_url: url } });
      assert.equal(r.status, 400, url);
      assert.equal(r.data.error.code, "invalid_destination", url);
    }
    const discord = await f.request("PUT", path, { key: f.owner.apiKey, json: { discord: { webhook_url: "https://172.16.5.4/api/webhooks/1/x" } } });
    assert.match(discord.data.error.message, /private/);
  });

  test("a stored target that is not allowed is refused before sending, recorded and shown as dead", async () => {
    const trello = { key: f.trello.key, token: f.trello.token, list_id: f.trello.lists.todo };
    assert.equal((await f.request("PUT", path, { key: f.owner.apiKey, json: { trello } })).status, 200, "Trello's settings hold no URL");
    const r = await f.submit("song-request", { song: "Nowhere" });
    assert.equal(r.status, 201, r.text);
    const rows = await eventually(async () => {
      const list = (await f.request("GET", "/api/apps/song-request/deliveries", { key: f.owner.apiKey })).data.deliveries.filter((d) => d.request_id === r.data.id);
      const byKind = Object.fromEntries(list.map((d) => [d.destination, d]));
      return ["discord", "webhook", "trello"].every((k) => byKind[k]?.state === "dead") && byKind;
    }, { what: "refused deliveries" });
    for (const kind of ["discord", "webhook", "trello"]) {
      assert.equal(rows[kind].attempts, 1, `${kind}: refused once, never retried`);
      assert.equal(rows[kind].last_error, "target URL must be an https URL", kind);
    }
    const detail = (await f.request("GET", `/api/apps/song-request/deliveries/${rows.webhook.id}`, { key: f.owner.apiKey })).data;
    assert.deepEqual(detail.attempt_log.map((a) => [a.status, a.error]), [[null, "target URL must be an https URL"]]);
    assert.equal(f.webhooks.received.length + f.discord.messages.length + f.trello.calls.length, 0, "nothing left the hub");
  });
});
