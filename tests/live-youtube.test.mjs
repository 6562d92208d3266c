// YouTube Live chat (issue 16, item 2) against a local YouTube (scripts/fakes/youtube.mjs):
// the hub's every-minute cron reads a connected broadcast's chat by pageToken, no sooner than
// pollingIntervalMillis allows, turns `!sr` messages into requests through the app's intake,
// answers through liveChatMessages.insert, and spends no more than its daily quota budget,
// which it reports. The cron's scheduled time is the clock, so the test runs it forward.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { eventually, startFixture } from "./support/fixture.mjs";

let f, broadcast;
let clock = Date.now();
before(async () => (f = await startFixture()));
after(async () => f?.stop());

const APP = "song-request";
const cron = async (at) => {
  clock = at;
  const r = await fetch(`${f.url}/cdn-cgi/local/scheduled?cron=${encodeURIComponent("* * * * *")}&time=${at}`);
  assert.equal(r.status, 200);
};
const status = async () => (await f.request("GET", `/api/apps/${APP}/youtube`, { key: f.owner.apiKey })).data;
const heard = (pattern) => eventually(() => f.youtube.sent.find((m) => pattern.test(m.text)), { what: `a chat reply matching ${pattern}` });

describe("connecting and finding the broadcast", () => {
  test("one action connects the channel; the poller waits for a live broadcast, then reads its chat", async () => {
    const started = await f.request("POST", `/api/apps/${APP}/youtube`, { key: f.owner.apiKey });
    assert.equal(started.status, 200, started.text);
    const authorize = new URL(started.data.authorize_url);
    assert.equal(authorize.searchParams.get("scope"), "https://www.googleapis.com/auth/youtube.force-ssl");
    assert.equal(authorize.searchParams.get("access_type"), "offline");
    const atGoogle = await fetch(authorize, { redirect: "manual" });
    const callback = await fetch(atGoogle.headers.get("location"), { redirect: "manual" });
    assert.equal(callback.status, 200, await callback.clone().text());
    assert.match(await callback.text(), /YouTube connected/);
    assert.deepEqual([(await status()).connected, (await status()).status], [true, "waiting"]);

    clock = Date.now();
    await cron(clock + 1000);
    assert.equal((await status()).last_error, "no live broadcast yet");
    broadcast = f.youtube.goLive();
    const looks = () => f.youtube.calls.filter((c) => c.path.endsWith("/liveBroadcasts")).length;
    const before = looks();
    await cron(clock + 60_000);
    assert.equal(looks(), before, "a waiting chat is looked for every five minutes, not every minute");
    await cron(clock + 5 * 60_000);
    const live = await status();
    assert.deepEqual([live.status, live.live_chat_id, live.broadcast_id], ["live", broadcast.liveChatId, broadcast.id]);
  });
});

