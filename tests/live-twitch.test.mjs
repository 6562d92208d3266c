// Twitch live requests (issue 16, item 1) against a local Twitch (scripts/fakes/twitch.mjs)
// that speaks OAuth, Helix and EventSub with Twitch's auth checks, and signs every delivery
// with Node's crypto as Twitch does. A channel is connected in one action; a chat command and
// a channel-points redemption become requests through the app's own intake; the bot answers
// in chat; a declined redemption gives the points back; a message acts once, and an old or
// badly signed one is refused. Ends with DJ Luna's stream, end to end.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import path from "node:path";
import { consolePage, launchBrowser } from "./support/browser.mjs";
import { eventually, startFixture } from "./support/fixture.mjs";
import { signInAs } from "./support/signin.mjs";

let f, connection;
before(async () => {
  f = await startFixture();
  connection = await connect();
});
after(async () => f?.stop());

const APP = "song-request";
const said = (pattern) => f.twitch.chat.find((m) => pattern.test(m.text));
const heard = (pattern, what = `a chat reply matching ${pattern}`) => eventually(() => said(pattern), { what });
const requestsOf = async (predicate) => (await f.request("GET", `/api/apps/${APP}/requests?limit=200`, { key: f.owner.apiKey })).data.requests.filter(predicate);

/** The creator's one action, then the broadcaster approving at Twitch. */
async function connect() {
  const started = await f.request("POST", `/api/apps/${APP}/twitch`, { key: f.owner.apiKey, json: { reward: { title: "Request a song", cost: 500 } } });
  assert.equal(started.status, 200, started.text);
  const authorize = new URL(started.data.authorize_url);
  assert.equal(authorize.origin + authorize.pathname, `${f.twitch.url}/oauth2/authorize`);
  assert.match(authorize.searchParams.get("scope"), /channel:manage:redemptions/);
  assert.match(authorize.searchParams.get("scope"), /user:write:chat/);
  const atTwitch = await fetch(authorize, { redirect: "manual" });
  const callback = await fetch(atTwitch.headers.get("location"), { redirect: "manual" });
  const page = await callback.text();
  assert.equal(callback.status, 200, page);
  assert.match(page, /Twitch connected/);
  // Each subscription is enabled once its challenge came back verbatim.
  const shown = await eventually(async () => {
    const r = await f.request("GET", `/api/apps/${APP}/twitch`, { key: f.owner.apiKey });
    return r.data.subscriptions?.length === 2 && r.data.subscriptions.every((s) => s.status === "enabled") && r.data;
  }, { what: "both subscriptions enabled" }).catch(async (e) => {
    const r = await f.request("GET", `/api/apps/${APP}/twitch`, { key: f.owner.apiKey });
    throw new Error(`${e.message}: ${r.text} / deliveries ${JSON.stringify(f.twitch.deliveries)}`);
  });
  // Twitch's side flips once it has read the hub's answer, which may be just after the hub
  // recorded the subscription as enabled.
  await eventually(() => [...f.twitch.subscriptions.values()].every((s) => s.status === "enabled"), { what: "both subscriptions enabled at Twitch" });
  assert.deepEqual([...f.twitch.subscriptions.values()].map((s) => s.status), ["enabled", "enabled"]);
  return shown;
}

