// Plumbing shared by the local stand-ins in this folder: reading bodies, answering JSON, a
// loopback listener, a call log, and answers that arrive late (a lost answer).
import crypto from "node:crypto";
import http from "node:http";

/** Random ids shaped like the real services' (hex, or letters and digits). */
export const hex = (n) => crypto.randomBytes(n).toString("hex").slice(0, n);
export const alnum = (n) => crypto.randomBytes(n * 2).toString("base64").replace(/[^A-Za-z0-9]/g, "").slice(0, n);

export function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

export function send(res, status, body, headers = {}) {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  res.writeHead(status, { "content-type": typeof body === "string" ? "text/html; charset=utf-8" : "application/json", ...headers });
  res.end(text);
}

/** Starts `handler` on a loopback port (0: a free one); resolves to { url, port, server, close }. */
export function listen(handler, port = 0) {
  const server = http.createServer((req, res) => {
    Promise.resolve(handler(req, res)).catch((err) => send(res, 500, { error: { message: String(err) } }));
  });
  return new Promise((resolve) => {
    server.listen(port, "127.0.0.1", () => {
      const { port } = server.address();
      resolve({ url: `http://127.0.0.1:${port}`, port, server, close: () => new Promise((r) => server.close(r)) });
    });
  });
}

/** Keeps one incoming request (method, path, query, headers, body) in `store`. */
export function record(store, req, url, raw) {
  let json = null;
  try {
    json = JSON.parse(raw.toString());
  } catch {}
  const entry = { method: req.method, path: url.pathname, query: Object.fromEntries(url.searchParams), headers: req.headers, raw: raw.toString(), json, at: Date.now() };
  store.push(entry);
  return entry;
}

/**
 * Shared plumbing: body parsing, a call log, and `GET /_calls`. `handler.respond(call)` may
 * return `{status, body}` to fail a call on purpose (an outage) instead of serving it;
 * `handler.delayMs(call)` may return a delay to serve the call at once but answer that late
 * (the caller times out although the work was done: a lost answer).
 */
export async function startApi(port, route) {
  const calls = [];
  const handler = {};
  const server = await listen(async (req, res) => {
    const url = new URL(req.url, "http://x");
    const raw = (await readBody(req)).toString();
    if (req.method === "GET" && url.pathname === "/_calls") return send(res, 200, calls);
    let json = null;
    try {
      json = JSON.parse(raw);
    } catch {}
    const call = { method: req.method, path: url.pathname, query: Object.fromEntries(url.searchParams), headers: req.headers, raw, json, form: Object.fromEntries(new URLSearchParams(raw)), at: Date.now() };
    calls.push(call);
    const forced = handler.respond?.(call);
    if (forced) return send(res, forced.status, forced.body ?? { message: "failing on purpose" });
    const delay = handler.delayMs?.(call);
    return route(call, delay ? answerLate(res, delay) : res);
  }, port);
  return { url: server.url, calls, handler, close: server.close };
}

/** A response whose head and body are written `ms` later. */
function answerLate(res, ms) {
  let head = [];
  return {
    writeHead: (...args) => (head = args),
    end: (...args) => setTimeout(() => {
      if (res.destroyed) return;
      res.writeHead(...head);
      res.end(...args);
    }, ms),
  };
}

/**
 * An OAuth authorize page that approves at once: remembers `code` with what `grant` says about
 * it, and sends the browser back to `redirect_uri` with the code, the scope and the state.
 */
export function approveAtOnce(res, url, codes, code, grant) {
  codes.set(code, grant);
  const to = new URL(url.searchParams.get("redirect_uri"));
  to.searchParams.set("code", code);
  to.searchParams.set("scope", url.searchParams.get("scope") ?? "");
  to.searchParams.set("state", url.searchParams.get("state") ?? "");
  res.writeHead(302, { location: to.toString() });
  res.end();
}

/** Sends a webhook the way a provider would, and reads the answer: `{status, data, text}`. */
export async function deliverWebhook(url, headers, body) {
  const response = await fetch(url, { method: "POST", headers, body });
  const text = await response.text();
  let data = null;
  try {
    data = JSON.parse(text);
  } catch {}
  return { status: response.status, data, text };
}
