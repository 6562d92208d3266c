// A live-stream burst on the local stack: N song requests within S seconds from C distinct
// client addresses, a share of them paid (Checkout completed at the local Stripe, whose signed
// webhook reaches the hub), then a wait for every delivery. Loopback only, bounded in count and
// time. Prints what was admitted, refused by the edge limit, paid, delivered and dead, and
// checks that nothing was lost: every admitted request has exactly one delivery per configured
// destination, and every paid one was queued exactly once. Exits non-zero otherwise.
//
//   node scripts/benchmark/burst.mjs [--requests 10000] [--seconds 60] [--clients 2000]
//        [--paid 0.1] [--destinations discord,webhook,creator_email,trello,sms,notion,airtable]
//        [--wait-minutes 30]
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { localDestinations, startStack } from "../stack.mjs";
import { startAirtable } from "../fakes/airtable.mjs";
import { startDiscord } from "../fakes/discord.mjs";
import { startNotion } from "../fakes/notion.mjs";
import { startMail } from "../fakes/sendgrid.mjs";
import { startStripe } from "../fakes/stripe.mjs";
import { startTrello } from "../fakes/trello.mjs";
import { startTwilio } from "../fakes/twilio.mjs";
import { startReceiver } from "../fakes/webhook-receiver.mjs";

const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : fallback);
const REQUESTS = Math.min(Number(option("requests", 10_000)), 20_000);
const SECONDS = Math.min(Number(option("seconds", 60)), 600);
const CLIENTS = Math.min(Number(option("clients", 2_000)), 60_000);
const PAID = Number(option("paid", 0.1));
const KINDS = option("destinations", "discord,webhook,creator_email,trello,sms,notion,airtable").split(",");
const WAIT_MS = Number(option("wait-minutes", 30)) * 60_000;
const IN_FLIGHT = 64;

const fakes = { stripe: await startStripe(), discord: await startDiscord(), webhooks: await startReceiver(), mail: await startMail(), trello: await startTrello(), twilio: await startTwilio(), notion: await startNotion(), airtable: await startAirtable() };
for (const fake of [fakes.trello, fakes.twilio, fakes.notion, fakes.airtable]) fake.handler.respond = () => (fake.calls.length > 1000 && fake.calls.splice(0, 900), undefined);
const all = localDestinations(fakes);
const destinations = Object.fromEntries(KINDS.map((k) => [k, all[k]]));
const stack = await startStack({
  stateDir: fs.mkdtempSync(path.join(os.tmpdir(), "fanline-burst-")),
  stripe: fakes.stripe,
  mail: fakes.mail,
  apis: { trello: fakes.trello.url, twilio: fakes.twilio.url, notion: fakes.notion.url, airtable: fakes.airtable.url },
  destinations,
});
fakes.stripe.addWebhookEndpoint(`${stack.url}/webhooks/payment`);
const client = (i) => `10.${100 + ((i % CLIENTS) >> 16)}.${((i % CLIENTS) >> 8) & 255}.${(i % CLIENTS) & 255}`;
console.log(`burst: ${REQUESTS} song requests in ${SECONDS} s from ${CLIENTS} addresses, ${Math.round(PAID * 100)}% paid, destinations ${KINDS.join(", ")}`);

