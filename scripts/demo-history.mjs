// Demo history for the local marketplace: a few hundred requests over the last 90 days (free
// and paid, some refunded, fulfilled at different speeds, some still waiting), their state
// history, form views and a few ratings, so the console looks like a real creator's on first
// run. Written as SQL rows, the same shape intake and the lifecycle write; deterministic.
const DAY = 86_400_000;
const HOUR = 3_600_000;

/** A small fixed-seed generator (mulberry32), so every run seeds the same history. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const q = (v) => (v === null || v === undefined ? "NULL" : typeof v === "number" ? String(v) : `'${String(v).replaceAll("'", "''")}'`);
const SONGS = ["Wonderwall", "Bohemian Rhapsody", "Levitating", "Mr. Brightside", "Dreams", "Take On Me", "Africa", "Blinding Lights", "Hey Jude", "Valerie", "Superstition", "Heroes"];
const FANS = Array.from({ length: 60 }, (_, i) => `fan${i + 1}@example.com`);

/** SQL that adds the history for `song-request` (priced by its manifest) as of `now`. */
export function demoHistorySql({ now = Date.now(), count = 320, seed = 13 } = {}) {
  const r = rng(seed);
  const pick = (list) => list[Math.floor(r() * list.length)];
  const lines = [];
  for (let i = 0; i < count; i++) {
    // More requests recently: the stream is growing.
    const age = Math.floor(Math.pow(r(), 1.6) * 90 * DAY);
    const created = now - age - 10 * 60_000;
    const id = `req_${(0x10000000 + i).toString(16)}${Math.floor(r() * 2 ** 48).toString(16).padStart(12, "0")}${"0".repeat(12)}`.slice(0, 36);
    const paid = r() < 0.45;
    const tip = paid && r() < 0.3 ? pick([200, 500, 1000]) : 0;
    const priceLines = paid ? [{ label: "Priority: played next", amount: 300 }, ...(tip ? [{ label: "Tip", amount: tip }] : [])] : [];
    const amount = priceLines.reduce((s, l) => s + l.amount, 0);
    const email = r() < 0.7 ? pick(FANS) : null;
    const fields = { song: pick(SONGS), ...(email ? { email } : {}) };
    // Older requests are done; recent ones may still wait.
    const waiting = age < 2 * DAY && r() < 0.5;
    const refunded = paid && !waiting && r() < 0.08 ? amount : 0;
    const hours = r() < 0.6 ? r() * 6 : r() < 0.8 ? 6 + r() * 18 : 24 + r() * 96;
    const fulfilledAt = Math.min(created + Math.floor(hours * HOUR), now - 60_000);
    const events = [["request.created", "created"], ["request.validated", "validated"]];
    if (paid) events.push(["request.awaiting_payment", "awaiting_payment"], ["request.paid", "paid"]);
    events.push(["request.queued", "queued"]);
    let status = "queued";
    if (!waiting) {
      events.push(["request.accepted", "accepted"], ["request.fulfilled", "fulfilled"]);
      status = "fulfilled";
      if (refunded) events.push(["request.refunded", "refunded"]), (status = "refunded");
    }
    const fanKey = email ? `email:${email}` : `ip:203.0.113.${i % 250}`;
    lines.push(
      `INSERT INTO requests (id, app_slug, status, version, fields, add_ons, amount, currency, price_lines, fan_email, provider, priority, fan_key, moderation, payment_intent_id, amount_refunded, created_at, updated_at) VALUES (${[
        id, "song-request", status, events.length, JSON.stringify(fields), JSON.stringify(paid ? ["priority"] : []), amount, "usd", JSON.stringify(priceLines), email, paid ? "stripe" : "none", paid ? 1 : 0, fanKey,
        JSON.stringify({ decision: "allow", reasons: [] }), paid ? `pi_demo_${i}` : null, refunded, created, waiting ? created : fulfilledAt,
      ].map(q).join(", ")});`,
    );
    events.forEach(([type, st], seq) => {
      const at = st === "fulfilled" ? fulfilledAt : st === "refunded" ? fulfilledAt + HOUR : st === "accepted" ? Math.min(created + 60_000 * 5, fulfilledAt) : created + seq * 1000;
      lines.push(`INSERT INTO request_events (request_id, seq, type, status, actor, at) VALUES (${[id, seq + 1, type, st, seq < 4 ? "fan" : "creator", at].map(q).join(", ")});`);
    });
    if (refunded) lines.push(`INSERT INTO refunds (id, request_id, amount, reason, actor, created_at) VALUES (${[`re_demo_${i}`, id, refunded, "could not play it", "creator", fulfilledAt + HOUR].map(q).join(", ")});`);
    if (status === "fulfilled" && r() < 0.25) lines.push(`INSERT INTO ratings (request_id, app_slug, stars, comment, at) VALUES (${[id, "song-request", 3 + Math.floor(r() * 3), null, fulfilledAt + 2 * HOUR].map(q).join(", ")});`);
  }
  // Form views: about eight per request, per day.
  for (let d = 0; d < 90; d++) {
    const day = Math.floor((now - d * DAY) / DAY);
    lines.push(`INSERT INTO form_views (app_slug, day, views) VALUES ('song-request', ${day}, ${Math.round((count / 90) * 8 * (1.6 - d / 90) * (0.7 + r() * 0.6))});`);
  }
  return lines.join("\n");
}
