// SendGrid's Mail Send API (`POST /v3/mail/send`), the platform's mail account.
import { listen, readBody, record, send } from "./server.mjs";

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