const counts = { admitted: 0, rateLimited: 0, otherRefusals: {}, paidAdmitted: 0, paidApplied: 0, paidWebhookFailures: 0 };
const paidIds = [];
const started = Date.now();
let next = 0;
async function one(i) {
  // Exactly the share asked for, spread evenly through the burst.
  const paid = Math.floor((i + 1) * PAID) > Math.floor(i * PAID);
  const body = { fields: { song: `Song ${i}`, artist: "The Burst", message: `from viewer ${i % CLIENTS}` }, ...(paid ? { add_ons: ["priority"] } : {}) };
  const r = await fetch(`${stack.url}/apps/song-request/api/requests`, { method: "POST", headers: { "content-type": "application/json", "cf-connecting-ip": client(i) }, body: JSON.stringify(body) });
  const answer = await r.json().catch(() => null);
  if (r.status === 201) {
    counts.admitted++;
    if (paid) {
      counts.paidAdmitted++;
      paidIds.push(answer.id);
      const { deliveries } = await fakes.stripe.pay(answer.checkout_session_id);
      if (deliveries.every((d) => d.status === 200 && d.body?.outcome === "applied")) counts.paidApplied++;
      else counts.paidWebhookFailures++;
    }
  } else if (r.status === 429 && answer?.error?.code === "rate_limited") counts.rateLimited++;
  else counts.otherRefusals[`${r.status} ${answer?.error?.code ?? "?"}`] = (counts.otherRefusals[`${r.status} ${answer?.error?.code ?? "?"}`] ?? 0) + 1;
}
// Requests start on an even schedule (REQUESTS over SECONDS), at most IN_FLIGHT at a time.
await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
  for (;;) {
    const i = next++;
    if (i >= REQUESTS) return;
    const due = started + (i * SECONDS * 1000) / REQUESTS;
    if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
    await one(i);
  }
}));
const sentIn = (Date.now() - started) / 1000;
console.log(`sent in ${sentIn.toFixed(1)} s: admitted ${counts.admitted}, refused by the edge limit ${counts.rateLimited}, other refusals ${JSON.stringify(counts.otherRefusals)}`);
console.log(`paid: ${counts.paidAdmitted} admitted, ${counts.paidApplied} applied by their webhook, ${counts.paidWebhookFailures} webhook failures`);

const rows = (sql) => stack.d1Rows(sql);
let pending = Infinity;
let lastDeliveryAt = Date.now();
while (pending > 0 && Date.now() - started < WAIT_MS) {
  await new Promise((r) => setTimeout(r, 2000));
  const [row] = rows("SELECT COUNT(*) AS n, MAX(delivered_at) AS last FROM outbox WHERE state IN ('pending', 'sending') OR state = 'delivered'");
  const [left] = rows("SELECT COUNT(*) AS n FROM outbox WHERE state IN ('pending', 'sending')");
  pending = left.n;
  lastDeliveryAt = row.last ?? lastDeliveryAt;
}
const byState = Object.fromEntries(rows("SELECT state, COUNT(*) AS n FROM outbox GROUP BY state").map((r) => [r.state, r.n]));
const quoted = KINDS.map((k) => `'${k}'`).join(", ");
const [notExactlyOnce] = rows(
  `SELECT COUNT(*) AS n FROM requests r
     LEFT JOIN (SELECT request_id, COUNT(*) AS k FROM outbox WHERE event = 'request.queued' AND state = 'delivered' AND destination IN (${quoted}) GROUP BY request_id) d ON d.request_id = r.id
    WHERE r.status = 'queued' AND COALESCE(d.k, 0) != ${KINDS.length}`,
);
const [queuedTwice] = rows("SELECT COUNT(*) AS n FROM (SELECT request_id FROM request_events WHERE status = 'queued' GROUP BY request_id HAVING COUNT(*) > 1)");
const [paidNotQueued] = rows("SELECT COUNT(*) AS n FROM requests WHERE provider = 'stripe' AND status != 'queued'");
const [stored] = rows("SELECT COUNT(*) AS n FROM requests");
console.log(`deliveries by state: ${JSON.stringify(byState)}; last delivery ${((lastDeliveryAt - started) / 1000).toFixed(1)} s after the first request`);
console.log(`checks: ${stored.n} requests stored for ${counts.admitted} admitted; ${notExactlyOnce.n} queued requests without exactly one delivery per destination; ${queuedTwice.n} queued twice; ${paidNotQueued.n} paid requests not queued; ${pending} deliveries still pending`);
const lost = stored.n !== counts.admitted || notExactlyOnce.n > 0 || queuedTwice.n > 0 || paidNotQueued.n > 0 || pending > 0 || counts.paidWebhookFailures > 0 || (byState.dead ?? 0) > 0;
console.log(lost ? "RESULT: something was lost or doubled" : "RESULT: nothing lost, nothing doubled");
await stack.stop();
for (const fake of Object.values(fakes)) await fake.close();
process.exit(lost ? 1 : 0);
