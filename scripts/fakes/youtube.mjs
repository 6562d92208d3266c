// YouTube as a connected channel sees it: Google's OAuth endpoints (authorize approves at once;
// authorization code with a refresh token, refresh) and the YouTube Data API's live endpoints
// Fanline calls: liveBroadcasts.list, liveChatMessages.list (pages by pageToken, with
// pollingIntervalMillis and offlineAt) and liveChatMessages.insert, with bearer-token checks,
// Google's error shape (`{"error": {"code", "message", "errors": [{"reason"}]}}`) and a quota
// that answers `quotaExceeded` once spent. Google publishes no local emulator for these APIs.
import crypto from "node:crypto";
import { approveAtOnce, startApi } from "./server.mjs";

export async function startYoutube({ port = 0, clientId = "fanline-google", clientSecret = "local-secret" } = {}) {
  const tokens = new Map();
  const refreshTokens = new Set();
  const codes = new Map();
  const broadcasts = []; // { id, liveChatId, status: "active" | "complete", offlineAt }
  const messages = new Map(); // liveChatId -> [message resource]
  const sent = []; // what Fanline said: { liveChatId, text, at }
  const state = { pollingIntervalMillis: 5000, quotaLeft: Infinity };

  const json = (res, status, body) => {
    res.writeHead(status, { "content-type": "application/json; charset=UTF-8" });
    res.end(JSON.stringify(body));
  };
  const error = (res, status, reason, message = reason) => json(res, status, { error: { code: status, message, errors: [{ message, domain: reason === "quotaExceeded" ? "youtube.quota" : "youtube.liveChat", reason }] } });
  const issue = () => {
    const token = `ya29.${crypto.randomBytes(16).toString("hex")}`;
    tokens.set(token, Date.now() + 3600_000);
    return token;
  };
  const authed = (req, res) => {
    const token = (req.headers.authorization ?? "").replace(/^Bearer /, "");
    if (!(tokens.get(token) > Date.now())) return error(res, 401, "authError", "Request had invalid authentication credentials."), false;
    return true;
  };
  /** Every Data API call spends quota; once it is gone, YouTube answers 403 quotaExceeded. */
  const spend = (res, units) => {
    if (state.quotaLeft < units) return error(res, 403, "quotaExceeded", "The request cannot be completed because you have exceeded your quota."), false;
    state.quotaLeft -= units;
    return true;
  };

  // Every call is logged in `calls` (method, path, query, headers, raw, json), as startApi does.
  const server = await startApi(port, async (call, res) => {
    const url = new URL(`${call.path}?${new URLSearchParams(call.query)}`, "http://x");
    const { raw, json: body } = call;
    const req = { headers: call.headers };
    const route = `${call.method} ${call.path}`;

    if (route === "GET /o/oauth2/v2/auth") {
      if (url.searchParams.get("client_id") !== clientId) return error(res, 400, "invalid_client");
      return approveAtOnce(res, url, codes, `4/${crypto.randomBytes(12).toString("hex")}`, url.searchParams.get("redirect_uri"));
    }
    if (route === "POST /token") {
      const form = Object.fromEntries(new URLSearchParams(raw));
      if (form.client_id !== clientId || form.client_secret !== clientSecret) return json(res, 401, { error: "invalid_client", error_description: "Unauthorized" });
      if (form.grant_type === "authorization_code") {
        const redirect = codes.get(form.code);
        codes.delete(form.code);
        if (!redirect || redirect !== form.redirect_uri) return json(res, 400, { error: "invalid_grant", error_description: "Bad Request" });
        const refresh = `1//${crypto.randomBytes(16).toString("hex")}`;
        refreshTokens.add(refresh);
        return json(res, 200, { access_token: issue(), expires_in: 3599, refresh_token: refresh, scope: "https://www.googleapis.com/auth/youtube.force-ssl", token_type: "Bearer" });
      }
      if (form.grant_type === "refresh_token") {
        if (!refreshTokens.has(form.refresh_token)) return json(res, 400, { error: "invalid_grant", error_description: "Token has been expired or revoked." });
        return json(res, 200, { access_token: issue(), expires_in: 3599, scope: "https://www.googleapis.com/auth/youtube.force-ssl", token_type: "Bearer" });
      }
      return json(res, 400, { error: "unsupported_grant_type" });
    }
    if (route === "GET /youtube/v3/liveBroadcasts") {
      if (!authed(req, res) || !spend(res, 1)) return;
      const id = url.searchParams.get("id");
      const found = broadcasts.filter((b) => (id ? b.id === id : url.searchParams.get("broadcastStatus") === "active" && b.status === "active"));
      return json(res, 200, { kind: "youtube#liveBroadcastListResponse", etag: "e", pageInfo: { totalResults: found.length, resultsPerPage: 5 }, items: found.map((b) => ({ kind: "youtube#liveBroadcast", etag: "e", id: b.id, snippet: { title: "Luna live", liveChatId: b.liveChatId, actualStartTime: b.startedAt } })) });
    }
    if (route === "GET /youtube/v3/liveChat/messages") {
      if (!authed(req, res) || !spend(res, 5)) return;
      const chatId = url.searchParams.get("liveChatId");
      const broadcast = broadcasts.find((b) => b.liveChatId === chatId);
      if (!broadcast) return error(res, 404, "liveChatNotFound", "The live chat that you are trying to retrieve cannot be found.");
      const all = messages.get(chatId) ?? [];
      const from = Number(url.searchParams.get("pageToken") ?? "0");
      const items = all.slice(from);
      return json(res, 200, {
        kind: "youtube#liveChatMessageListResponse",
        etag: "e",
        nextPageToken: String(all.length),
        pollingIntervalMillis: state.pollingIntervalMillis,
        offlineAt: broadcast.offlineAt ?? undefined,
        pageInfo: { totalResults: items.length, resultsPerPage: items.length },
        items,
      });
    }
    if (route === "POST /youtube/v3/liveChat/messages") {
      if (!authed(req, res) || !spend(res, 50)) return;
      const chatId = body?.snippet?.liveChatId;
      const text = body?.snippet?.textMessageDetails?.messageText;
      const broadcast = broadcasts.find((b) => b.liveChatId === chatId);
      if (!broadcast) return error(res, 404, "liveChatNotFound");
      if (broadcast.offlineAt) return error(res, 403, "liveChatEnded", "The specified live chat is no longer live.");
      if (body?.snippet?.type !== "textMessageEvent" || typeof text !== "string" || !text.length || text.length > 200) return error(res, 400, "messageTextInvalid");
      const message = { kind: "youtube#liveChatMessage", id: `LCC.${crypto.randomBytes(8).toString("hex")}`, snippet: { ...body.snippet, authorChannelId: "UCchannelowner", publishedAt: new Date().toISOString(), displayMessage: text } };
      sent.push({ liveChatId: chatId, text, at: Date.now() });
      return json(res, 200, message);
    }
    // Not YouTube's: for trying the stack by hand (docs/live.md).
    const current = () => broadcasts.filter((b) => b.status === "active").at(-1);
    if (route === "POST /_live") return json(res, 200, api.goLive());
    if (route === "POST /_end") {
      if (current()) api.end(current());
      return json(res, 200, { ended: true });
    }
    if (route === "POST /_chat") {
      if (!current()) return error(res, 404, "notLive", "POST /_live first");
      const name = String(body?.name ?? "Viewer");
      const channelId = `UC${crypto.createHash("sha256").update(name).digest("base64url").slice(0, 22)}`;
      return json(res, 200, api.say(current(), { channelId, name }, String(body?.text ?? "")));
    }
    if (route === "GET /_sent") {
      res.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
      return res.end(sent.map((m) => `${m.text}\n`).join(""));
    }
    return error(res, 404, "notFound", `no route ${route}`);
  });

  const api = {
    url: server.url,
    clientId,
    clientSecret,
    state,
    /** Issued tokens, so a test can tell a stored token from one Google would take. */
    tokens,
    refreshTokens,
    calls: server.calls,
    sent,
    broadcasts,
    /** The channel goes live: a broadcast with its chat. */
    goLive() {
      const b = { id: crypto.randomBytes(6).toString("base64url"), liveChatId: `Cg0KC${crypto.randomBytes(6).toString("hex")}`, status: "active", startedAt: new Date().toISOString() };
      broadcasts.push(b);
      messages.set(b.liveChatId, []);
      return b;
    },
    /** A viewer types `text` in the broadcast's chat. */
    say(broadcast, viewer, text, { publishedAt = new Date().toISOString() } = {}) {
      const m = {
        kind: "youtube#liveChatMessage",
        etag: "e",
        id: `LCC.${crypto.randomBytes(8).toString("hex")}`,
        snippet: { type: "textMessageEvent", liveChatId: broadcast.liveChatId, authorChannelId: viewer.channelId, publishedAt, hasDisplayContent: true, displayMessage: text, textMessageDetails: { messageText: text } },
        authorDetails: { channelId: viewer.channelId, channelUrl: `http://www.youtube.com/channel/${viewer.channelId}`, displayName: viewer.name, profileImageUrl: "", isVerified: false, isChatOwner: false, isChatSponsor: false, isChatModerator: false },
      };
      messages.get(broadcast.liveChatId).push(m);
      return m;
    },
    end(broadcast) {
      broadcast.status = "complete";
      broadcast.offlineAt = new Date().toISOString();
    },
    newViewer: (name) => ({ channelId: `UC${crypto.randomBytes(11).toString("base64url")}`, name }),
    reads: () => server.calls.filter((c) => c.method === "GET" && c.path === "/youtube/v3/liveChat/messages"),
    close: server.close,
  };
  return api;
}
