// Trello REST v1 (cards on a board's lists): the same paths, authentication, validation
// errors and resource shapes as the real API, with a call log (`GET /_calls`) so tests can
// check the wire format.
import { alnum, hex, send, startApi } from "./server.mjs";

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
