// A deployment missing what it needs refuses work instead of running unsafely (issue 10,
// items 14 and 17): a Worker without its rate-limit bindings fails closed, and a hub
// without PUBLIC_ORIGIN (outside local development) answers every request with a clear 503
// and its cron does nothing, rather than sending notifications with broken relative links.
// A hub without CREDENTIALS_KEY refuses to store credentials (destinations, Patreon, channel
// tokens); one mid-rotation still reads what the previous key sealed.
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { describe, test } from "node:test";
import { eventually, settle, startFixture } from "./support/fixture.mjs";
import { patreonMember, sendPatreon } from "../scripts/fakes/patreon.mjs";

describe("Workers deployed without their rate limiters", () => {
  test("refuse intake (the app's) and sign-in mail (the hub's) with a 503 that names no configuration", async () => {
    const f = await startFixture({ withoutRatelimits: true });
    try {
      const r = await f.submit("song-request", { song: "unlimited?" });
      assert.equal(r.status, 503, r.text);
      assert.equal(r.data.error.code, "not_configured");
      assert.doesNotMatch(r.data.error.message, /LIMITER|binding/);
      const mail = await f.request("POST", "/apps/shoutout/auth/email/start", { json: { email: "x@example.com" } });
      assert.equal(mail.status, 503, mail.text);
      assert.doesNotMatch(mail.data.error.message, /LIMITER|binding/);
      assert.equal(f.mail.mails.length, 0);
    } finally {
      await f.stop();
    }
  });
});

describe("a hub deployed without PUBLIC_ORIGIN", () => {
  test("answers every request with a clear 503 and its cron sends nothing", async () => {
    const f = await startFixture({ hubVars: { PUBLIC_ORIGIN: "", ALLOW_HTTP_DESTINATIONS: "false" } });
    try {
      for (const path of ["/health", "/", "/api/apps", "/apps/song-request/"]) {
        const r = await f.request("GET", path);
        assert.equal(r.status, 503, path);
        assert.equal(r.data.error.code, "not_configured", path);
      }
      const intake = await f.submit("song-request", { song: "lost link" });
      assert.equal(intake.status, 503);
      const cron = await fetch(`${f.url}/cdn-cgi/local/scheduled?cron=${encodeURIComponent("*/10 * * * *")}&time=${Date.now() + 7 * 24 * 3600 * 1000}`);
      assert.equal(cron.status, 200);
      await settle(1000);
      assert.equal(f.discord.messages?.length ?? 0, 0);
      assert.equal(f.mail.mails.length, 0);
    } finally {
      await f.stop();
    }
  });
});

// Destination credentials are sealed under the hub's CREDENTIALS_KEY (review L30,
// docs/operations.md#credentials-at-rest). Sealed text is made here with Node's own AES-GCM,
// so the format the docs describe is checked against an independent implementation.
function sealUnder(keyHex, slug, kind, settings, table = "destinations") {
  const key = Buffer.from(keyHex, "hex");
  const keyId = crypto.createHash("sha256").update(Buffer.concat([Buffer.from("fanline sealing key id\0"), key])).digest().subarray(0, 4).toString("hex");
  const nonce = crypto.randomBytes(12);
  const cipher = crypto.createCipheriv("aes-256-gcm", key, nonce);
  cipher.setAAD(Buffer.from(`fanline ${table}\0${slug}\0${kind}`));
  const plaintext = typeof settings === "string" ? settings : JSON.stringify(settings);
  const sealed = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  return { keyId, text: `sealed:v1:${keyId}:${Buffer.concat([nonce, sealed]).toString("base64")}` };
}

