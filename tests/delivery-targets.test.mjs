// Fulfilment targets (issue 5, items 2, 3 and 6): song-request's manifest routes a queued request
// to Discord (with a role mention), a signed webhook, Trello, Twilio SMS, Notion, Airtable and the
// creator's email, with templates; a fulfilled one moves its Trello card and mails the fan a
// confirmation and a feedback request; a request left waiting raises one reminder. Each local
// API server checks credentials and request shape the way the real API does.
import assert from "node:assert/strict";
import fs from "node:fs";
import { after, before, describe, test } from "node:test";
import { eventually, settle, startFixture } from "./support/fixture.mjs";

let f;
before(async () => (f = await startFixture()));
after(async () => f?.stop());

const ROLE = "987654321098765432";
const path = "/api/apps/song-request/destinations";
const page = (id) => `${f.url}/apps/song-request/?request=${id}`;

async function configureEverything() {
  const settings = {
    discord: { webhook_url: f.discord.webhookUrl, role_id: ROLE },
    trello: { key: f.trello.key, token: f.trello.token, list_id: f.trello.lists.todo, done_list_id: f.trello.lists.done },
    sms: { account_sid: f.twilio.accountSid, auth_token: f.twilio.authToken, from: f.twilio.from, to: f.twilio.to },
    notion: { token: f.notion.token, database_id: f.notion.databaseId },
    airtable: { token: f.airtable.token, base_id: f.airtable.baseId, table: f.airtable.table },
    creator_email: { email: "creator@example.com" },
  };
  const r = await f.request("PUT", path, { key: f.owner.apiKey, json: settings });
  assert.equal(r.status, 200, r.text);
  return r;
}

