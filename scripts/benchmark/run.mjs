// The benchmark: Fanline's intake and pages against two references run on the same wrangler
// and workerd, side by side on this machine. Figures and ratios only, no pass/fail.
//
//   baseline  a plain JavaScript Worker that validates a small JSON body and does one D1
//             INSERT ... RETURNING, as Cloudflare's D1 starter templates do (./baseline)
//   ceiling   a Worker that only answers (./ceiling): what the runtime can do here at all;
//             at /copy it also sends the form page's own answer, since wrangler's dev proxy
//             rewrites every HTML answer, which the form page is compared with as well
//
// Every case runs once per round with autocannon (16 connections); rounds alternate the cases
// so drift on the machine hits them all alike, and the fulfilment backlog drains before each.
// The figure printed for a case is its median round. A case with a target is also run between
// two runs of its reference in every round, and judged on the median of those paired ratios.
// Environment: BENCH_ROUNDS (3), BENCH_SECONDS per case and round (5), BENCH_CONNECTIONS (16),
// BENCH_ONLY (a regular expression: run only the cases it matches, plus the references).
import autocannon from "autocannon";
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import Stripe from "stripe";
import { freePort, localDestinations, ROOT, startStack, workers, wrangler } from "../stack.mjs";
import { startAirtable } from "../fakes/airtable.mjs";
import { startDiscord } from "../fakes/discord.mjs";
import { startNotion } from "../fakes/notion.mjs";
import { startMail } from "../fakes/sendgrid.mjs";
import { startStripe } from "../fakes/stripe.mjs";
import { startTrello } from "../fakes/trello.mjs";
import { startTwilio } from "../fakes/twilio.mjs";
import { startReceiver } from "../fakes/webhook-receiver.mjs";