describe("a hub whose CREDENTIALS_KEY was rotated", () => {
  test("reads what the previous key sealed, re-seals it under the new key, and treats an unknown key's rows as not set up", async () => {
    const previous = crypto.randomBytes(32).toString("hex");
    const current = crypto.randomBytes(32).toString("hex");
    const f = await startFixture({ hubVars: { CREDENTIALS_KEY: current, CREDENTIALS_KEY_PREVIOUS: previous } });
    try {
      const stored = (kind) => f.stack.d1Rows(`SELECT settings FROM destinations WHERE app_slug = 'song-request' AND kind = '${kind}'`)[0].settings;
      const old = sealUnder(previous, "song-request", "discord", { webhook_url: f.discord.webhookUrl });
      f.stack.d1(`UPDATE destinations SET settings = '${old.text}' WHERE app_slug = 'song-request' AND kind = 'discord'`);
      const lost = sealUnder(crypto.randomBytes(32).toString("hex"), "song-request", "webhook", { url: "http://127.0.0.1:9/x", secret: "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD" });
      f.stack.d1(`UPDATE destinations SET settings = '${lost.text}' WHERE app_slug = 'song-request' AND kind = 'webhook'`);

      const listed = await f.request("GET", "/api/apps/song-request/destinations", { key: f.owner.apiKey });
      assert.deepEqual(listed.data.destinations.map((d) => d.kind), ["discord"], "the previous key's row reads; the unknown key's does not");
      const r = await f.submit("song-request", { song: "Old Key" });
      assert.equal(r.status, 201, r.text);
      await eventually(() => f.discord.messages.some((m) => JSON.stringify(m.json).includes(r.data.id)), { what: "Discord message from a row the previous key sealed" });
      const skipped = await eventually(async () => {
        const list = (await f.request("GET", "/api/apps/song-request/deliveries", { key: f.owner.apiKey })).data.deliveries;
        return list.find((d) => d.request_id === r.data.id && d.destination === "webhook" && d.state === "skipped");
      }, { what: "the unreadable webhook row's delivery kept as skipped" });
      assert.ok(skipped);

      await fetch(`${f.url}/cdn-cgi/local/scheduled?cron=${encodeURIComponent("*/10 * * * *")}&time=${Date.now()}`);
      const currentId = sealUnder(current, "x", "y", {}).keyId;
      await eventually(() => stored("discord").startsWith(`sealed:v1:${currentId}:`), { what: "the row re-sealed under the new key" });
      assert.ok(stored("webhook").startsWith(`sealed:v1:${lost.keyId}:`), "a row no key opens is left for the creator to save again");
      const again = await f.request("GET", "/api/apps/song-request/destinations", { key: f.owner.apiKey });
      assert.equal(again.data.destinations.find((d) => d.kind === "discord").webhook_url.endsWith(f.discord.webhookUrl.slice(-4)), true);

      // A Patreon webhook secret the previous key sealed verifies, and the cron re-seals it.
      const secret = crypto.randomBytes(20).toString("hex");
      const patreonSecret = sealUnder(previous, "song-request", "patreon", secret, "membership_sources");
      const settings = JSON.stringify({ campaign_id: "6161", tiers: {} });
      f.stack.d1(`INSERT INTO membership_sources (app_slug, source, lookup, secret, settings, updated_at) VALUES ('song-request', 'patreon', '6161', '${patreonSecret.text}', '${settings}', 0)`);
      const pledge = await sendPatreon(`${f.url}/webhooks/patreon`, { trigger: "members:pledge:create", document: patreonMember({ userId: "61", campaignId: "6161", tiers: [] }), secret });
      assert.deepEqual([pledge.status, pledge.data.outcome], [200, "applied"], pledge.text);
      await fetch(`${f.url}/cdn-cgi/local/scheduled?cron=${encodeURIComponent("*/10 * * * *")}&time=${Date.now()}`);
      const storedSecret = () => f.stack.d1Rows("SELECT secret FROM membership_sources WHERE app_slug = 'song-request' AND source = 'patreon'")[0].secret;
      await eventually(() => storedSecret().startsWith(`sealed:v1:${currentId}:`), { what: "the Patreon secret re-sealed under the new key" });
    } finally {
      await f.stop();
    }
  });
});

describe("a hub deployed without CREDENTIALS_KEY", () => {
  test("refuses to save credentials with a clear 503 and still delivers through settings stored before sealing", async () => {
    const f = await startFixture({ hubVars: { CREDENTIALS_KEY: "" } });
    try {
      const put = await f.request("PUT", "/api/apps/song-request/destinations", { key: f.owner.apiKey, json: { discord_webhook_url: f.discord.webhookUrl } });
      assert.deepEqual([put.status, put.data.error.code], [503, "not_configured"], put.text);
      assert.doesNotMatch(put.data.error.message, /CREDENTIALS_KEY/, "configuration keys are not named to callers");
      const patreon = await f.request("PUT", "/api/apps/song-request/patreon", { key: f.owner.apiKey, json: { webhook_secret: "a-patreon-secret", campaign_id: "7171", tiers: {} } });
      assert.deepEqual([patreon.status, patreon.data.error.code], [503, "not_configured"], patreon.text);
      for (const provider of ["twitch", "youtube"]) {
        const connect = await f.request("POST", `/api/apps/song-request/${provider}`, { key: f.owner.apiKey, json: {} });
        assert.deepEqual([connect.status, connect.data.error.code], [503, "not_configured"], `${provider}: ${connect.text}`);
      }
      const r = await f.submit("song-request", { song: "Plain Row" });
      await eventually(() => f.discord.messages.some((m) => JSON.stringify(m.json).includes(r.data.id)), { what: "Discord message from a plain row" });
    } finally {
      await f.stop();
    }
  });
});