describe("fulfilment targets", () => {
  test("settings are checked, stored, and shown back without credentials", async () => {
    const bad = [
      [{ sms: { account_sid: f.twilio.accountSid, auth_token: f.twilio.authToken, from: f.twilio.from, to: "555-1234" } }, /E\.164/],
      [{ trello: { key: "nope", token: "x", list_id: "y" } }, /key/],
      [{ airtable: { token: f.airtable.token, base_id: "base", table: "t" } }, /base_id/],
      [{ creator_email: { email: "not-an-address" } }, /email/],
      [{ discord: { webhook_url: f.discord.webhookUrl, role_id: "@everyone" } }, /role_id/],
      [{ notion: "https://notion.so" }, /object/],
      [{ webhook_url: "https://user:pw@example.com/hook" }, /credentials/],
    ];
    for (const [json, message] of bad) {
      const r = await f.request("PUT", path, { key: f.owner.apiKey, json });
      assert.equal(r.status, 400, JSON.stringify(json));
      assert.equal(r.data.error.code, "invalid_destination");
      assert.match(r.data.error.message, message);
    }
    const unknown = await f.request("PUT", path, { key: f.owner.apiKey, json: { email: { to: "x@example.com" } } });
    assert.deepEqual([unknown.status, unknown.data.error.code], [400, "invalid_json"], "fan emails have no settings");
    const r = await configureEverything();
    const kinds = r.data.destinations.map((d) => d.kind).sort();
    assert.deepEqual(kinds, ["airtable", "creator_email", "discord", "notion", "sms", "trello", "webhook"]);
    for (const secret of [f.trello.token, f.trello.key, f.twilio.authToken, f.notion.token, f.airtable.token]) {
      assert.ok(!r.text.includes(secret), "a credential is never shown back");
    }
    const trello = r.data.destinations.find((d) => d.kind === "trello");
    assert.equal(trello.token, `…${f.trello.token.slice(-4)}`);
    assert.equal(trello.list_id, f.trello.lists.todo);
  });

  test("a queued request reaches every target in its documented wire format", async () => {
    const r = await f.submit("song-request", { song: "Africa", artist: "Toto", message: "For my sister", twitch_handle: "rainy", email: "fan@example.com" });
    assert.equal(r.status, 201, r.text);
    const id = r.data.id;

    const card = await eventually(() => [...f.trello.cards.values()].find((c) => c.desc.includes(page(id))), { what: "Trello card" });
    assert.equal(card.name, "Africa - Toto", "the manifest's title template");
    assert.equal(card.idList, f.trello.lists.todo);
    assert.match(card.desc, /^For my sister\nFrom rainy - Free/);

    const sms = await eventually(() => f.twilio.messages.find((m) => m.body.includes(id)), { what: "SMS" });
    assert.equal(sms.body, `New song request: Africa (Free) ${page(id)}`);
    assert.deepEqual([sms.to, sms.from], [f.twilio.to, f.twilio.from]);

    const notion = await eventually(() => f.notion.pages.find((p) => JSON.stringify(p.children).includes(id)), { what: "Notion page" });
    assert.equal(notion.properties.Name.title[0].text.content, "Request a song at my next stream: Africa");
    assert.ok(notion.children.some((b) => b.paragraph.rich_text[0].text.content === "Artist: Toto"));

    const record = await eventually(() => f.airtable.records.find((x) => x.fields.Request === id), { what: "Airtable record" });
    assert.deepEqual([record.fields.Status, record.fields.Price, record.fields.Link], ["queued", "Free", page(id)]);

    const notice = await eventually(() => f.mail.mails.find((m) => m.to === "creator@example.com" && m.text.includes(id)), { what: "creator notice" });
    assert.equal(notice.subject, "New request in the queue: Request a song at my next stream: Africa");
    assert.match(notice.text, /Your Twitch name: rainy/);

    const discord = await eventually(() => f.discord.messages.find((m) => JSON.stringify(m.json).includes(id)), { what: "Discord message" });
    assert.ok(discord.json.content.startsWith(`<@&${ROLE}> `), discord.json.content);
    assert.deepEqual(discord.json.allowed_mentions, { parse: [], roles: [ROLE] });

    const call = f.trello.calls.find((c) => c.path === "/1/cards" && c.json?.desc?.includes(id));
    assert.ok(!call.path.includes(f.trello.token), "Trello credentials travel in a header, not the URL");
  });

  test("fulfilling moves the same Trello card and mails the fan a confirmation and a feedback request", async () => {
    // Trello is down when the request is queued, so the move is committed before the card
    // exists: it must wait for the card rather than make a second one.
    f.trello.handler.respond = (call) => (call.method === "POST" && call.path === "/1/cards" ? { status: 503, body: "Service Unavailable" } : undefined);
    const r = await f.submit("song-request", { song: "Hallelujah", artist: "Cohen", email: "listener@example.com" });
    const id = r.data.id;
    await eventually(() => f.trello.calls.some((c) => c.path === "/1/cards" && c.json?.name === "Hallelujah - Cohen"), { what: "failed card attempt" });
    const done = await f.request("POST", `/apps/song-request/api/requests/${id}/complete`, { key: f.owner.apiKey, json: {} });
    assert.equal(done.status, 200, done.text);
    await settle(1500);
    f.trello.handler.respond = undefined;

    const moved = await eventually(() => {
      const cards = [...f.trello.cards.values()].filter((c) => c.name === "Hallelujah - Cohen");
      return cards.length === 1 && cards[0].idList === f.trello.lists.done && cards;
    }, { ms: 30000, what: "card created, then moved to the done list" });
    await settle();
    assert.equal([...f.trello.cards.values()].filter((c) => c.name === "Hallelujah - Cohen").length, 1, "one card per request");
    assert.equal(f.trello.calls.filter((c) => c.method === "PUT" && c.path === `/1/cards/${moved[0].id}`).length, 1);

    const mails = await eventually(() => {
      const m = f.mail.mails.filter((x) => x.to === "listener@example.com");
      return m.length === 2 && m;
    }, { what: "confirmation and feedback request" });
    const subjects = mails.map((m) => m.subject).sort();
    assert.deepEqual(subjects, ["How was it? Request a song at my next stream", "Your request was fulfilled: Request a song at my next stream"]);

    // The creator files it away: fulfilled -> closed, and only from fulfilled.
    const closed = await f.request("POST", `/apps/song-request/api/requests/${id}/close`, { key: f.owner.apiKey, json: { note: "played it" } });
    assert.equal(closed.status, 200, closed.text);
    assert.equal(closed.data.status, "closed");
    const again = await f.request("POST", `/apps/song-request/api/requests/${id}/close`, { key: f.owner.apiKey });
    assert.deepEqual([again.status, again.data.error.code], [409, "invalid_transition"]);
    const stranger = await f.request("POST", `/apps/song-request/api/requests/${id}/close`, { key: f.other.apiKey });
    assert.equal(stranger.status, 404);
  });

  test("a Trello card whose answer was lost is found by the retry, not made twice", async () => {
    let first = true;
    f.trello.handler.delayMs = (call) => (call.method === "POST" && call.path === "/1/cards" && call.json?.name === "Lost - Answer" && first ? ((first = false), 4000) : 0);
    const r = await f.submit("song-request", { song: "Lost", artist: "Answer" });
    const deliveries = async () => (await f.request("GET", "/api/apps/song-request/deliveries", { key: f.owner.apiKey })).data.deliveries;
    const row = await eventually(async () => (await deliveries()).find((d) => d.request_id === r.data.id && d.destination === "trello" && d.state === "delivered"), { ms: 30000, what: "Trello delivery" });
    f.trello.handler.delayMs = undefined;
    await settle();
    const cards = [...f.trello.cards.values()].filter((c) => c.name === "Lost - Answer");
    assert.equal(cards.length, 1, "one card, although the first answer never arrived");
    assert.equal(f.trello.calls.filter((c) => c.method === "POST" && c.json?.name === "Lost - Answer").length, 1, "never posted again");
    const detail = (await f.request("GET", `/api/apps/song-request/deliveries/${row.id}`, { key: f.owner.apiKey })).data;
    assert.deepEqual(detail.attempt_log.map((a) => [a.status, a.error]), [[null, "no answer within 2000 ms"], [200, "found what the unanswered attempt made"]]);

    // The fulfilment moves that card (the id came from the lookup).
    await f.request("POST", `/apps/song-request/api/requests/${r.data.id}/complete`, { key: f.owner.apiKey, json: {} });
    await eventually(() => f.trello.cards.get(cards[0].id).idList === f.trello.lists.done, { what: "found card moved" });
  });

  test("an Airtable record whose answer was lost is found by the retry, not made twice", async () => {
    let first = true;
    f.airtable.handler.delayMs = (call) => (call.method === "POST" && first && JSON.stringify(call.json).includes("Late Record") ? ((first = false), 4000) : 0);
    const r = await f.submit("song-request", { song: "Late Record" });
    await eventually(async () => {
      const list = (await f.request("GET", "/api/apps/song-request/deliveries", { key: f.owner.apiKey })).data.deliveries;
      return list.find((d) => d.request_id === r.data.id && d.destination === "airtable" && d.state === "delivered");
    }, { ms: 30000, what: "Airtable delivery" });
    f.airtable.handler.delayMs = undefined;
    await settle();
    assert.equal(f.airtable.records.filter((x) => x.fields.Request === r.data.id).length, 1);
    const lookup = f.airtable.calls.find((c) => c.method === "GET");
    assert.equal(lookup.query.filterByFormula, `AND({Request}='${r.data.id}',{Status}='queued')`);
  });

  test("a request waiting past reminder_after_hours raises one reminder to the creator", async () => {
    const r = await f.submit("song-request", { song: "Waiting Game" });
    const id = r.data.id;
    const cron = (at) => fetch(`${f.url}/cdn-cgi/local/scheduled?cron=${encodeURIComponent("*/10 * * * *")}&time=${at}`);
    await cron(Date.now() + 2 * 3600_000);
    await settle(1500);
    const reminders = () => f.mail.mails.filter((m) => m.to === "creator@example.com" && m.subject.startsWith("Request still waiting for you") && m.text.includes(id));
    assert.equal(reminders().length, 0, "not before 12 hours");
    await cron(Date.now() + 13 * 3600_000);
    await eventually(() => reminders().length === 1, { what: "reminder" });
    await cron(Date.now() + 14 * 3600_000);
    await settle();
    assert.equal(reminders().length, 1, "one reminder per request");
  });

  test("credentials never reach the logs or the creator's delivery errors", async () => {
    f.twilio.handler.respond = () => ({ status: 500, body: { code: 20500, message: "Internal Server Error", status: 500 } });
    const r = await f.submit("song-request", { song: "Quiet" });
    const failed = await eventually(async () => {
      const list = (await f.request("GET", "/api/apps/song-request/deliveries", { key: f.owner.apiKey })).data.deliveries;
      return list.find((d) => d.request_id === r.data.id && d.destination === "sms" && d.attempts >= 2);
    }, { ms: 30000, what: "failed SMS attempts" });
    f.twilio.handler.respond = undefined;
    assert.equal(failed.last_error, "HTTP 500");
    await eventually(() => f.twilio.messages.some((m) => m.body.includes(r.data.id)), { ms: 30000, what: "SMS after Twilio recovered" });
    const log = fs.readFileSync(f.stack.logFile, "utf8");
    for (const secret of [f.trello.token, f.trello.key, f.twilio.authToken, f.notion.token, f.airtable.token, f.mail.apiKey]) {
      assert.ok(!log.includes(secret), "no credential in the Workers' log");
    }
  });
  test("credentials are sealed at rest: saved, read back, rows from before sealing sealed by the cron, and a row copied to another app does not open", async () => {
    const cron = () => fetch(`${f.url}/cdn-cgi/local/scheduled?cron=${encodeURIComponent("*/10 * * * *")}&time=${Date.now()}`);
    const stored = (app, kind) => f.stack.d1Rows(`SELECT settings FROM destinations WHERE app_slug = '${app}' AND kind = '${kind}'`)[0]?.settings;
    const credentials = [f.trello.token, f.trello.key, f.twilio.authToken, f.notion.token, f.airtable.token, f.discord.webhookUrl, "creator@example.com"];
    await configureEverything();
    await cron();
    const rows = f.stack.d1Rows("SELECT kind, settings FROM destinations WHERE app_slug = 'song-request'");
    assert.equal(rows.length, 7);
    for (const row of rows) {
      assert.match(row.settings, /^sealed:v1:[0-9a-f]{8}:/, `${row.kind} is sealed`);
      for (const secret of credentials) assert.ok(!row.settings.includes(secret), `${row.kind} holds no credential in clear`);
    }

    // A row as it was stored before sealing still delivers, and the cron seals it.
    f.stack.d1(`UPDATE destinations SET settings = '${JSON.stringify({ webhook_url: f.discord.webhookUrl, role_id: ROLE })}' WHERE app_slug = 'song-request' AND kind = 'discord'`);
    assert.ok(stored("song-request", "discord").startsWith("{"));
    const r = await f.submit("song-request", { song: "Plain Sailing" });
    assert.equal(r.status, 201, r.text);
    await eventually(() => f.discord.messages.some((m) => JSON.stringify(m.json).includes(r.data.id)), { what: "Discord message from an unsealed row" });
    await cron();
    await eventually(() => stored("song-request", "discord").startsWith("sealed:v1:"), { what: "the cron sealing the row" });
    const listed = await f.request("GET", path, { key: f.owner.apiKey });
    assert.equal(listed.data.destinations.find((d) => d.kind === "discord").role_id, ROLE, "the sealed row reads back");

    // Sealed text is bound to its app and kind: copied to shoutout it does not open.
    const sealedTrello = stored("song-request", "trello");
    f.stack.d1(`INSERT OR REPLACE INTO destinations (app_slug, kind, settings, enabled, updated_at) VALUES ('shoutout', 'trello', '${sealedTrello}', 1, 0)`);
    const shoutout = await f.request("GET", "/api/apps/shoutout/destinations", { key: f.owner.apiKey });
    assert.equal(shoutout.status, 200, shoutout.text);
    assert.ok(!shoutout.data.destinations.some((d) => d.kind === "trello"), "a copied row is not read as shoutout's");
    f.stack.d1("DELETE FROM destinations WHERE app_slug = 'shoutout' AND kind = 'trello'");
  });

  test("a webhook keeps its signing secret when saved again, and gets a new one on rotate_secret", async () => {
    const secret = async (json) => {
      const r = await f.request("PUT", path, { key: f.owner.apiKey, json: { webhook: json } });
      assert.equal(r.status, 200, r.text);
      return r.data.destinations.find((d) => d.kind === "webhook").secret;
    };
    const url = `${f.webhooks.url}/hooks/fanline`;
    const first = await secret({ url });
    assert.match(first, /^whsec_/);
    assert.equal(await secret({ url: `${url}?moved=1` }), first, "a new URL keeps the secret receivers trust");
    const rotated = await secret({ url, rotate_secret: true });
    assert.match(rotated, /^whsec_/);
    assert.notEqual(rotated, first);
    assert.equal(await secret({ url, rotate_secret: false }), rotated);
    const bad = await f.request("PUT", path, { key: f.owner.apiKey, json: { webhook: { url, rotate_secret: "yes" } } });
    assert.deepEqual([bad.status, bad.data.error.code], [400, "invalid_destination"]);
  });
});