// wrangler's local trace collector (on by default since 4.x) stores every span in SQLite on
// the runtime's one thread, a cost Cloudflare does not have; it is off for all three Workers.
process.env.X_LOCAL_OBSERVABILITY ??= "false";
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const HERE = path.dirname(new URL(import.meta.url).pathname);
const WRANGLER = path.join(ROOT, "node_modules/wrangler/bin/wrangler.js");
const say = (line = "") => console.log(line);
const kb = (bytes) => `${(bytes / 1024).toFixed(0)} KB`;
// Of an even count, the mean of the middle two (two rounds are not read as their better one).
const median = (xs) => {
  const s = xs.slice().sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

say(`== Fanline benchmark, ${new Date().toISOString()}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? "?"}), node ${process.version}`);
say(`   ${ROUNDS} rounds x ${SECONDS} s per case, ${CONNECTIONS} connections`);

// -- bundle sizes ---------------------------------------------------------------------------
say("\n== Worker bundles (build/index_bg.wasm + build/index.js; Cloudflare's limit: 3 MB gzipped on Free)");
const { hub, apps } = workers();
for (const w of [hub, ...apps]) {
  const wasm = fs.readFileSync(path.join(w.dir, "build/index_bg.wasm"));
  const js = fs.readFileSync(path.join(w.dir, "build/index.js"));
  const gz = zlib.gzipSync(Buffer.concat([wasm, js]), { level: 9 }).length;
  say(`${(path.relative(ROOT, w.dir) || "hub").padEnd(20)} wasm ${kb(wasm.length).padStart(8)}   js ${kb(js.length).padStart(6)}   gzipped ${kb(gz).padStart(7)}`);
}

// -- the references, each on its own wrangler dev ----------------------------------------------
async function startReference(name) {
  const dir = path.join(HERE, name);
  const state = fs.mkdtempSync(path.join(os.tmpdir(), `fanline-bench-${name}-`));
  const config = path.join(dir, "wrangler.toml");
  if (fs.readFileSync(config, "utf8").includes("d1_databases")) {
    wrangler(["d1", "migrations", "apply", "DB", "--local", "--persist-to", state, "-c", config]);
  }
  const port = await freePort();
  const log = fs.openSync(path.join(state, "wrangler.log"), "a");
  const started = Date.now();
  const child = spawn(process.execPath, [WRANGLER, "dev", "-c", config, "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(await freePort()), "--persist-to", state, "--show-interactive-dev-session=false"], {
    cwd: dir,
    stdio: ["ignore", log, log],
    detached: true,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
  });
  const url = `http://127.0.0.1:${port}`;
  for (;;) {
    if (Date.now() - started > 60_000) throw new Error(`${name} did not start; see ${state}/wrangler.log`);
    try {
      await fetch(url);
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return { url, stop: () => process.kill(-child.pid, "SIGTERM") };
}

const fakes = {
  stripe: await startStripe(),
  discord: await startDiscord(),
  webhooks: await startReceiver(),
  mail: await startMail(),
  trello: await startTrello(),
  twilio: await startTwilio(),
  notion: await startNotion(),
  airtable: await startAirtable(),
};
const { stripe, discord, webhooks, mail, trello, twilio, notion, airtable } = fakes;
const destinations = localDestinations(fakes);
// The fakes keep every call they get; a benchmark sends too many to keep.
for (const fake of [trello, twilio, notion, airtable]) fake.handler.respond = (call) => (fake.calls.length > 1000 && fake.calls.splice(0, 900), undefined);

const stackStarted = Date.now();
const stack = await startStack({
  stateDir: fs.mkdtempSync(path.join(os.tmpdir(), "fanline-bench-")),
  stripe,
  mail,
  apis: { trello: trello.url, twilio: twilio.url, notion: notion.url, airtable: airtable.url },
  destinations,
});
const stackReadyMs = Date.now() - stackStarted;
stripe.addWebhookEndpoint(`${stack.url}/webhooks/payment`);
const baseline = await startReference("baseline");
const ceiling = await startReference("ceiling");
const [creator] = stack.creators;

let ipCounter = 0;
const nextIp = () => {
  const n = ++ipCounter;
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
};
const withFreshIp = (req) => ({ ...req, headers: { ...req.headers, "cf-connecting-ip": nextIp() } });
const songBody = (extra = {}) => JSON.stringify({ fields: { song: "Wonderwall", artist: "Oasis", message: "for the stream tonight" }, ...extra });

// -- cold start: the first request each Worker serves after the stack starts -------------------
say(`\n== First requests after a cold start (stack ready in ${(stackReadyMs / 1000).toFixed(1)} s)`);
async function timed(url, init = {}) {
  const t = performance.now();
  const r = await fetch(url, init);
  const text = await r.text();
  return { ms: performance.now() - t, status: r.status, headers: r.headers, text };
}
for (const [name, url, init] of [
  ["ceiling GET /", `${ceiling.url}/`],
  ["baseline POST /api/requests", `${baseline.url}/api/requests`, { method: "POST", headers: { "content-type": "application/json" }, body: songBody() }],
  ["hub GET /", `${stack.url}/`],
  ["song-request GET form page", `${stack.url}/apps/song-request/`],
  ["song-request POST intake", `${stack.url}/apps/song-request/api/requests`, { method: "POST", headers: { "content-type": "application/json", "cf-connecting-ip": nextIp() }, body: songBody() }],
  ["pixel-icon GET manifest.json", `${stack.url}/apps/pixel-icon/manifest.json`],
]) {
  const r = await timed(url, init);
  say(`${name.padEnd(32)} ${r.ms.toFixed(1).padStart(7)} ms  (HTTP ${r.status})`);
}

// -- what one intake costs, counted by the Worker (Server-Timing) ------------------------------
say("\n== Work per request, counted by the Worker (one request at a time)");
const status = await timed(`${stack.url}/apps/song-request/api/requests`, { method: "POST", headers: { "content-type": "application/json", "cf-connecting-ip": nextIp() }, body: songBody() });
const requestId = JSON.parse(status.text).id;
for (const [name, init, url] of [
  ["free intake, 7 destinations", { method: "POST", headers: { "content-type": "application/json", "cf-connecting-ip": nextIp() }, body: songBody() }],
  ["paid intake (Stripe Checkout)", { method: "POST", headers: { "content-type": "application/json", "cf-connecting-ip": nextIp() }, body: songBody({ add_ons: ["priority"] }) }],
  ["request status", {}, `${stack.url}/apps/song-request/api/requests/${requestId}`],
]) {
  // The hub's consumer counts on the same isolate's meter: with the previous intake's
  // deliveries running, a status read would be counted with theirs.
  await drain();
  const r = await timed(url ?? `${stack.url}/apps/song-request/api/requests`, init);
  say(`${name.padEnd(32)} ${(r.headers.get("server-timing") ?? "(no Server-Timing)").padEnd(44)} HTTP ${r.status}`);
}

// -- cases --------------------------------------------------------------------------------------
const version = (await timed(`${stack.url}/apps/song-request/`)).text.match(/embed\.js\?v=([0-9a-f]+)/)?.[1] ?? "";
const png = Buffer.alloc(200 * 1024, 7);
Buffer.from("89504e470d0a1a0a0000000d49484452", "hex").copy(png);
const boundary = "fanlinebench";
const multipart = (n) =>
  Buffer.concat([
    Buffer.from(
      [["subject", "a cat in a hat"], ["style", "static"], ["palette", "retro"], ["email", `fan${n}@bench.local`]]
        .map(([k, v]) => `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`)
        .join("") + `--${boundary}\r\nContent-Disposition: form-data; name="reference"; filename="ref.png"\r\nContent-Type: image/png\r\n\r\n`,
    ),
    png,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);

// Payment webhooks need a paid request each: made up front, their sessions paid at the local
// Stripe without delivering the event, which the case then sends signed.
const signer = new Stripe("sk_test_unused");
async function prepareWebhooks(count) {
  const events = [];
  const batch = 16;
  for (let i = 0; i < count; i += batch) {
    await Promise.all(
      Array.from({ length: Math.min(batch, count - i) }, async () => {
        const r = await fetch(`${stack.url}/apps/song-request/api/requests`, { method: "POST", headers: { "content-type": "application/json", "cf-connecting-ip": nextIp() }, body: songBody({ add_ons: ["priority"] }) });
        const body = await r.json();
        if (r.status !== 201) throw new Error(`preparing a paid request: HTTP ${r.status} ${JSON.stringify(body)}`);
        const { event } = await stripe.pay(body.checkout_session_id, { times: 0 });
        events.push(JSON.stringify(event));
      }),
    );
  }
  return events;
}

// The payment webhook's own count (the hub's Server-Timing), for one paid request's event.
{
  const [payload] = await prepareWebhooks(1);
  const r = await timed(`${stack.url}/webhooks/payment`, { method: "POST", headers: { "content-type": "application/json", "stripe-signature": signer.webhooks.generateTestHeaderString({ payload, secret: stripe.webhookSecret }) }, body: payload });
  say(`${"payment webhook (checkout paid)".padEnd(32)} ${(r.headers.get("server-timing") ?? "(no Server-Timing)").padEnd(44)} HTTP ${r.status}`);
}

// The ceiling's HTML case answers exactly what the form page answers (body and headers, as
// autocannon gets them: no compression).
{
  const page = await fetch(`${stack.url}/apps/song-request/`, { headers: { "accept-encoding": "identity" } });
  const transport = new Set(["content-length", "content-encoding", "transfer-encoding", "date", "connection", "keep-alive", "server-timing"]);
  const headers = [...page.headers].filter(([k]) => !transport.has(k));
  const put = await fetch(`${ceiling.url}/copy`, { method: "PUT", body: JSON.stringify({ body: await page.text(), headers }) });
  if (page.status !== 200 || put.status !== 204) throw new Error(`copying the form page to the ceiling: HTTP ${page.status}, ${put.status}`);
}

const get = (name, base, p) => ({ name, base, opts: { method: "GET", path: p } });
const cases = [
  { name: "ceiling: empty Worker", base: ceiling.url, opts: { method: "GET", path: "/" }, reference: true },
  { name: "ceiling: empty Worker, HTML", base: ceiling.url, opts: { method: "GET", path: "/copy" }, reference: true },
  { name: "baseline: JS + one D1 insert", base: baseline.url, opts: { method: "POST", path: "/api/requests", headers: { "content-type": "application/json" }, body: songBody() }, reference: true },
  { name: "intake, 7 destinations", base: stack.url, opts: { requests: [{ method: "POST", path: "/apps/song-request/api/requests", headers: { "content-type": "application/json" }, body: songBody(), setupRequest: withFreshIp }] }, drains: true },
  { name: "intake, no destinations", base: stack.url, opts: { requests: [{ method: "POST", path: "/apps/song-request/api/requests", headers: { "content-type": "application/json" }, body: songBody(), setupRequest: withFreshIp }] }, noDestinations: true, drains: true },
  { name: "intake, paid (Stripe Checkout)", base: stack.url, opts: { requests: [{ method: "POST", path: "/apps/song-request/api/requests", headers: { "content-type": "application/json" }, body: songBody({ add_ons: ["priority"] }), setupRequest: withFreshIp }] }, drains: true },
  {
    name: "intake, multipart 200 KB PNG",
    base: stack.url,
    opts: { requests: [{ method: "POST", path: "/apps/pixel-icon/api/requests", headers: { "content-type": `multipart/form-data; boundary=${boundary}` }, setupRequest: (req) => ({ ...withFreshIp(req), body: multipart(ipCounter) }) }] },
    drains: true,
  },
  { name: "payment webhook", base: stack.url, webhook: true, drains: true },
  // The same events while no destination is set up: the webhook's own cost, without the 7
  // deliveries each payment queues running on the same runtime thread.
  { name: "payment webhook, no destinations", base: stack.url, webhook: true, noDestinations: true, drains: true },
  // Where intake's time goes, with no change to the Worker: the hub's hop into the app Worker
  // (a preflight the app answers itself), then that plus the edge limiter and the body's
  // parsing and validation (an empty submission, refused with 422 before any D1 work).
  // Intake's remaining cost over these is its one D1 batch and its answer.
  { name: "floor: hub to app (OPTIONS)", base: stack.url, opts: { method: "OPTIONS", path: "/apps/song-request/api/requests" }, expect: 204 },
  { name: "floor: + edge limit, 422", base: stack.url, opts: { requests: [{ method: "POST", path: "/apps/song-request/api/requests", headers: { "content-type": "application/json" }, body: JSON.stringify({ fields: {} }), setupRequest: withFreshIp }] }, noDestinations: true, expect: 422 },
  get("GET hub /health", stack.url, "/health"),
  get("GET form page", stack.url, "/apps/song-request/"),
  get("GET embed.js?v=", stack.url, `/apps/song-request/embed.js?v=${version}`),
  get("GET manifest.json", stack.url, "/apps/song-request/manifest.json"),
  get("GET catalog /api/apps", stack.url, "/api/apps"),
  get("GET request status", stack.url, `/apps/song-request/api/requests/${requestId}`),
];

if (process.env.BENCH_ONLY) {
  const only = new RegExp(process.env.BENCH_ONLY);
  cases.splice(0, cases.length, ...cases.filter((c) => c.reference || only.test(c.name)));
}

async function backlog() {
  const [row] = stack.d1Rows("SELECT COUNT(*) AS n FROM outbox WHERE state IN ('pending', 'sending')");
  return row?.n ?? 0;
}
// Waits for as long as the backlog keeps shrinking (a case never runs while an earlier one's
// deliveries share the runtime's thread), up to `limitMs`; a backlog that has not moved for
// `stallMs` (deliveries parked for a retry) is left.
async function drain(limitMs = 900_000, stallMs = 30_000) {
  const t = Date.now();
  let left = await backlog();
  let moved = Date.now();
  while (left > 0 && Date.now() - t < limitMs && Date.now() - moved < stallMs) {
    await new Promise((r) => setTimeout(r, 1000));
    const now = await backlog();
    if (now < left) moved = Date.now();
    left = now;
  }
  if (left > 0) say(`   (${left} deliveries still pending after ${((Date.now() - t) / 1000).toFixed(0)} s; going on)`);
  return { left, ms: Date.now() - t };
}
async function setDestinations(on) {
  // The API takes each kind's settings object (the stack's seeding also takes bare URLs).
  const settings = { ...destinations, discord: { webhook_url: destinations.discord }, webhook: { url: destinations.webhook } };
  const body = on ? settings : Object.fromEntries(Object.keys(settings).map((k) => [k, null]));
  const r = await fetch(`${stack.url}/api/apps/song-request/destinations`, { method: "PUT", headers: { "content-type": "application/json", authorization: `Bearer ${creator.apiKey}` }, body: JSON.stringify(body) });
  if (r.status !== 200) throw new Error(`destinations: HTTP ${r.status} ${await r.text()}`);
}

// What issue 12 holds intake and pages to, as ratios in this same run.
const targets = [
  ["intake, no destinations", "baseline", 1.0],
  ["intake, 7 destinations", "baseline", 0.8],
  ["payment webhook", "baseline", 1.0],
  ["GET form page", "ceiling", 0.9],
  ["GET embed.js?v=", "ceiling", 0.9],
  ["GET manifest.json", "ceiling", 0.9],
  ["GET catalog /api/apps", "ceiling", 0.9],
];
// Not a target of its own: the form page against the ceiling sending the form page's own
// answer, because wrangler's dev proxy runs every text/html answer through an HTMLRewriter
// (its live-reload script), a cost the plain ceiling never pays and Cloudflare does not add.
const likeForLike = [["GET form page", "ceiling, HTML"]];
const REFERENCE = { baseline: "baseline: JS + one D1 insert", ceiling: "ceiling: empty Worker", "ceiling, HTML": "ceiling: empty Worker, HTML" };
// The references a case is paired with, innermost last.
const referencesOf = (name) => [...targets, ...likeForLike].filter(([n]) => n === name).map(([, against]) => against);

// CPU time every workerd process on this machine has used (Linux /proc; null elsewhere), in
// ms: the stack's, the references' and wrangler's proxies. Per request it moves far less from
// round to round than requests/s, which follows the machine's own drift.
function workerdCpuMs() {
  let ticks = 0;
  try {
    for (const pid of fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
      let stat;
      try {
        stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
      } catch {
        continue; // gone since the listing
      }
      if (!stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")).startsWith("workerd")) continue;
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime
    }
  } catch {
    return null;
  }
  return ticks * 10; // USER_HZ is 100 on Linux
}

// Each webhook case pays its own requests: an event is applied once.
const webhookEvents = new Map();
async function measure(c, round) {
  // autocannon takes the path in the URL, or per request in `requests`.
  const { path: casePath = "", ...rest } = c.opts ?? {};
  let opts = { ...rest, url: `${c.base}${casePath}`, connections: CONNECTIONS, duration: SECONDS };
  if (c.webhook) {
    if (!webhookEvents.has(c.name)) webhookEvents.set(c.name, await prepareWebhooks(Number(process.env.BENCH_WEBHOOKS ?? 1500)));
    const pool = webhookEvents.get(c.name);
    await drain();
    const mine = pool.splice(0, Math.ceil(pool.length / (ROUNDS - round + 1)));
    let i = 0;
    opts = {
      url: c.base,
      connections: CONNECTIONS,
      amount: mine.length,
      // autocannon stamps the end of an `amount` run at its next sample tick (1 s by
      // default), which counted up to a second more than the run took.
      sampleInt: 50,
      requests: [{
        method: "POST",
        path: "/webhooks/payment",
        setupRequest: (req) => {
          const payload = mine[i++ % mine.length];
          return { ...req, headers: { "content-type": "application/json", "stripe-signature": signer.webhooks.generateTestHeaderString({ payload, secret: stripe.webhookSecret }) }, body: payload };
        },
      }],
    };
  }
  if (c.noDestinations) await setDestinations(false);
  const cpuBefore = workerdCpuMs();
  const r = await autocannon(opts);
  const cpuUsed = cpuBefore === null ? null : workerdCpuMs() - cpuBefore;
  if (c.noDestinations) await setDestinations(true);
  const rps = r.requests.total / ((r.finish - r.start) / 1000 || SECONDS);
  const cpu = cpuUsed === null || !r.requests.total ? null : cpuUsed / r.requests.total;
  // A floor case counts every answer other than the one it expects.
  const unexpected = c.expect ? r.requests.total - (r.statusCodeStats?.[c.expect]?.count ?? 0) + r.errors + r.timeouts : r.non2xx + r.errors + r.timeouts;
  return { rps, p50: r.latency.p50, p99: r.latency.p99, non2xx: unexpected, cpu };
}

const cpuText = (ms) => (ms === null || ms === undefined ? "     -" : `${ms.toFixed(2)}ms`.padStart(6));
const results = new Map(cases.map((c) => [c.name, []]));
// A target's ratio is taken against its reference run just before and just after it (their
// mean), in every round, so neither the machine's drift over a round (the ceiling moved 15%
// between rounds) nor running second lands in it.
const paired = new Map();
for (let round = 1; round <= ROUNDS; round++) {
  // Each round starts with a different case, so no case always runs first or last.
  const order = cases.map((_, i) => cases[(i + round - 1) % cases.length]);
  say(`\n== round ${round} of ${ROUNDS}`);
  for (const c of order) {
    const drained = await drain();
    const against = referencesOf(c.name).filter((a) => cases.some((r) => r.name === REFERENCE[a]));
    const referenceCase = (a) => cases.find((r) => r.name === REFERENCE[a]);
    const before = [];
    for (const a of against) before.push(await measure(referenceCase(a), round));
    const m = await measure(c, round);
    results.get(c.name).push(m);
    let pair = "";
    // Nested (A, B, case, B, A): each reference's two runs are as far from the case as each other.
    for (let i = against.length - 1; i >= 0; i--) {
      await drain();
      const after = await measure(referenceCase(against[i]), round);
      const reference = (before[i].rps + after.rps) / 2;
      const key = `${c.name}|${against[i]}`;
      paired.set(key, [...(paired.get(key) ?? []), m.rps / reference]);
      pair += `   (${against[i]} before and after: ${before[i].rps.toFixed(0)} and ${after.rps.toFixed(0)} req/s, ${(m.rps / reference).toFixed(2)}x)`;
    }
    say(`${c.name.padEnd(32)} ${m.rps.toFixed(0).padStart(6)} req/s   ${cpuText(m.cpu)} CPU   p50 ${String(m.p50).padStart(4)} ms   p99 ${String(m.p99).padStart(4)} ms   ${c.expect ? `not ${c.expect}` : "non-2xx"} ${m.non2xx}${c.drains ? `   (backlog drained in ${(drained.ms / 1000).toFixed(1)} s)` : ""}${pair}`);
  }
}

// -- deliveries per second ----------------------------------------------------------------------
const deliveredBefore = stack.d1Rows("SELECT COUNT(*) AS n FROM outbox WHERE state = 'delivered'")[0].n;
const burst = 300;
await Promise.all(Array.from({ length: 16 }, async (_, w) => {
  for (let i = w; i < burst; i += 16) {
    await fetch(`${stack.url}/apps/song-request/api/requests`, { method: "POST", headers: { "content-type": "application/json", "cf-connecting-ip": nextIp() }, body: songBody() });
  }
}));
const drainedAfterBurst = await drain(300_000);
const delivered = stack.d1Rows("SELECT COUNT(*) AS n FROM outbox WHERE state = 'delivered'")[0].n - deliveredBefore;

// -- summary ------------------------------------------------------------------------------------
const medianCpu = (runs) => (runs.every((r) => r.cpu !== null) ? median(runs.map((r) => r.cpu)) : null);
const summary = new Map([...results].map(([name, runs]) => [name, { rps: median(runs.map((r) => r.rps)), p50: median(runs.map((r) => r.p50)), p99: median(runs.map((r) => r.p99)), non2xx: runs.reduce((s, r) => s + r.non2xx, 0), cpu: medianCpu(runs) }]));
const base = summary.get("baseline: JS + one D1 insert");
const top = summary.get("ceiling: empty Worker");
say("\n== Summary (median round)");
say(`${"case".padEnd(32)} ${"req/s".padStart(7)} ${"p50".padStart(6)} ${"p99".padStart(6)} ${"non-2xx".padStart(8)} ${"x baseline".padStart(11)} ${"x ceiling".padStart(10)} ${"CPU/req".padStart(8)}`);
for (const [name, s] of summary) {
  say(`${name.padEnd(32)} ${s.rps.toFixed(0).padStart(7)} ${`${s.p50}ms`.padStart(6)} ${`${s.p99}ms`.padStart(6)} ${String(s.non2xx).padStart(8)} ${(s.rps / base.rps).toFixed(2).padStart(10)}x ${(s.rps / top.rps).toFixed(2).padStart(9)}x ${cpuText(s.cpu).padStart(8)}`);
}
say("(for a floor case, the non-2xx column counts answers other than the one it expects; CPU/req is the CPU time all");
say(" workerd processes used during the case's run, median round, divided by its requests: it includes deliveries run then)");
// Time per request (1 / req/s) between steps, from the floor cases: what each step adds; and
// the same steps in CPU time per request, where every case has it.
{
  const ms = (name) => (summary.get(name) ? 1000 / summary.get(name).rps : null);
  const cpu = (name) => summary.get(name)?.cpu ?? null;
  const steps = [
    ["an empty Worker (the ceiling)", null, "ceiling: empty Worker"],
    ["the baseline's one D1 insert", "ceiling: empty Worker", "baseline: JS + one D1 insert"],
    ["the hub's hop into the app Worker", "ceiling: empty Worker", "floor: hub to app (OPTIONS)"],
    ["edge limiter, body, validation", "floor: hub to app (OPTIONS)", "floor: + edge limit, 422"],
    ["intake's D1 batch and answer", "floor: + edge limit, 422", "intake, no destinations"],
  ];
  const step = (of, from, to) => (from === null ? of(to).toFixed(2).padStart(6) : `+${(of(to) - of(from)).toFixed(2)}`.padStart(6));
  if (steps.slice(2).every(([, from, to]) => ms(from) && ms(to))) {
    const withCpu = steps.every(([, from, to]) => cpu(to) !== null && (from === null || cpu(from) !== null));
    say(`\n== Where a free intake's time goes (ms per request = 1 / req/s, medians above${withCpu ? "; and CPU per request" : ""})`);
    for (const [what, from, to] of steps) say(`${what.padEnd(36)} ${step(ms, from, to)} ms${withCpu ? `   CPU ${step(cpu, from, to)} ms` : ""}`);
  }
}
// Judged on the median of each round's ratio to the reference runs around the case; the ratio
// of the medians in the summary is printed beside it.
say("\n== Targets (median of the rounds' paired ratios; each round; ratio of the medians above; reference's CPU per request / the case's)");
for (const [name, against, target] of [...targets, ...likeForLike]) {
  const s = summary.get(name);
  if (!s) continue;
  const rounds = paired.get(`${name}|${against}`) ?? [];
  const ratio = median(rounds);
  const ofMedians = s.rps / summary.get(REFERENCE[against]).rps;
  const verdict = target === undefined ? "(like for like, not a target)" : `target ${target.toFixed(1)}x   ${(ratio >= target ? "met" : "NOT met").padEnd(7)}`;
  // What the ratio would be if requests/s followed CPU per request alone (reference / case).
  const referenceCpu = summary.get(REFERENCE[against]).cpu;
  const byCpu = s.cpu && referenceCpu ? `   by CPU ${(referenceCpu / s.cpu).toFixed(2)}x` : "";
  say(`${name.padEnd(32)} ${ratio.toFixed(2)}x ${against.padEnd(13)}  ${verdict}   rounds ${rounds.map((r) => r.toFixed(2)).join(" ")}   of medians ${ofMedians.toFixed(2)}x${byCpu}`);
}
say(`\ndeliveries: ${delivered} delivered for ${burst} intakes x 7 destinations in ${(drainedAfterBurst.ms / 1000).toFixed(1)} s after the burst = ${(delivered / Math.max(drainedAfterBurst.ms / 1000, 0.001)).toFixed(0)} deliveries/s (${drainedAfterBurst.left} still pending)`);

await stack.stop();
baseline.stop();
ceiling.stop();
for (const fake of Object.values(fakes)) await fake.close();
