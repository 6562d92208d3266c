// Memberships fans already pay for elsewhere (issue 16, items 4 and 5). Ko-fi: a form post with
// its `data` JSON, the account's verification token, once per message_id, turned into credits
// or a tier for the fan who gave the same email. Patreon: `members:pledge:*` signed with
// HMAC-MD5 (computed by Node's crypto in scripts/fakes/patreon.mjs), applied once and in
// order to the creator's tier mapping, for patrons signed in with Patreon.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { eventually, startFixture } from "./support/fixture.mjs";
import { signInAs } from "./support/signin.mjs";
import { kofiPayment, sendKofi } from "../scripts/fakes/kofi.mjs";
import { patreonMember, sendPatreon } from "../scripts/fakes/patreon.mjs";

let f;
before(async () => (f = await startFixture()));
after(async () => f?.stop());

const APP = "song-request";
const TOKEN = crypto.randomUUID();
const me = (fanToken, headers = {}) => f.request("GET", `/apps/${APP}/api/me`, { headers: { "fan-token": fanToken, ...headers } });
const kofi = (fields) => sendKofi(`${f.url}/webhooks/kofi`, kofiPayment({ verification_token: TOKEN, ...fields }));

/** A fan who bought a pack on the web and gave `email`. */
async function fanWithEmail(email) {
  const bought = await f.request("POST", `/apps/${APP}/api/credits/checkout`, { json: { pack: "five_priority", email } });
  assert.equal(bought.status, 201, bought.text);
  await f.stripe.pay(bought.data.checkout_session_id);
  return bought.data.fan_token;
}

describe("Ko-fi", () => {
  before(async () => {
    const r = await f.request("PUT", `/api/apps/${APP}/kofi`, {
      key: f.owner.apiKey,
      json: { verification_token: TOKEN, credit_price: 300, tiers: { Gold: "fan_club" }, shop_items: { "1a2b3c4d5e": 5 } },
    });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.data.webhook_url, `${f.url}/webhooks/kofi`);
    assert.equal(JSON.stringify(r.data).includes(TOKEN), false, "the token is never shown again");
  });

  test("settings are checked against the app, and only its creator sees them", async () => {
    const bad = await f.request("PUT", `/api/apps/${APP}/kofi`, { key: f.owner.apiKey, json: { verification_token: TOKEN, tiers: { Gold: "no_such_tier" } } });
    assert.equal(bad.status, 400);
    assert.equal(bad.data.error.code, "invalid_settings");
    assert.equal((await f.request("GET", `/api/apps/${APP}/kofi`, { key: f.other.apiKey })).status, 404);
    const noPacks = await f.request("PUT", "/api/apps/shoutout/kofi", { key: f.owner.apiKey, json: { verification_token: crypto.randomUUID(), credit_price: 100 } });
    assert.equal(noPacks.status, 400);
  });

  test("a donation becomes credits once, even when delivered twice", async () => {
    const fanToken = await fanWithEmail("kofi.fan@example.com");
    assert.equal((await me(fanToken)).data.credits.balance, 5);
    const payment = { message_id: crypto.randomUUID(), amount: "7.50", email: "Kofi.Fan@Example.com" };
    const first = await kofi(payment);
    const again = await kofi(payment);
    assert.deepEqual([first.status, first.data.outcome, again.status, again.data.outcome], [200, "applied", 200, "duplicate"]);
    const account = (await me(fanToken)).data;
    assert.equal(account.credits.balance, 7, "7.50 at 3.00 a credit is 2 credits, once");
    assert.equal(account.credits.ledger.filter((e) => e.reason === "kofi").length, 1);
  });

  test("a wrong verification token is refused and changes nothing", async () => {
    const r = await sendKofi(`${f.url}/webhooks/kofi`, kofiPayment({ verification_token: crypto.randomUUID(), email: "kofi.fan@example.com", amount: "30.00" }));
    assert.equal(r.status, 403);
    assert.equal(r.data.error.code, "invalid_token");
    const notForm = await fetch(`${f.url}/webhooks/kofi`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "data=nope" });
    assert.equal(notForm.status, 400);
  });

  test("a membership month gives the mapped tier, a shop order credits, an unknown email is kept for the creator", async () => {
    const fanToken = await fanWithEmail("member@example.com");
    const member = await kofi({ type: "Subscription", tier_name: "Gold", is_subscription_payment: true, is_first_subscription_payment: true, amount: "5.00", email: "member@example.com" });
    assert.equal(member.data.outcome, "applied");
    assert.equal((await me(fanToken)).data.tier?.id, "fan_club");
    const discounted = await f.submit(APP, { song: "Gold Digger" }, { addOns: ["priority"], headers: { "fan-token": fanToken } });
    assert.equal(discounted.status, 201, discounted.text);
    assert.equal(discounted.data.price.amount, 225, "the tier's 25% off the 3.00 priority");

    const shop = await kofi({ type: "Shop Order", amount: "10.00", email: "member@example.com", shop_items: [{ direct_link_code: "1a2b3c4d5e", variation_name: "", quantity: 2 }] });
    assert.equal(shop.data.outcome, "applied");
    assert.equal((await me(fanToken)).data.credits.balance, 15);

    const stranger = await kofi({ amount: "9.00", email: "never.bought@example.com" });
    assert.equal(stranger.data.outcome, "unknown_fan");
    const shown = await f.request("GET", `/api/apps/${APP}/kofi`, { key: f.owner.apiKey });
    const row = shown.data.payments.find((p) => p.email === "never.bought@example.com");
    assert.deepEqual([row.outcome, row.amount, row.credits], ["unknown_fan", 900, 0]);
  });
});

