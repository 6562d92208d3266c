// A creator's webhook endpoint: records every request (a test checks the Standard Webhooks
// signature with the official library) and answers as told, slowly, failing or endlessly.
import { listen, readBody, record, send } from "./server.mjs";

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
