// Local stand-ins for the fulfilment targets' APIs: Trello (cards), Twilio (Messages), Notion
// (pages) and Airtable (records). No registry package serves these APIs, so each answers the way
// the real one documents: the same paths, authentication, validation errors and resource shapes,
// and records what it was sent (`GET /_calls`) so tests can check the wire format.
import crypto from "node:crypto";
import { listen, readBody, send } from "./http.mjs";

const hex = (n) => crypto.randomBytes(n).toString("hex").slice(0, n);
const alnum = (n) => crypto.randomBytes(n * 2).toString("base64").replace(/[^A-Za-z0-9]/g, "").slice(0, n);

/**
 * Shared plumbing: body parsing, a call log, and `GET /_calls`. `handler.respond(call)` may
 * return `{status, body}` to fail a call on purpose (an outage) instead of serving it;
 * `handler.delayMs(call)` may return a delay to serve the call at once but answer that late
 * (the caller times out although the work was done: a lost answer).
 */
async function startApi(port, route) {
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
 * Trello REST v1: `POST /1/cards`, `PUT /1/cards/{id}`, `POST /1/cards/{id}/actions/comments`,
 * `GET /1/lists/{id}/cards?fields=...`.
 * Credentials come in `Authorization: OAuth oauth_consumer_key="...", oauth_token="..."`.
 */
export async function startTrello({ port = 0 } = {}) {
  const key = hex(32);
  const token = `ATTA${hex(60)}`;
  const lists = { todo: hex(24), done: hex(24) };
  const board = hex(24);
  const cards = new Map();
  const comments = [];
  const api = await startApi(port, (call, res) => {
    const text = (status, message) => (res.writeHead(status, { "content-type": "text/plain; charset=utf-8" }), res.end(message));
    const auth = /^OAuth oauth_consumer_key="([^"]*)", oauth_token="([^"]*)"$/.exec(call.headers.authorization ?? "");
    if (!auth || auth[1] !== key) return text(401, "invalid key");
    if (auth[2] !== token) return text(401, "invalid token");
    const body = call.json ?? {};
    if (call.method === "POST" && call.path === "/1/cards") {
      if (!Object.values(lists).includes(body.idList)) return text(400, "invalid value for idList");
      if (typeof body.name === "string" && body.name.length > 16384) return text(400, "invalid value for name");
      const id = hex(24);
      const card = { id, idList: body.idList, idBoard: board, name: body.name ?? "", desc: body.desc ?? "", closed: false, pos: 16384 * (cards.size + 1), shortUrl: `https://trello.com/c/${alnum(8)}`, url: `https://trello.com/c/${id}`, dateLastActivity: new Date().toISOString() };
      cards.set(id, card);
      return send(res, 200, card);
    }
    const listed = /^\/1\/lists\/([^/]+)\/cards$/.exec(call.path);
    if (call.method === "GET" && listed) {
      if (!Object.values(lists).includes(listed[1])) return text(400, "invalid id");
      const fields = (call.query.fields ?? "all").split(",");
      const pick = (card) => (fields.includes("all") ? card : Object.fromEntries(["id", ...fields].map((f) => [f, card[f]])));
      return send(res, 200, [...cards.values()].filter((c) => c.idList === listed[1] && !c.closed).map(pick));
    }
    const m = /^\/1\/cards\/([^/]+)(\/actions\/comments)?$/.exec(call.path);
    if (!m) return text(404, "Cannot " + call.method + " " + call.path);
    const card = cards.get(m[1]);
    if (!card) return text(404, "The requested resource was not found.");
    if (call.method === "PUT" && !m[2]) {
      if (body.idList !== undefined) {
        if (!Object.values(lists).includes(body.idList)) return text(400, "invalid value for idList");
        card.idList = body.idList;
      }
      return send(res, 200, card);
    }
    if (call.method === "POST" && m[2]) {
      if (!body.text) return text(400, "invalid value for text");
      const action = { id: hex(24), idMemberCreator: hex(24), type: "commentCard", date: new Date().toISOString(), data: { text: body.text, card: { id: card.id, name: card.name } } };
      comments.push(action);
      return send(res, 200, action);
    }
    return text(404, "Cannot " + call.method + " " + call.path);
  });
  return { ...api, key, token, lists, cards, comments };
}

/** Twilio Programmable Messaging: `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`. */
export async function startTwilio({ port = 0 } = {}) {
  const accountSid = `AC${hex(32)}`;
  const authToken = hex(32);
  const messages = [];
  const api = await startApi(port, (call, res) => {
    const error = (status, code, message) => send(res, status, { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status });
    const expected = `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString("base64")}`;
    const m = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/.exec(call.path);
    if (call.headers.authorization !== expected) return error(401, 20003, "Authenticate");
    if (!m || m[1] !== accountSid || call.method !== "POST") return error(404, 20404, `The requested resource ${call.path} was not found`);
    if (!String(call.headers["content-type"]).startsWith("application/x-www-form-urlencoded")) return error(400, 21602, "Message body is required.");
    const { To, From, Body } = call.form;
    if (!To) return error(400, 21604, "A 'To' phone number is required.");
    if (!/^\+[1-9]\d{7,14}$/.test(To)) return error(400, 21211, `The 'To' number ${To} is not a valid phone number.`);
    if (!From) return error(400, 21603, "A 'From' phone number is required.");
    if (!Body) return error(400, 21602, "Message body is required.");
    if (Body.length > 1600) return error(400, 21617, "The concatenated message body exceeds the 1600 character limit.");
    const sid = `SM${hex(32)}`;
    const message = { sid, account_sid: accountSid, to: To, from: From, body: Body, status: "queued", direction: "outbound-api", num_segments: String(Math.ceil(Body.length / 153) || 1), api_version: "2010-04-01", date_created: new Date().toUTCString(), uri: `/2010-04-01/Accounts/${accountSid}/Messages/${sid}.json` };
    messages.push(message);
    return send(res, 201, message);
  });
  return { ...api, accountSid, authToken, messages, from: "+15005550006", to: "+15551234567" };
}

/** Notion API: `POST /v1/pages` into a database whose title property is `Name`. */
export async function startNotion({ port = 0 } = {}) {
  const token = `ntn_${alnum(40)}`;
  const databaseId = crypto.randomUUID();
  const pages = [];
  const api = await startApi(port, (call, res) => {
    const error = (status, code, message) => send(res, status, { object: "error", status, code, message });
    if (call.headers.authorization !== `Bearer ${token}`) return error(401, "unauthorized", "API token is invalid.");
    if (!call.headers["notion-version"]) return error(400, "missing_version", "Notion-Version header failed validation: Notion-Version header should be defined, instead was `undefined`.");
    if (call.method !== "POST" || call.path !== "/v1/pages") return error(400, "invalid_request_url", "Invalid request URL.");
    const body = call.json;
    if (!body) return error(400, "invalid_json", "Error parsing JSON body.");
    const parent = String(body.parent?.database_id ?? "").replace(/-/g, "");
    if (parent !== databaseId.replace(/-/g, "")) return error(404, "object_not_found", `Could not find database with ID: ${body.parent?.database_id}. Make sure the relevant pages and databases are shared with your integration.`);
    const names = Object.keys(body.properties ?? {});
    const unknown = names.find((n) => n !== "Name");
    if (unknown) return error(400, "validation_error", `${unknown} is not a property that exists.`);
    const title = body.properties?.Name?.title;
    if (!Array.isArray(title)) return error(400, "validation_error", "body.properties.Name.title should be an array.");
    const blocks = body.children ?? [];
    if (blocks.length > 100) return error(400, "validation_error", "body.children.length should be ≤ `100`.");
    for (const text of [...title, ...blocks.flatMap((b) => b.paragraph?.rich_text ?? [])]) {
      if ((text.text?.content ?? "").length > 2000) return error(400, "validation_error", "body.children[0].paragraph.rich_text[0].text.content.length should be ≤ `2000`.");
    }
    const id = crypto.randomUUID();
    const page = { object: "page", id, created_time: new Date().toISOString(), parent: { type: "database_id", database_id: databaseId }, archived: false, properties: body.properties, url: `https://www.notion.so/${id.replace(/-/g, "")}` };
    pages.push({ ...page, children: blocks });
    return send(res, 200, page);
  });
  return { ...api, token, databaseId, pages };
}

/**
 * Airtable Web API: `POST /v0/{baseId}/{tableIdOrName}` creating records (at most 10), and
 * `GET` on the same path listing them with `filterByFormula` and `maxRecords`.
 */
export async function startAirtable({ port = 0, fields = ["Request", "App", "Title", "Status", "Price", "Link", "Details", "Created"] } = {}) {
  const token = `pat${alnum(14)}.${hex(64)}`;
  const baseId = `app${alnum(14)}`;
  const table = "Fan requests";
  const records = [];
  const api = await startApi(port, (call, res) => {
    const error = (status, type, message) => send(res, status, { error: message ? { type, message } : type });
    if (call.headers.authorization !== `Bearer ${token}`) return error(401, "AUTHENTICATION_REQUIRED", "Authentication required");
    const m = /^\/v0\/([^/]+)\/([^/]+)$/.exec(call.path);
    if (!m || m[1] !== baseId) return error(404, "NOT_FOUND");
    if (decodeURIComponent(m[2]) !== table) return error(404, "TABLE_NOT_FOUND", `Could not find table ${decodeURIComponent(m[2])} in application ${baseId}`);
    if (call.method === "GET") {
      // filterByFormula: the subset Fanline sends, AND({Field}='text',...) of exact matches.
      const formula = call.query.filterByFormula ?? "";
      const conditions = [...formula.matchAll(/\{([^}]+)\}='((?:[^'\\]|\\.)*)'/g)].map(([, field, value]) => [field, value.replace(/\\(.)/g, "$1")]);
      if (formula && conditions.length === 0) return error(422, "INVALID_FILTER_BY_FORMULA", "The formula for filtering records is invalid");
      const matching = records.filter((r) => conditions.every(([field, value]) => String(r.fields[field] ?? "") === value));
      const max = Number(call.query.maxRecords ?? matching.length);
      return send(res, 200, { records: matching.slice(0, max) });
    }
    if (call.method !== "POST") return error(404, "NOT_FOUND");
    const list = call.json?.records;
    if (!Array.isArray(list) || list.length < 1 || list.length > 10) return error(422, "INVALID_RECORDS", "You must provide an array of up to 10 record objects, each with a fields key.");
    for (const r of list) {
      const unknown = Object.keys(r.fields ?? {}).find((f) => !fields.includes(f));
      if (unknown) return error(422, "UNKNOWN_FIELD_NAME", `Unknown field name: "${unknown}"`);
    }
    const created = list.map((r) => ({ id: `rec${alnum(14)}`, createdTime: new Date().toISOString(), fields: r.fields }));
    records.push(...created);
    return send(res, 200, { records: created });
  });
  return { ...api, token, baseId, table, records };
}
