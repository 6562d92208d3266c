// How the creator console's reads scale: each KPI and queue endpoint timed on the local runtime
// with 1,000 song requests, then again with 100,000 (the issue's bar), and the ratio between
// the two. The rows are made inside D1 by recursive SQL (the same shape intake writes: the
// request, its state history, paid and refunded ones), so seeding takes seconds. Figures
// only, no pass/fail. Environment: KPI_BENCH_RUNS (7 timed calls per endpoint, median shown),
// KPI_BENCH_ROWS (100000).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startStack } from "../stack.mjs";
import { startStripe } from "../fakes/stripe.mjs";
import { startMail } from "../fakes/sendgrid.mjs";

const RUNS = Number(process.env.KPI_BENCH_RUNS ?? 7);
const ROWS = Number(process.env.KPI_BENCH_ROWS ?? 100_000);
const DAY = 86_400_000;
const say = (line = "") => console.log(line);
const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const stripe = await startStripe();
const mail = await startMail();
const stack = await startStack({ stateDir: fs.mkdtempSync(path.join(os.tmpdir(), "fanline-kpi-bench-")), stripe, mail });
const [creator] = stack.creators;
const now = Date.now();

/** Requests [from, to) of song-request, spread over 90 days; every other one paid. */
function seed(from, to) {
  for (let start = from; start < to; start += 20_000) {
    const end = Math.min(start + 20_000, to);
    const ids = `id BETWEEN printf('req_%032x', ${start}) AND printf('req_%032x', ${end - 1})`;
    stack.d1(`WITH RECURSIVE n(i) AS (SELECT ${start} UNION ALL SELECT i + 1 FROM n WHERE i < ${end - 1})
      INSERT INTO requests (id, app_slug, status, version, fields, add_ons, amount, currency, price_lines, fan_email, provider, priority, fan_key, moderation, amount_refunded, created_at, updated_at)
      SELECT printf('req_%032x', i), 'song-request',
             CASE WHEN i % 10 = 0 THEN 'queued' WHEN i % 38 = 0 THEN 'refunded' ELSE 'fulfilled' END, 4,
             json_object('song', 'Song ' || (i % 500)), CASE WHEN i % 2 = 0 THEN '["priority"]' ELSE '[]' END,
             CASE WHEN i % 2 = 0 THEN 300 ELSE 0 END, 'usd',
             CASE WHEN i % 2 = 0 THEN '[{"label":"Priority: played next","amount":300}]' ELSE '[]' END,
             'fan' || (i % 5000) || '@example.com', CASE WHEN i % 2 = 0 THEN 'stripe' ELSE 'none' END, i % 2 = 0,
             'email:fan' || (i % 5000) || '@example.com', '{"decision":"allow","reasons":[]}',
             CASE WHEN i % 38 = 0 THEN 300 ELSE 0 END, ${now} - 600000 - (i * 2654435761) % ${90 * DAY}, ${now}
        FROM n`);
    stack.d1(`INSERT INTO request_events (request_id, seq, type, status, actor, at)
      SELECT id, 1, 'request.created', 'created', 'fan', created_at FROM requests WHERE ${ids}
      UNION ALL SELECT id, 2, 'request.paid', 'paid', 'stripe', created_at + 500 FROM requests WHERE ${ids} AND amount > 0
      UNION ALL SELECT id, 3, 'request.queued', 'queued', 'fan', created_at + 1000 FROM requests WHERE ${ids}
      UNION ALL SELECT id, 4, 'request.fulfilled', 'fulfilled', 'creator', created_at + 60000 + (rowid * 7919) % ${DAY} FROM requests WHERE ${ids} AND status != 'queued'`);
  }
  const n = stack.d1Rows("SELECT COUNT(*) AS n FROM requests WHERE app_slug = 'song-request'")[0].n;
  if (n < to) throw new Error(`seeding stopped at ${n} requests; see ${stack.logFile}`);
}

async function time(path, init = {}) {
  const ms = [];
  let status = 0;
  // The first, untimed call warms the isolate and D1's page cache.
  for (let i = 0; i < RUNS; i++) {
    const call = () => fetch(`${stack.url}${path}`, { ...init, headers: { authorization: `Bearer ${creator.apiKey}`, ...(init.headers ?? {}) } });
    // After seeding, the kept-alive connection may have been closed by the server while idle.
    if (i === 0) await call().then((r) => r.arrayBuffer()).catch(() => {});
    const t = performance.now();
    const r = await call();
    await r.arrayBuffer();
    ms.push(performance.now() - t);
    status = r.status;
  }
  if (status >= 300) throw new Error(`${path} answered ${status}`);
  return median(ms);
}

const queuedId = `req_${(10).toString(16).padStart(32, "0")}`;
const cases = [
  ["KPIs, song-request, 7 days", "/api/kpis?app=song-request&days=7"],
  ["KPIs, song-request, 30 days", "/api/kpis?app=song-request&days=30"],
  ["KPIs, song-request, 90 days", "/api/kpis?app=song-request&days=90"],
  ["KPIs, all apps, 90 days", "/api/kpis?days=90"],
  ["KPI table as CSV, 90 days", "/api/kpis?days=90&format=csv"],
  ["queue, waiting on the creator", "/api/requests?status=in_queue"],
  ["queue, text search", "/api/requests?status=all&q=Song%2042"],
  ["requests CSV (1,000 rows)", "/api/requests?status=all&format=csv"],
  ["fan status: place + estimate", `/apps/song-request/api/requests/${queuedId}`],
  ["form view counted", "/apps/song-request/api/views", { method: "POST" }],
];

const figures = new Map();
for (const size of [1_000, ROWS]) {
  const before = stack.d1Rows("SELECT COUNT(*) AS n FROM requests WHERE app_slug = 'song-request'")[0].n;
  const t = performance.now();
  seed(before, size);
  say(`seeded ${size.toLocaleString("en")} song requests (${((performance.now() - t) / 1000).toFixed(1)} s)`);
  for (const [name, p, init] of cases) {
    figures.set(`${name}@${size}`, await time(p, init));
  }
}

say(`\n== Console reads: median of ${RUNS} calls, one at a time`);
say(`${"endpoint".padEnd(34)} ${"1,000 req".padStart(10)} ${`${ROWS.toLocaleString("en")} req`.padStart(12)} ${"ratio".padStart(7)}`);
for (const [name] of cases) {
  const small = figures.get(`${name}@1000`);
  const big = figures.get(`${name}@${ROWS}`);
  say(`${name.padEnd(34)} ${`${small.toFixed(1)} ms`.padStart(10)} ${`${big.toFixed(1)} ms`.padStart(12)} ${`${(big / small).toFixed(1)}x`.padStart(7)}`);
}
await stack.stop();
await stripe.close();
await mail.close();