describe("connecting a channel", () => {
  test("one action subscribes to the channel's chat and the reward Fanline created, with the challenge answered", async () => {
    assert.equal(connection.connected, true);
    assert.deepEqual(connection.channel, { id: f.twitch.broadcaster.id, login: f.twitch.broadcaster.login });
    assert.equal(connection.command, "!sr");
    assert.ok(f.twitch.rewards.get(connection.reward_id), "the reward was created by Fanline's client");
    assert.deepEqual(connection.subscriptions.map((s) => s.type).sort(), ["channel.channel_points_custom_reward_redemption.add", "channel.chat.message"]);
    const chatSub = [...f.twitch.subscriptions.values()].find((s) => s.type === "channel.chat.message");
    assert.deepEqual(chatSub.condition, { broadcaster_user_id: f.twitch.broadcaster.id, user_id: f.twitch.broadcaster.id });
    assert.equal(chatSub.transport.callback, `${f.url}/webhooks/twitch`);
    // A challenge delivered again is answered again, as plain text.
    const again = await f.twitch.deliver(chatSub, "webhook_callback_verification", { challenge: "pogchamp-kappa-360noscope-vohiyo", subscription: { id: chatSub.id, type: chatSub.type, status: "webhook_callback_verification_pending" } });
    assert.deepEqual([again.status, again.text], [200, "pogchamp-kappa-360noscope-vohiyo"]);
  });

  test("another creator cannot see or change the connection, and an app without a chat section cannot connect", async () => {
    assert.equal((await f.request("GET", `/api/apps/${APP}/twitch`, { key: f.other.apiKey })).status, 404);
    const noChat = await f.request("POST", "/api/apps/shoutout/twitch", { key: f.owner.apiKey });
    assert.equal(noChat.status, 409);
    assert.equal(noChat.data.error.code, "chat_not_set_up");
    const replayed = await fetch(`${f.url}/twitch/callback?state=not-a-state&code=x`);
    assert.equal(replayed.status, 400);
    assert.equal((await replayed.json()).error.code, "invalid_state");
  });
});

