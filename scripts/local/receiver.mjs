// Local receivers for outgoing notifications. `startDiscord` answers like Discord's Execute
// Webhook endpoint (`POST /api/webhooks/{id}/{token}`); `startReceiver` records any webhook.
import crypto from "node:crypto";
import { listen, readBody, send } from "./http.mjs";

function record(store, req, url, raw) {
  let json = null;
  try {
    json = JSON.parse(raw.toString());
  } catch {}
  const entry = { method: req.method, path: url.pathname, query: Object.fromEntries(url.searchParams), headers: req.headers, raw: raw.toString(), json, at: Date.now() };
  store.push(entry);
  return entry;
}

// Discord rejects messages that break its documented limits; so does this receiver.
function discordProblem(body) {
  if (!body || typeof body !== "object") return "Cannot send an empty message";
  const embeds = body.embeds ?? [];
  if (!body.content && embeds.length === 0) return "Cannot send an empty message";
  if ((body.content ?? "").length > 2000) return "content: Must be 2000 or fewer in length.";
  if (embeds.length > 10) return "embeds: Must be 10 or fewer in length.";
  for (const e of embeds) {
    if ((e.title ?? "").length > 256 || (e.description ?? "").length > 4096) return "embeds: title or description too long";
    if ((e.fields ?? []).length > 25) return "embeds.fields: Must be 25 or fewer in length.";
    for (const f of e.fields ?? []) if (!f.name || !f.value || f.name.length > 256 || f.value.length > 1024) return "embeds.fields: invalid field";
  }
  return null;
}

export async function startDiscord({ port = 0, onMessage } = {}) {
  const messages = [];
  const server = await listen(async (req, res) => {
    const url = new URL(req.url, "http://x");
    const raw = await readBody(req);
    if (req.method === "GET" && url.pathname === "/_messages") return send(res, 200, messages.map(({ path, query, json, at }) => ({ path, query, body: json, at })));
    if (req.method !== "POST" || !/^\/api\/webhooks\/\d+\/[\w-]+$/.test(url.pathname)) return send(res, 404, { message: "Unknown Webhook", code: 10015 });
    const entry = record(messages, req, url, raw);
    const problem = discordProblem(entry.json);
    if (problem) {
      messages.pop();
      return send(res, 400, { message: "Invalid Form Body", code: 50035, errors: { detail: problem } });
    }
    const message = { id: String(BigInt(Date.now()) << 22n), type: 0, channel_id: "100000000000000001", webhook_id: url.pathname.split("/")[3], ...entry.json };
    onMessage?.(entry);
    return url.searchParams.get("wait") === "true" ? send(res, 200, message) : (res.writeHead(204), res.end());
  }, port);
  return { ...server, webhookUrl: `${server.url}/api/webhooks/123456789012345678/${crypto.randomBytes(8).toString("hex")}`, messages };
}

/**
 * Records every request; `respond(entry)` may return `{status, body, headers, delayMs}` to
 * answer otherwise (`delayMs`: answer that late, as a slow receiver would).
 */
export async function startReceiver({ respond, port = 0, onMessage } = {}) {
  const received = [];
  const handler = { respond };
  const server = await listen(async (req, res) => {
    const url = new URL(req.url, "http://x");
    if (req.method === "GET" && url.pathname === "/_messages") return send(res, 200, received.map(({ path, headers, json, at }) => ({ path, headers, body: json, at })));
    const entry = record(received, req, url, await readBody(req));
    onMessage?.(entry);
    const answer = handler.respond?.(entry) ?? { status: 204 };
    if (answer.delayMs) await new Promise((r) => setTimeout(r, answer.delayMs));
    if (res.destroyed) return;
    res.writeHead(answer.status, answer.headers ?? {});
    if (answer.endless) {
      // An answer that never ends (a broken or hostile receiver): stream until the caller hangs up.
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      const timer = setInterval(() => (res.destroyed ? clearInterval(timer) : res.write(chunk)), 5);
      res.on("close", () => clearInterval(timer));
      return;
    }
    res.end(answer.body === undefined ? undefined : JSON.stringify(answer.body));
  }, port);
  return { ...server, received, handler };
}

/** Answers like SendGrid's `POST /v3/mail/send`: 202 for a valid message, 400 or 401 otherwise. */
export async function startMail({ apiKey = "SG.local-test-key", port = 0, onMessage } = {}) {
  const mails = [];
  const server = await listen(async (req, res) => {
    const url = new URL(req.url, "http://x");
    const raw = await readBody(req);
    if (req.method === "GET" && url.pathname === "/_messages") return send(res, 200, mails.map(({ raw: _raw, ...m }) => m));
    if (req.method !== "POST" || url.pathname !== "/v3/mail/send") return send(res, 404, { errors: [{ message: "Not found" }] });
    if (req.headers.authorization !== `Bearer ${apiKey}`) return send(res, 401, { errors: [{ field: null, message: "The provided authorization grant is invalid, expired, or revoked" }] });
    const entry = record([], req, url, raw);
    const m = entry.json ?? {};
    const problems = [];
    if (!m.personalizations?.[0]?.to?.[0]?.email) problems.push({ field: "personalizations.0.to", message: "The to array is required for all personalization objects" });
    if (!m.from?.email) problems.push({ field: "from.email", message: "The from email does not contain a valid address." });
    if (!m.subject) problems.push({ field: "subject", message: "The subject is required." });
    if (!m.content?.[0]?.value) problems.push({ field: "content", message: "The content value must be a string at least one character in length." });
    if (problems.length) return send(res, 400, { errors: problems });
    mails.push({ to: m.personalizations[0].to[0].email, from: m.from.email, subject: m.subject, text: m.content[0].value, raw: m });
    onMessage?.(mails.at(-1));
    res.writeHead(202);
    res.end();
  }, port);
  return { ...server, apiKey, mails };
}
