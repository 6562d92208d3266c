#!/usr/bin/env node
// Fanline's command line, run through scripts/fanline (or scripts/dev), which install the pinned
// tools first. `scripts/fanline --help` lists the commands; each takes --help.
import fs from "node:fs";
import path from "node:path";
import { buildWorkers, localDestinations, ROOT, startStack, workers } from "./stack.mjs";
import * as appCommand from "./cli/app.mjs";
import * as check from "./cli/check.mjs";
import * as creator from "./cli/creator.mjs";
import * as deploy from "./cli/deploy.mjs";
import * as scaffold from "./cli/new.mjs";
import { demoHistorySql } from "./demo-history.mjs";
import { startStripe } from "./fakes/stripe.mjs";
import { startPaypal } from "./fakes/paypal.mjs";
import { startTurnstile } from "./fakes/turnstile.mjs";
import { startDiscord } from "./fakes/discord.mjs";
import { startMail } from "./fakes/sendgrid.mjs";
import { startReceiver } from "./fakes/webhook-receiver.mjs";
import { startAirtable } from "./fakes/airtable.mjs";
import { startNotion } from "./fakes/notion.mjs";
import { startTrello } from "./fakes/trello.mjs";
import { startTwilio } from "./fakes/twilio.mjs";
import { startTwitch } from "./fakes/twitch.mjs";
import { startYoutube } from "./fakes/youtube.mjs";
import { OAuth2Server } from "oauth2-mock-server";

const args = process.argv.slice(2);
const command = args[0];
const flag = (name) => args.includes(name);
const option = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);

// What the dev banner says next to an app that needs a hint.
const NOTES = {
  shoutout: "(card held until the creator accepts)",
  "stream-slot": "(auction: open one with POST /apps/stream-slot/api/auctions)",
};