describe("chat commands", () => {
  test("`!sr Song - Artist` becomes the viewer's request, and the bot answers with its place in the queue", async () => {
    const viewer = f.twitch.newViewer("wonder_fan");
    const r = await f.twitch.say(viewer, "!sr Wonderwall - Oasis");
    assert.equal(r.status, 204, r.text);
    const reply = await heard(/^@wonder_fan "Wonderwall - Oasis" is #\d+ in the queue\.$/);
    assert.equal(reply.sender_id, f.twitch.broadcaster.id);
    const [request] = await requestsOf((q) => q.fields.song === "Wonderwall");
    assert.deepEqual([request.fields.artist, request.fields.twitch_handle, request.status], ["Oasis", "wonder_fan", "queued"]);
    assert.deepEqual([request.identity.provider, request.identity.sub, request.identity.live.channel], ["twitch", viewer.id, f.twitch.broadcaster.id]);
    // Ordinary chat is not a command.
    assert.equal((await f.twitch.say(viewer, "great stream!")).status, 204);
    assert.equal((await f.twitch.say(viewer, "!srx nope")).status, 204);
    assert.equal((await requestsOf((q) => q.identity?.sub === viewer.id)).length, 1);
  });

  test("the same EventSub message twice acts once", async () => {
    const viewer = f.twitch.newViewer("twice_fan");
    const messageId = crypto.randomUUID();
    const first = await f.twitch.say(viewer, "!sr Once Only - The Dedupes", { messageId });
    const second = await f.twitch.say(viewer, "!sr Once Only - The Dedupes", { messageId });
    assert.deepEqual([first.status, second.status], [204, 204]);
    await heard(/^@twice_fan "Once Only/);
    assert.equal((await requestsOf((q) => q.fields.song === "Once Only")).length, 1);
  });

  test("an old or badly signed message is refused and changes nothing", async () => {
    const viewer = f.twitch.newViewer("forger");
    const old = await f.twitch.say(viewer, "!sr Stale - Replay", { timestamp: new Date(Date.now() - 11 * 60 * 1000).toISOString() });
    assert.equal(old.status, 400);
    assert.equal(JSON.parse(old.text).error.code, "message_too_old");
    const forged = await f.twitch.say(viewer, "!sr Forged - Song", { signWith: "not-the-secret-at-all" });
    assert.equal(forged.status, 400);
    assert.equal(JSON.parse(forged.text).error.code, "invalid_signature");
    const unsigned = await fetch(`${f.url}/webhooks/twitch`, { method: "POST", headers: { "content-type": "application/json", "twitch-eventsub-message-type": "notification" }, body: "{}" });
    assert.equal(unsigned.status, 400);
    assert.equal((await requestsOf((q) => ["Stale", "Forged"].includes(q.fields.song))).length, 0);
  });

  test("moderation, the block list, capacity, quotas and usage answer in chat without saying which rule fired", async () => {
    const viewer = f.twitch.newViewer("spammy");
    assert.equal((await f.twitch.say(viewer, "!sr free followers - at my site")).status, 204);
    await heard(/^@spammy sorry, that request can't be taken\.$/);
    // Long enough for any outbox reply to have been sent: the blocked text is never echoed.
    await new Promise((r) => setTimeout(r, 2500));
    assert.ok(!f.twitch.chat.some((m) => /free followers|blocked|term/i.test(m.text)), "neither the rule nor the text is repeated");
    assert.equal(f.twitch.chat.filter((m) => m.text.startsWith("@spammy")).length, 1, "one answer");
    const blocked = f.twitch.newViewer("blocked_one");
    const block = await f.request("POST", "/api/blocklist", { key: f.owner.apiKey, json: { kind: "fan", value: `twitch:${blocked.id}`, reason: "spam in chat" } });
    assert.equal(block.status, 201, block.text);
    await f.twitch.say(blocked, "!sr A Fine Song - Nobody");
    await heard(/^@blocked_one sorry, that request can't be taken\.$/);
    // Capacity and per-viewer quotas, as the creator sets them, answer in chat too.
    const limits = (json) => f.request("PUT", `/api/apps/${APP}/limits`, { key: f.owner.apiKey, json });
    assert.equal((await limits({ capacity: 0 })).status, 200);
    await f.twitch.say(f.twitch.newViewer("too_late"), "!sr Full House - Nobody");
    await heard(/^@too_late the queue is full right now; try again when it has room\.$/);
    assert.equal((await limits({ max_per_fan_per_day: 1 })).status, 200);
    const eager = f.twitch.newViewer("eager_one");
    await f.twitch.say(eager, "!sr First - One");
    await heard(/^@eager_one "First - One" is #\d+ in the queue\.$/);
    await f.twitch.say(eager, "!sr Second - One");
    await heard(/^@eager_one you've reached your request limit for now; try again later\.$/);
    assert.equal((await f.request("DELETE", `/api/apps/${APP}/limits`, { key: f.owner.apiKey })).status, 200);
    const quiet = f.twitch.newViewer("quiet_one");
    await f.twitch.say(quiet, "!sr");
    await heard(/^@quiet_one try: !sr Song - Artist$/);
  });
});

describe("channel-points redemptions", () => {
  test("a redemption becomes a request; declining it cancels the redemption at Twitch, so the points come back", async () => {
    const viewer = f.twitch.newViewer("points_fan");
    const { status, redemption } = await f.twitch.redeem(viewer, connection.reward_id, "Africa - Toto");
    assert.equal(status, 204);
    await heard(/^@points_fan "Africa - Toto" is #\d+ in the queue\.$/);
    const [request] = await requestsOf((q) => q.identity?.sub === viewer.id);
    assert.deepEqual(request.identity.live.redemption, { reward_id: connection.reward_id, id: redemption.id });
    const declined = await f.request("POST", `/apps/${APP}/api/requests/${request.id}/decline`, { key: f.owner.apiKey, json: { reason: "not tonight" } });
    assert.equal(declined.status, 200, declined.text);
    await eventually(() => f.twitch.redemptions.get(redemption.id).status === "CANCELED", { what: "the redemption cancelled at Twitch" });
    await heard(/^@points_fan "Africa - Toto" wasn't taken; your points are back\.$/);
    const patch = f.twitch.calls.find((c) => c.method === "PATCH" && c.query.id === redemption.id);
    assert.deepEqual([patch.query.broadcaster_id, patch.query.reward_id, patch.json.status], [f.twitch.broadcaster.id, connection.reward_id, "CANCELED"]);
  });

  test("a refused redemption is cancelled at once", async () => {
    const viewer = f.twitch.newViewer("points_spam");
    const { redemption } = await f.twitch.redeem(viewer, connection.reward_id, "crypto giveaway - now");
    await eventually(() => f.twitch.redemptions.get(redemption.id).status === "CANCELED", { what: "the refused redemption cancelled" });
    await heard(/^@points_spam sorry, that request can't be taken\.$/);
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(f.twitch.calls.filter((c) => c.method === "PATCH" && c.query.id === redemption.id).length, 1, "cancelled once");
  });

  test("a refused redemption on a lapsed token is cancelled and answered: the second call uses the pair the first refreshed", async () => {
    // Twitch spends a refresh token on use, so answering with the pair read before the cancel
    // refreshed it would be refused and the viewer would hear nothing.
    const refreshes = () => f.twitch.calls.filter((c) => c.method === "POST" && c.path === "/oauth2/token" && new URLSearchParams(c.raw).get("grant_type") === "refresh_token").length;
    f.stack.d1(`UPDATE twitch_channels SET token_expires_at = 0 WHERE app_slug = '${APP}'`);
    const refreshesBefore = refreshes();
    const viewer = f.twitch.newViewer("lapsed_spam");
    const { redemption } = await f.twitch.redeem(viewer, connection.reward_id, "crypto giveaway - again");
    await eventually(() => f.twitch.redemptions.get(redemption.id).status === "CANCELED", { what: "the refused redemption cancelled" });
    await heard(/^@lapsed_spam sorry, that request can't be taken\.$/, "the refusal said after the refresh");
    assert.equal(refreshes() - refreshesBefore, 1, "refreshed once for both calls");
  });

  test("a revocation is recorded on the connection", async () => {
    const sub = [...f.twitch.subscriptions.values()].find((s) => s.type.startsWith("channel.channel_points"));
    const r = await f.twitch.revoke(sub.id);
    assert.equal(r.status, 204);
    const shown = await f.request("GET", `/api/apps/${APP}/twitch`, { key: f.owner.apiKey });
    assert.equal(shown.data.subscriptions.find((s) => s.id === sub.id).status, "authorization_revoked");
  });
});

// Review L30: the channel's tokens let anyone speak in the creator's chat and manage their
// rewards, so they are stored sealed under CREDENTIALS_KEY (docs/operations.md).
describe("the channel's tokens at rest", () => {
  test("are sealed; a pair stored before sealing still works and the cron seals it; a lapsed token is refreshed and stored sealed", async () => {
    const stored = () => f.stack.d1Rows(`SELECT access_token, refresh_token FROM twitch_channels WHERE app_slug = '${APP}'`)[0];
    const sealed = /^sealed:v1:[0-9a-f]{8}:/;
    const first = stored();
    assert.match(first.access_token, sealed);
    assert.match(first.refresh_token, sealed);

    // Tokens as rows held them before sealing: the newest user token and the refresh token Twitch would take.
    const access = [...f.twitch.tokens.entries()].filter(([, t]) => t.kind === "user").at(-1)[0];
    const refresh = [...f.twitch.refreshTokens.keys()].at(-1);
    f.stack.d1(`UPDATE twitch_channels SET access_token = '${access}', refresh_token = '${refresh}' WHERE app_slug = '${APP}'`);
    const viewer = f.twitch.newViewer("vault_fan");
    await f.twitch.say(viewer, "!sr Plain Sight - Kaleida");
    await heard(/^@vault_fan "Plain Sight - Kaleida" is #\d+ in the queue\.$/, "a reply sent with a plain stored token");
    await fetch(`${f.url}/cdn-cgi/local/scheduled?cron=${encodeURIComponent("*/10 * * * *")}&time=${Date.now()}`);
    await eventually(() => sealed.test(stored().access_token) && sealed.test(stored().refresh_token), { what: "the cron sealing the plain pair" });
    assert.ok(!JSON.stringify(stored()).includes(access) && !JSON.stringify(stored()).includes(refresh));

    // A lapsed token is refreshed (Twitch rotates the refresh token) and the new pair stored sealed.
    const before = stored();
    f.stack.d1(`UPDATE twitch_channels SET token_expires_at = 0 WHERE app_slug = '${APP}'`);
    await f.twitch.say(viewer, "!sr Fresh Start - Tokens");
    await heard(/^@vault_fan "Fresh Start - Tokens" is #\d+ in the queue\.$/, "a reply sent after refreshing");
    const after = stored();
    assert.match(after.refresh_token, sealed);
    assert.notEqual(after.refresh_token, before.refresh_token, "the rotated refresh token was stored");
    assert.ok(!f.twitch.refreshTokens.has(refresh), "the old refresh token was spent");
  });
});

describe("DJ Luna's stream, end to end", () => {
  test("a linked viewer types !sr, pays with credits, shows on the overlay and in Discord, is completed, and hears back in chat", async () => {
    const viewer = f.twitch.newViewer("luna_superfan");
    // The viewer bought credits on the web and linked their Twitch to them.
    const bought = await f.request("POST", `/apps/${APP}/api/credits/checkout`, { json: { pack: "five_priority" } });
    assert.equal(bought.status, 201, bought.text);
    await f.stripe.pay(bought.data.checkout_session_id);
    const fanToken = bought.data.fan_token;
    const session = await signInAs(f, APP, "twitch", { sub: viewer.id, preferred_username: viewer.login });
    const unlinked = await f.request("POST", `/apps/${APP}/api/me/links`, { headers: { "fan-token": fanToken } });
    assert.equal(unlinked.status, 401, "linking needs the Twitch sign-in too");
    const linked = await f.request("POST", `/apps/${APP}/api/me/links`, { headers: { "fan-token": fanToken, "fanline-session": session } });
    assert.equal(linked.status, 200, linked.text);
    assert.deepEqual([linked.data.identity.provider, linked.data.identity.sub], ["twitch", viewer.id]);

    await f.twitch.say(viewer, "!sr Midnight City - M83");
    await heard(/^@luna_superfan "Midnight City - M83" is #1 in the queue\.$/, "the priority request first in the queue");
    const [request] = await requestsOf((q) => q.fields.song === "Midnight City");
    assert.deepEqual([request.status, request.priority, request.paid_with], ["queued", true, "credits"]);
    const me = await f.request("GET", `/apps/${APP}/api/me`, { headers: { "fan-token": fanToken } });
    assert.equal(me.data.credits.balance, 4, "one credit spent");

    const overlayLink = (await f.request("GET", `/api/apps/${APP}/overlay`, { key: f.owner.apiKey })).data;
    const overlay = await eventually(async () => {
      const r = await f.request("GET", `/apps/${APP}/api/overlay?token=${overlayLink.token}&next=10`);
      return r.data.next.some((e) => e.title === "Midnight City - M83" && e.by === "luna_superfan") && r.data;
    }, { what: "the request on the overlay" });
    assert.ok(overlay);
    await eventually(() => f.discord.messages.some((m) => JSON.stringify(m.json).includes("Midnight City")), { what: "the request in Discord" });

    const done = await f.request("POST", `/console/api/apps/${APP}/api/requests/${request.id}/complete`, { headers: await consoleHeaders(), json: {} });
    assert.equal(done.status, 200, done.text);
    await heard(/^@luna_superfan "Midnight City - M83" is done\. Thanks for the request!$/);
  });
});

describe("the console's Live & memberships tab", () => {
  test("shows the overlay link and the Twitch connection, saves Ko-fi settings and connects YouTube in one click", async () => {
    const browser = await launchBrowser();
    try {
      const page = await consolePage(browser, { url: f.url, key: f.owner.apiKey, height: 1000 });
      await page.getByRole("button", { name: "Live & memberships" }).click();
      await page.locator("#twitch-status").waitFor();
      assert.match(await page.locator("#twitch-status").textContent(), /^Connected to djluna: viewers type !sr in chat or redeem your channel-points reward\.$/);
      assert.match(await page.locator("#overlay-url").textContent(), new RegExp(`^${f.url}/apps/song-request/overlay\\?token=ovl_`));
      assert.ok((await page.locator("#live-twitch .badge").allTextContents()).includes("enabled"));

      const token = crypto.randomUUID();
      await page.getByLabel("Verification token (from Ko-fi)").fill(token);
      await page.getByLabel(/Cents of a donation/).fill("300");
      await page.getByLabel(/Membership tiers/).fill("Gold = fan_club");
      await page.getByRole("button", { name: "Save Ko-fi" }).click();
      await page.getByText("Ko-fi settings saved.").waitFor();
      const saved = await f.request("GET", `/api/apps/${APP}/kofi`, { key: f.owner.apiKey });
      assert.deepEqual([saved.data.connected, saved.data.settings.credit_price, saved.data.settings.tiers], [true, 300, { Gold: "fan_club" }]);
      await page.screenshot({ path: path.join(f.stack.stateDir, "console-live.png"), fullPage: true });

      // The revoked subscription (see above) is repaired by reconnecting; the reward stays.
      const [twitchConsent] = await Promise.all([page.waitForEvent("popup"), page.getByRole("button", { name: "Reconnect Twitch" }).click()]);
      await twitchConsent.getByRole("heading", { name: "Twitch connected" }).waitFor();
      const repaired = await eventually(async () => {
        const r = await f.request("GET", `/api/apps/${APP}/twitch`, { key: f.owner.apiKey });
        return r.data.subscriptions.length === 2 && r.data.subscriptions.every((x) => x.status === "enabled") && r.data;
      }, { what: "both subscriptions enabled again" });
      assert.equal(repaired.reward_id, connection.reward_id, "the same reward, so its redemptions still settle");

      // Google's consent opens in a new tab and ends on the hub's result page.
      const [consent] = await Promise.all([page.waitForEvent("popup"), page.getByRole("button", { name: "Connect YouTube" }).click()]);
      await consent.waitForLoadState();
      await consent.getByRole("heading", { name: "YouTube connected" }).waitFor();
      await consent.screenshot({ path: path.join(f.stack.stateDir, "console-youtube-connected.png") });
      await page.locator("#live-youtube").getByRole("button", { name: "Refresh" }).click();
      await page.locator("#youtube-status").waitFor();
      assert.equal(await page.locator("#youtube-status").textContent(), "Waiting for a live broadcast on your channel.");
    } finally {
      await browser.close();
    }
  });
});

describe("disconnecting", () => {
  test("removes the subscriptions at Twitch and stops taking chat requests", async () => {
    const r = await f.request("DELETE", `/api/apps/${APP}/twitch`, { key: f.owner.apiKey });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.data.connected, false);
    assert.equal(f.twitch.subscriptions.size, 0);
    assert.equal((await f.request("GET", `/api/apps/${APP}/twitch`, { key: f.owner.apiKey })).data.connected, false);
  });
});

/** The creator signed in to the console, as its page's calls carry it (cookie, CSRF token, origin). */
async function consoleHeaders() {
  const r = await f.request("POST", "/console/api/signin/key", { json: { key: f.owner.apiKey }, headers: { origin: f.url } });
  assert.equal(r.status, 200, r.text);
  const cookie = /fanline_console=[0-9a-f]+/.exec(r.headers.get("set-cookie"))[0];
  const session = await fetch(`${f.url}/console/api/session`, { headers: { cookie, origin: f.url } });
  return { cookie, origin: f.url, "x-csrf-token": (await session.json()).csrf };
}