describe("chat commands", () => {
  test("`!sr Song - Artist` becomes the viewer's request and the reply shows its place in the queue", async () => {
    const viewer = f.youtube.newViewer("Ada Lovelace");
    f.youtube.say(broadcast, viewer, "!sr Hello - Adele");
    f.youtube.say(broadcast, viewer, "just chatting");
    await cron(clock + 6000);
    await heard(/^@Ada Lovelace "Hello - Adele" is #\d+ in the queue\.$/);
    const requests = (await f.request("GET", `/api/apps/${APP}/requests?limit=200`, { key: f.owner.apiKey })).data.requests;
    const mine = requests.filter((r) => r.identity?.sub === viewer.channelId);
    assert.equal(mine.length, 1);
    assert.deepEqual([mine[0].fields.song, mine[0].fields.artist, mine[0].identity.provider, mine[0].identity.live.channel], ["Hello", "Adele", "youtube", broadcast.liveChatId]);
  });

  test("polling honours pollingIntervalMillis and continues from the last pageToken", async () => {
    f.youtube.state.pollingIntervalMillis = 30_000;
    await cron(clock + 6000); // takes the new interval
    const reads = f.youtube.reads();
    const last = reads.at(-1);
    await cron(clock + 10_000);
    assert.equal(f.youtube.reads().length, reads.length, "not due 10 s after a read that asked for 30 s");
    await cron(clock + 21_000);
    const next = f.youtube.reads().at(-1);
    assert.equal(f.youtube.reads().length, reads.length + 1, "due once the 30 s passed");
    assert.ok(next.query.pageToken, "continues where the last page ended");
    assert.ok(Number(next.query.pageToken) >= Number(last.query.pageToken ?? 0));
    f.youtube.state.pollingIntervalMillis = 5000;
    await cron(clock + 31_000);
  });

  test("a refused command is answered without naming the rule", async () => {
    const viewer = f.youtube.newViewer("Spam Bot");
    f.youtube.say(broadcast, viewer, "!sr free followers - click here");
    await cron(clock + 6000);
    await heard(/^@Spam Bot sorry, that request can't be taken\.$/);
    await new Promise((r) => setTimeout(r, 2500));
    assert.deepEqual(f.youtube.sent.filter((m) => m.text.startsWith("@Spam Bot")).map((m) => m.text), ["@Spam Bot sorry, that request can't be taken."], "one answer, never echoing the text");
  });
});

// Review L30: the tokens let anyone speak in the creator's chat, so they are stored sealed
// under CREDENTIALS_KEY (docs/operations.md).
describe("the channel's tokens at rest", () => {
  test("are sealed; a pair stored before sealing still reads the chat and the cron seals it; a refreshed token is kept, sealed", async () => {
    const stored = () => f.stack.d1Rows(`SELECT access_token, refresh_token, token_expires_at FROM youtube_chats WHERE app_slug = '${APP}'`)[0];
    const sealed = /^sealed:v1:[0-9a-f]{8}:/;
    assert.match(stored().access_token, sealed);
    assert.match(stored().refresh_token, sealed);

    // Tokens as rows held them before sealing: the newest access token and the refresh token.
    const access = [...f.youtube.tokens.keys()].at(-1);
    const refresh = [...f.youtube.refreshTokens].at(-1);
    f.stack.d1(`UPDATE youtube_chats SET access_token = '${access}', refresh_token = '${refresh}' WHERE app_slug = '${APP}'`);
    const viewer = f.youtube.newViewer("Vault Keeper");
    f.youtube.say(broadcast, viewer, "!sr Plain Sight - Kaleida");
    await cron(clock + 6000);
    await heard(/^@Vault Keeper "Plain Sight - Kaleida" is #\d+ in the queue\.$/);
    await fetch(`${f.url}/cdn-cgi/local/scheduled?cron=${encodeURIComponent("*/10 * * * *")}&time=${Date.now()}`);
    await eventually(() => sealed.test(stored().access_token) && sealed.test(stored().refresh_token), { what: "the cron sealing the plain pair" });

    // A lapsed token is refreshed, and the poll that used it keeps the new one (stored sealed).
    const refreshes = () => f.youtube.calls.filter((c) => c.path === "/token" && c.raw.includes("grant_type=refresh_token")).length;
    const before = refreshes();
    f.stack.d1(`UPDATE youtube_chats SET token_expires_at = 0 WHERE app_slug = '${APP}'`);
    f.youtube.say(broadcast, viewer, "!sr Fresh Start - Tokens");
    await cron(clock + 6000);
    await heard(/^@Vault Keeper "Fresh Start - Tokens" is #\d+ in the queue\.$/);
    assert.equal(refreshes(), before + 1, "refreshed once");
    const after = stored();
    assert.match(after.access_token, sealed);
    assert.ok(after.token_expires_at > Date.now() + 30 * 60_000, "the refreshed token's expiry was kept, not put back by the poll's save");
  });
});

describe("the end of a broadcast", () => {
  test("sends the chat back to waiting until the channel's next broadcast goes live", async () => {
    f.youtube.end(broadcast);
    await cron(clock + 6000);
    const waiting = await status();
    assert.deepEqual([waiting.status, waiting.live_chat_id], ["waiting", null]);
    broadcast = f.youtube.goLive();
    await cron(clock + 5 * 60_000 + 1000);
    assert.deepEqual([(await status()).status, (await status()).live_chat_id], ["live", broadcast.liveChatId]);
  });
});

describe("the quota budget", () => {
  test("is reported, counts every call, and once YouTube says it is spent no more calls are made", async () => {
    const billable = () => f.youtube.calls.reduce((sum, c) => sum + (c.path.endsWith("/liveBroadcasts") ? 1 : c.path.endsWith("/liveChat/messages") ? (c.method === "GET" ? 5 : 50) : 0), 0);
    await eventually(async () => (await status()).quota.used === billable(), { what: "the quota count to match the calls made" });
    const { quota } = await status();
    assert.equal(quota.budget, 10_000);
    assert.match(quota.day, /^\d{4}-\d{2}-\d{2}$/);

    f.youtube.state.quotaLeft = 0;
    await cron(clock + 6000);
    const spent = await status();
    assert.equal(spent.quota.used, spent.quota.budget, "YouTube's quotaExceeded spends the day's budget");
    assert.match(spent.last_error, /quota/);
    const calls = f.youtube.calls.length;
    await cron(clock + 2 * 60 * 60_000);
    assert.equal(f.youtube.calls.length, calls, "no call is made over budget");
  });

  test("disconnecting stops reading", async () => {
    const r = await f.request("DELETE", `/api/apps/${APP}/youtube`, { key: f.owner.apiKey });
    assert.equal(r.status, 200);
    assert.equal((await status()).connected, false);
  });
});
