// One local marketplace per test file: fresh state, local Stripe, Discord and webhook
// receivers, and two creators (the first owns every app).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import { startStack } from "../../scripts/stack.mjs";
import { checkExchange } from "./contract.mjs";
import { startStripe } from "../../scripts/fakes/stripe.mjs";
import { startPaypal } from "../../scripts/fakes/paypal.mjs";
import { startTurnstile } from "../../scripts/fakes/turnstile.mjs";
import { OAuth2Server } from "oauth2-mock-server";
import { startDiscord } from "../../scripts/fakes/discord.mjs";
import { startMail } from "../../scripts/fakes/sendgrid.mjs";
import { startReceiver } from "../../scripts/fakes/webhook-receiver.mjs";
import { startAirtable } from "../../scripts/fakes/airtable.mjs";
import { startNotion } from "../../scripts/fakes/notion.mjs";
import { startTrello } from "../../scripts/fakes/trello.mjs";
import { startTwilio } from "../../scripts/fakes/twilio.mjs";
import { startTwitch } from "../../scripts/fakes/twitch.mjs";
import { startYoutube } from "../../scripts/fakes/youtube.mjs";

let ipCounter = 0;

/** `hubVars` adds to or overrides the hub's test settings (e.g. production's outbound policy). */
export async function startFixture({ hubVars = {}, withoutRatelimits = false } = {}) {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "fanline-test-"));
  const stripe = await startStripe();
  const discord = await startDiscord();
  const webhooks = await startReceiver();
  const mail = await startMail();
  const paypal = await startPaypal();
  const turnstile = await startTurnstile();
  const [trello, twilio, notion, airtable, twitch, youtube] = await Promise.all([startTrello(), startTwilio(), startNotion(), startAirtable(), startTwitch(), startYoutube()]);
  // A real OpenID provider from npm stands in for Twitch, Discord and Google.
  const oauth = new OAuth2Server();
  await oauth.issuer.keys.generate("RS256");
  await oauth.start(0, "127.0.0.1");
  // It names itself `localhost`, which workerd may resolve to ::1; it only listens on IPv4.
  oauth.issuer.url = `http://127.0.0.1:${oauth.address().port}`;
  const stack = await startStack({
    oauth: oauth.issuer.url,
    stateDir,
    stripe,
    mail,
    paypal,
    turnstile,
    twitch,
    youtube,
    apis: { trello: trello.url, twilio: twilio.url, notion: notion.url, airtable: airtable.url },
    // Short waits so retries and the dead-letter path run in seconds, not hours.
    hubVars: { RETRY_SCHEDULE: "1,2,2,3,3,4,4", DELIVERY_TIMEOUT_MS: "2000", ...hubVars },
    withoutRatelimits,
    creators: [
      { id: "cr_owner", name: "Owner", email: "owner@creator.test" },
      { id: "cr_other", name: "Someone Else", email: "other@creator.test" },
    ],
    destinations: { discord: discord.webhookUrl, webhook: `${webhooks.url}/hooks/fanline` },
  });
  // Answers a test fetches itself are held to the contract too (wrangler's own /cdn-cgi/
  // routes are not Fanline's).
  const realFetch = globalThis.fetch;
  const origin = new URL(stack.url).origin;
  globalThis.fetch = async (input, init = {}) => {
    const response = await realFetch(input, init);
    const url = new URL(typeof input === "string" || input instanceof URL ? input : input.url);
    if (url.origin === origin && !url.pathname.startsWith("/cdn-cgi/")) {
      const contentType = response.headers.get("content-type");
      let data = null;
      if ((contentType ?? "").includes("json")) {
        try {
          data = JSON.parse(await response.clone().text());
        } catch {}
      }
      checkExchange({ method: (init.method ?? input.method ?? "GET").toUpperCase(), path: url.pathname + url.search, status: response.status, contentType, data });
    }
    return response;
  };
  stripe.addWebhookEndpoint(`${stack.url}/webhooks/payment`);
  paypal.addWebhookEndpoint(`${stack.url}/webhooks/paypal`);
  const [owner, other] = stack.creators;

  // Every test sends from its own address so edge rate limits never couple tests.
  // Always a valid address: an unparsable one would share the limiter's "unknown" bucket.
  const freshIp = () => {
    const n = ++ipCounter;
    return `198.${18 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`;
  };

  async function request(method, urlPath, { json, body, headers = {}, ip = freshIp(), key } = {}) {
    const h = { "cf-connecting-ip": ip, ...headers };
    if (json !== undefined) h["content-type"] = "application/json";
    if (key) h.authorization = `Bearer ${key}`;
    const response = await realFetch(`${stack.url}${urlPath}`, { method, headers: h, body: json !== undefined ? JSON.stringify(json) : body, redirect: "manual" });
    const text = await response.text();
    let data = null;
    try {
      data = JSON.parse(text);
    } catch {}
    // Every answer must be what docs/openapi.json says it is; a mismatch fails the test.
    checkExchange({ method, path: urlPath, status: response.status, contentType: response.headers.get("content-type"), data });
    return { status: response.status, headers: response.headers, data, text };
  }

  return {
    url: stack.url,
    stack,
    stripe,
    paypal,
    turnstile,
    oauth,
    discord,
    webhooks,
    mail,
    trello,
    twilio,
    notion,
    airtable,
    twitch,
    youtube,
    owner,
    other,
    freshIp,
    request,
    submit: (app, fields, { addOns, ...options } = {}) => request("POST", `/apps/${app}/api/requests`, { json: { fields, ...(addOns ? { add_ons: addOns } : {}) }, ...options }),
    async stop() {
      globalThis.fetch = realFetch;
      await stack.stop();
      await Promise.all([stripe.close(), paypal.close(), turnstile.close(), oauth.stop(), discord.close(), webhooks.close(), mail.close(), trello.close(), twilio.close(), notion.close(), airtable.close(), twitch.close(), youtube.close()]);
      if (!process.env.FANLINE_KEEP_STATE) fs.rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/** Polls `check` until it returns a truthy value; fails after `ms`. */
export async function eventually(check, { ms = 15000, what = "condition" } = {}) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Waits, if need be, until a rate-limit window has at least `needMs` left. The local limiter
 * (like Cloudflare's) counts in fixed windows aligned to the clock, so a burst that straddled
 * a window's end would be counted half in each and might never be refused.
 */
export async function freshLimiterWindow(needMs = 25000, periodMs = 60000) {
  const left = periodMs - (Date.now() % periodMs);
  if (left < needMs) await new Promise((r) => setTimeout(r, left + 250));
}

/** Waits `ms` and returns; used to prove something did NOT happen after a quiet period. */
export const settle = (ms = 2500) => new Promise((r) => setTimeout(r, ms));

export const PNG = Buffer.from("89504e470d0a1a0a0000000d49484452000000200000002008060000007a7af4", "hex");

/** A valid 2x2 PNG, for attachment fields. */
export function tinyPng() {
  const chunk = (type, data) => {
    const body = Buffer.concat([Buffer.from(type), data]);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(body) >>> 0);
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.from([0, 0, 0, 2, 0, 0, 0, 2, 8, 2, 0, 0, 0]); // 2x2, 8-bit RGB
  const rows = Buffer.from([0, 255, 0, 0, 0, 255, 0, 0, 0, 0, 255, 255, 255, 0]);
  return Buffer.concat([Buffer.from("89504e470d0a1a0a", "hex"), chunk("IHDR", ihdr), chunk("IDAT", zlib.deflateSync(rows)), chunk("IEND", Buffer.alloc(0))]);
}