async function dev() {
  if (!flag("--no-build")) buildWorkers();
  const stateDir = path.join(ROOT, ".fanline/state");
  fs.rmSync(stateDir, { recursive: true, force: true });
  // Fixed ports next to the marketplace's, so the URLs in docs/local.md hold.
  const port = Number(option("--port", process.env.PORT ?? 8787));
  const stripe = await startStripe({ port: port + 1, webhookSecret: "whsec_fanline_local_dev" });
  const discord = await startDiscord({ port: port + 2, onMessage: (m) => console.log(`[discord] ${m.json?.embeds?.[0]?.description ?? m.json?.content}`) });
  const webhooks = await startReceiver({ port: port + 3, onMessage: (m) => console.log(`[webhook] ${m.json?.type} ${m.json?.data?.id ?? ""} (webhook-id ${m.headers["webhook-id"]})`) });
  const mail = await startMail({ port: port + 4, onMessage: (m) => console.log(`[mail] to ${m.to}: ${m.subject}`) });
  const paypal = await startPaypal({ port: port + 5 });
  const turnstile = await startTurnstile({ port: port + 6 });
  const trello = await startTrello({ port: port + 7 });
  const twilio = await startTwilio({ port: port + 8 });
  const notion = await startNotion({ port: port + 9 });
  const airtable = await startAirtable({ port: port + 10 });
  const twitch = await startTwitch({ port: port + 11 });
  const youtube = await startYoutube({ port: port + 12 });
  // A real OpenID provider from npm stands in for fans' Twitch, Discord, Google and Patreon
  // sign-in: it approves at once, as the user "johndoe".
  const oauth = new OAuth2Server();
  await oauth.issuer.keys.generate("RS256");
  await oauth.start(port + 13, "127.0.0.1");
  oauth.issuer.url = `http://127.0.0.1:${port + 13}`;
  const announce = (name, describe) => (call) => console.log(`[${name}] ${call.method} ${call.path}${describe(call) ? ` ${describe(call)}` : ""}`);
  for (const [name, api, describe] of [
    ["trello", trello, (c) => c.json?.name ?? c.json?.text ?? ""],
    ["sms", twilio, (c) => c.form?.Body ?? ""],
    ["notion", notion, (c) => c.json?.properties?.Name?.title?.[0]?.text?.content ?? ""],
    ["airtable", airtable, (c) => c.json?.records?.[0]?.fields?.Title ?? ""],
  ]) {
    api.handler.respond = (call) => (announce(name, describe)(call), undefined);
  }
  const stack = await startStack({
    stateDir,
    stripe,
    mail,
    paypal,
    turnstile,
    twitch,
    youtube,
    oauth: oauth.issuer.url,
    // A chat without a live broadcast is looked for again every few seconds, not minutes.
    hubVars: { YOUTUBE_RECHECK_SECS: "3" },
    port,
    // A second creator owns nothing: its key shows that one creator cannot touch another's requests.
    creators: [
      { id: "cr_demo", name: "Demo Creator", email: "demo@creator.test" },
      { id: "cr_other", name: "Another Creator", email: "other@creator.test" },
    ],
    // 90 days of song requests, so the console's queue and numbers look lived-in.
    extraSql: flag("--no-demo-history") ? "" : demoHistorySql(),
    apis: { trello: trello.url, twilio: twilio.url, notion: notion.url, airtable: airtable.url },
    // Every target set up for every app, so a request shows up everywhere its manifest routes it.
    destinations: localDestinations({ discord, webhooks, trello, twilio, notion, airtable }),
    log: (m) => console.log(`[dev] ${m}`),
  });
  stripe.addWebhookEndpoint(`${stack.url}/webhooks/payment`);
  paypal.addWebhookEndpoint(`${stack.url}/webhooks/paypal`);
  const [creator, other] = stack.creators;
  // What a shell needs to call the local stack: `. .fanline/dev.env` (docs/quickstart.md).
  const envFile = path.join(ROOT, ".fanline/dev.env");
  const shellVars = { FANLINE: stack.url, FANLINE_KEY: creator.apiKey, FANLINE_STRIPE: stripe.url, FANLINE_WEBHOOKS: webhooks.url, FANLINE_DISCORD: discord.url, FANLINE_MAIL: mail.url, FANLINE_TWITCH: twitch.url, FANLINE_YOUTUBE: youtube.url };
  // Cloudflare runs the every-minute cron (YouTube chats) on its own; locally it is run here,
  // every few seconds, so a chat message becomes a request about as fast as on a real stream.
  const ticker = setInterval(() => fetch(`${stack.url}/cdn-cgi/local/scheduled?cron=${encodeURIComponent("* * * * *")}`).catch(() => {}), 5000);
  fs.writeFileSync(envFile, Object.entries(shellVars).map(([k, v]) => `export ${k}='${v}'`).join("\n") + "\n", { mode: 0o600 });
  console.log(`
Fanline is running on the local Cloudflare runtime.

  Marketplace        ${stack.url}/
${workers().apps.map((a) => `  ${`App ${a.slug}`.padEnd(19)}${stack.url}/apps/${a.slug}/${NOTES[a.slug] ? `   ${NOTES[a.slug]}` : ""}`).join("\n")}
  Apps (JSON)        ${stack.url}/api/apps
  Payment webhook    ${stack.url}/webhooks/payment
  Moderation webhook ${stack.url}/webhooks/moderation  (Standard Webhooks secret ${stack.moderationSecret})

  Creator console    ${stack.url}/console/
                     sign in with the API key below, or with an email link to ${creator.email}
                     (the link arrives in the local mail API: GET ${mail.url}/_messages)
  Demo creator       ${creator.name} (${creator.id})
  Creator API key    ${creator.apiKey}
  Other creator      ${other.name} (${other.id}), owns no apps: ${other.apiKey}

  Local Stripe       ${stripe.url}  (checkout pages: open a request's checkout_url and press Pay)
  Stripe webhook     secret ${stripe.webhookSecret} (signs events sent to /webhooks/payment)
  Local PayPal       ${paypal.url}  (approval pages: open a PayPal request's checkout_url and press Pay)
  Local Turnstile    ${turnstile.url}/turnstile/v0/siteverify  (test token: XXXX.DUMMY.TOKEN.XXXX passes; "fail" fails)
  Local Discord      ${discord.webhookUrl}
                     received messages: GET ${discord.url}/_messages
  Local webhooks     ${webhooks.url}/fanline  (secret ${stack.webhookSecrets["song-request"]} for song-request)
                     received webhooks: GET ${webhooks.url}/_messages
  Local mail API     ${mail.url}/v3/mail/send  (SendGrid format)
                     received mail: GET ${mail.url}/_messages
  Local Trello       ${trello.url}  (cards: GET ${trello.url}/_calls; lists todo ${trello.lists.todo}, done ${trello.lists.done})
  Local Twilio       ${twilio.url}  (SMS: GET ${twilio.url}/_calls)
  Local Notion       ${notion.url}  (pages: GET ${notion.url}/_calls)
  Local Airtable     ${airtable.url}  (records: GET ${airtable.url}/_calls)
  Local Twitch       ${twitch.url}  (channel ${twitch.broadcaster.login}; chat as a viewer: POST ${twitch.url}/_chat; bot replies: GET ${twitch.url}/_chat)
  Local sign-in      ${oauth.issuer.url}  (fans' Twitch, Discord, Google and Patreon sign-in approve at once, as "johndoe")
  Local YouTube      ${youtube.url}  (go live: POST ${youtube.url}/_live; chat: POST ${youtube.url}/_chat; replies: GET ${youtube.url}/_sent)
  Logs               ${stack.logFile}
  Shell variables    . .fanline/dev.env   (FANLINE, FANLINE_KEY, ...: see docs/quickstart.md)

Press Ctrl-C to stop.`);
  const shutdown = async () => {
    clearInterval(ticker);
    await oauth.stop().catch(() => {});
    await stack.stop();
    process.exit(0);
  };
  process.on("SIGINT", shutdown);
  process.on("SIGTERM", shutdown);
}