describe("Patreon", () => {
  const SECRET = crypto.randomBytes(24).toString("hex");
  const CAMPAIGN = "4242";
  const send = (trigger, document, options = {}) => sendPatreon(`${f.url}/webhooks/patreon`, { trigger, document, secret: SECRET, ...options });

  before(async () => {
    const r = await f.request("PUT", `/api/apps/${APP}/patreon`, { key: f.owner.apiKey, json: { webhook_secret: SECRET, campaign_id: CAMPAIGN, tiers: { "111": "fan_club" } } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.data.sign_in_url, `${f.url}/apps/${APP}/auth/patreon/start`);
    assert.ok(!JSON.stringify(r.data).includes(SECRET));
  });

  test("a pledge gives a signed-in patron the tier's discount and priority; deleting it takes them away", async () => {
    const userId = String(crypto.randomInt(1e6, 1e7));
    const session = await patreonSession(userId);
    const who = await f.request("GET", `/apps/${APP}/api/session`, { headers: { "fanline-session": session } });
    assert.deepEqual([who.data.identity.provider, who.data.identity.sub], ["patreon", userId]);
    const price = async () => {
      const r = await f.submit(APP, { song: "Patron Saint" }, { addOns: ["priority"], headers: { "fanline-session": session } });
      assert.equal(r.status, 201, r.text);
      return r.data.price.amount;
    };
    assert.equal(await price(), 300, "no pledge yet");

    const memberId = crypto.randomUUID();
    const created = await send("members:pledge:create", patreonMember({ memberId, userId, campaignId: CAMPAIGN, tiers: ["111"] }));
    assert.deepEqual([created.status, created.data.outcome], [200, "applied"]);
    assert.equal(await price(), 225);

    const deletedDoc = patreonMember({ memberId, userId, campaignId: CAMPAIGN, tiers: ["111"], attributes: { patron_status: "former_patron" } });
    const deleted = await send("members:pledge:delete", deletedDoc);
    assert.equal(deleted.data.outcome, "applied");
    assert.equal(await price(), 300, "the tier ends with the pledge");
    const twice = await send("members:pledge:delete", deletedDoc);
    assert.equal(twice.data.outcome, "duplicate");
  });

  test("a stale update never overrides a newer event", async () => {
    const userId = String(crypto.randomInt(1e6, 1e7));
    const session = await patreonSession(userId);
    const memberId = crypto.randomUUID();
    const at = (iso) => ({ last_charge_date: iso, pledge_relationship_start: "2026-11-01T00:00:00.000+00:00" });
    const newer = await send("members:pledge:update", patreonMember({ memberId, userId, campaignId: CAMPAIGN, tiers: ["111"], attributes: at("2026-12-01T10:00:00.000+00:00") }));
    assert.equal(newer.data.outcome, "applied");
    const stale = await send("members:pledge:update", patreonMember({ memberId, userId, campaignId: CAMPAIGN, tiers: [], attributes: { ...at("2026-11-01T10:00:00.000+00:00"), patron_status: "declined_patron" } }));
    assert.equal(stale.data.outcome, "already_settled");
    const r = await f.submit(APP, { song: "Still Gold" }, { addOns: ["priority"], headers: { "fanline-session": session } });
    assert.equal(r.data.price.amount, 225, "the newer event's tier stands");
  });

  test("the webhook secret is sealed at rest: a secret stored before sealing still verifies and the cron seals it; copied to another app it does not open", async () => {
    const stored = (app) => f.stack.d1Rows(`SELECT secret FROM membership_sources WHERE app_slug = '${app}' AND source = 'patreon'`)[0]?.secret;
    const sealedSecret = stored(APP);
    assert.match(sealedSecret, /^sealed:v1:[0-9a-f]{8}:/);
    assert.ok(!sealedSecret.includes(SECRET), "no secret in clear");
    const pledge = (campaignId) => send("members:pledge:create", patreonMember({ memberId: crypto.randomUUID(), userId: String(crypto.randomInt(1e6, 1e7)), campaignId, tiers: ["111"] }));

    // Sealed text is bound to its app: the same text under shoutout's campaign verifies nothing.
    const settings = JSON.stringify({ campaign_id: "5151", tiers: {} });
    f.stack.d1(`INSERT INTO membership_sources (app_slug, source, lookup, secret, settings, updated_at) VALUES ('shoutout', 'patreon', '5151', '${sealedSecret}', '${settings}', 0)`);
    const copied = await pledge("5151");
    assert.deepEqual([copied.status, copied.data.error?.code], [400, "invalid_signature"], copied.text);
    f.stack.d1("DELETE FROM membership_sources WHERE app_slug = 'shoutout'");

    // A row as stored before sealing (the secret itself) still verifies, and the cron seals it.
    f.stack.d1(`UPDATE membership_sources SET secret = '${SECRET}' WHERE app_slug = '${APP}' AND source = 'patreon'`);
    assert.equal((await pledge(CAMPAIGN)).data.outcome, "applied");
    await fetch(`${f.url}/cdn-cgi/local/scheduled?cron=${encodeURIComponent("*/10 * * * *")}&time=${Date.now()}`);
    await eventually(() => stored(APP).startsWith("sealed:v1:"), { what: "the cron sealing the secret" });
    assert.ok(!stored(APP).includes(SECRET));
    assert.equal((await pledge(CAMPAIGN)).data.outcome, "applied", "the re-sealed secret verifies");
  });

  test("a bad signature or an unknown campaign is refused", async () => {
    const doc = patreonMember({ userId: "1", campaignId: CAMPAIGN, tiers: ["111"] });
    const forged = await send("members:pledge:create", doc, { signature: "0".repeat(32) });
    assert.equal(forged.status, 400);
    assert.equal(forged.data.error.code, "invalid_signature");
    const elsewhere = await send("members:pledge:create", patreonMember({ userId: "1", campaignId: "9999", tiers: ["111"] }));
    assert.equal(elsewhere.status, 400);
  });
});

/** Signs in with Patreon at the app (the local OpenID provider answers as Patreon's JSON:API identity). */
const patreonSession = (userId) => signInAs(f, APP, "patreon", { data: { id: userId, type: "user", attributes: { full_name: "Pat Ron", email: "patron@example.com" } } });
