// Discord's Execute Webhook endpoint (`POST /api/webhooks/{id}/{token}`), with its documented
// message limits and answers; `GET /_messages` lists what it accepted.
import crypto from "node:crypto";
import { listen, readBody, record, send } from "./server.mjs";

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