const DEV_HELP = `fanline dev [--port 8787] [--no-build] [--no-demo-history]

Builds every Worker (unless --no-build), creates the local D1 (migrations), registers every app
in apps/ from its manifest, seeds the demo creators and 90 days of demo history (unless
--no-demo-history), starts local stand-ins of Stripe, PayPal, Discord, mail and the rest, and
serves the marketplace on one origin. Same as ./scripts/dev.`;

const COMMANDS = {
  dev: { help: DEV_HELP, run: async () => (await dev(), null) },
  check: { help: check.help, run: (rest) => check.run(rest) },
  new: { help: scaffold.help, run: (rest) => scaffold.run(rest, option) },
  creator: { help: creator.help, run: (rest) => creator.run(rest, option) },
  deploy: { help: deploy.help, run: (rest) => deploy.run(rest, option) },
  app: { help: appCommand.help, run: (rest) => appCommand.run(rest, option) },
};

const USAGE = `usage: scripts/fanline <command> [options]

  dev       build, seed and serve the local marketplace (same as ./scripts/dev)
  check     validate every manifest and wrangler.toml, with the JSON path of each problem
  new       create apps/<slug>/ from a template
  creator   add a creator and print their first API key
  deploy    provision Cloudflare and deploy every app and the hub (--dry-run to preview)
  app       an app's lifecycle: show, state (draft, live, paused, invite_only, archived), invite, revoke

Run scripts/fanline <command> --help for a command's options.`;

const chosen = COMMANDS[command];
if (!command || command === "--help" || command === "-h" || command === "help") {
  console.log(USAGE);
} else if (!chosen) {
  console.error(`unknown command "${command}"\n\n${USAGE}`);
  process.exit(2);
} else if (flag("--help") || flag("-h")) {
  console.log(chosen.help);
} else {
  try {
    const code = await chosen.run(args.slice(1));
    if (code !== null) process.exit(code);
  } catch (e) {
    if (!(e instanceof scaffold.UsageError)) throw e;
    console.error(`fanline ${command}: ${e.message}`);
    process.exit(2);
  }
}
