// Twitch as a connected channel sees it: the OAuth endpoints (authorize approves at once as the
// broadcaster; client credentials, authorization code, refresh with rotation), and the Helix
// endpoints Fanline calls, with Twitch's auth checks (Client-Id must match the token's, app
// tokens for webhook subscriptions, user tokens with the right scopes for the rest) and error
// shape `{error, status, message}`. Subscribing sends the webhook_callback_verification
// challenge; `chat()` and `redeem()` deliver notifications signed as Twitch signs them
// (HMAC-SHA256 over message id + timestamp + body, Node's crypto), so tests sign nothing
// themselves and verification is checked against an independent implementation.
// Twitch's own CLI (`twitch event trigger`, `twitch mock-api`) is a Go binary outside the
// package registries this project installs from, hence this stand-in.
import crypto from "node:crypto";
import { approveAtOnce, startApi } from "./server.mjs";

const id = () => crypto.randomUUID();
const digits = (n) => String(crypto.randomInt(10 ** (n - 1), 10 ** n));

export function signEventSub(secret, messageId, timestamp, body) {
  return "sha256=" + crypto.createHmac("sha256", secret).update(messageId + timestamp + body).digest("hex");
}

export async function startTwitch({ port = 0, clientId = "fanline-twitch", clientSecret = "local-secret", broadcaster = { id: "10010", login: "djluna" } } = {}) {
  const tokens = new Map(); // access token -> { kind: "app" | "user", userId, scopes, clientId, expiresAt }
  const refreshTokens = new Map(); // refresh token -> { userId, scopes }
  const codes = new Map(); // code -> { redirectUri, scopes }
  const rewards = new Map(); // reward id -> { id, broadcaster_id, title, cost, clientId }
  const redemptions = new Map(); // redemption id -> { id, reward_id, broadcaster_id, user_id, status }
  const subscriptions = new Map();
  const chat = []; // messages the bot sent
  const deliveries = []; // { messageId, type, status, body }
  const state = { tokenLifetimeSecs: 14400, failChat: 0 };

  const issue = (kind, userId, scopes) => {
    const access = crypto.randomBytes(15).toString("hex");
    tokens.set(access, { kind, userId, scopes, clientId, expiresAt: Date.now() + state.tokenLifetimeSecs * 1000 });
    return access;
  };
  const error = (res, status, message) => json(res, status, { error: { 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 409: "Conflict" }[status] ?? "Error", status, message });
  function json(res, status, body) {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(body === undefined ? "" : JSON.stringify(body));
  }
  /** Twitch's checks on a Helix call: a live token, the Client-Id it was issued to, its kind and scopes. */
  function auth(req, res, { kind, scopes = [] }) {
    const bearer = (req.headers.authorization ?? "").replace(/^Bearer /, "");
    const token = tokens.get(bearer);
    if (!token || token.expiresAt < Date.now()) return error(res, 401, "Invalid OAuth token"), null;
    if (req.headers["client-id"] !== token.clientId) return error(res, 401, "Client ID and OAuth token do not match"), null;
    if (kind && token.kind !== kind) return error(res, kind === "app" ? 400 : 401, kind === "app" ? "invalid transport and auth combination" : "User access token required"), null;
    const missing = scopes.filter((s) => !token.scopes.includes(s));
    if (missing.length) return error(res, 401, `Missing scope: ${missing.join(" ")}`), null;
    return token;
  }

  async function deliver(sub, type, payload, { messageId = id(), timestamp = new Date().toISOString(), signWith } = {}) {
    const body = JSON.stringify(payload);
    const headers = {
      "content-type": "application/json",
      "twitch-eventsub-message-id": messageId,
      "twitch-eventsub-message-retry": "0",
      "twitch-eventsub-message-type": type,
      "twitch-eventsub-message-signature": signEventSub(signWith ?? sub.transport.secret, messageId, timestamp, body),
      "twitch-eventsub-message-timestamp": timestamp,
      "twitch-eventsub-subscription-type": sub.type,
      "twitch-eventsub-subscription-version": sub.version,
    };
    const response = await fetch(sub.transport.callback, { method: "POST", headers, body });
    const text = await response.text();
    deliveries.push({ messageId, type, status: response.status, body: text });
    return { status: response.status, text, messageId };
  }
  const publicSub = (s) => ({ id: s.id, status: s.status, type: s.type, version: s.version, condition: s.condition, transport: { method: "webhook", callback: s.transport.callback }, created_at: s.created_at, cost: 0 });

  // Every call is logged in `calls` (method, path, query, headers, raw, json), as startApi does.
  const server = await startApi(port, async (call, res) => {
    const url = new URL(`${call.path}?${new URLSearchParams(call.query)}`, "http://x");
    const { raw, json: body } = call;
    const req = { headers: call.headers };
    const route = `${call.method} ${call.path}`;

    if (route === "GET /oauth2/authorize") {
      if (url.searchParams.get("client_id") !== clientId) return error(res, 400, "invalid client");
      const scopes = (url.searchParams.get("scope") ?? "").split(" ").filter(Boolean);
      return approveAtOnce(res, url, codes, crypto.randomBytes(15).toString("hex"), { redirectUri: url.searchParams.get("redirect_uri"), scopes });
    }
    if (route === "POST /oauth2/token") {
      const form = Object.fromEntries(new URLSearchParams(raw));
      if (form.client_id !== clientId || form.client_secret !== clientSecret) return json(res, 403, { status: 403, message: "invalid client secret" });
      if (form.grant_type === "client_credentials") return json(res, 200, { access_token: issue("app", null, []), expires_in: 5011271, token_type: "bearer" });
      if (form.grant_type === "authorization_code") {
        const grant = codes.get(form.code);
        codes.delete(form.code);
        if (!grant || grant.redirectUri !== form.redirect_uri) return json(res, 400, { status: 400, message: "Invalid authorization code" });
        const refresh = crypto.randomBytes(25).toString("hex");
        refreshTokens.set(refresh, { userId: broadcaster.id, scopes: grant.scopes });
        return json(res, 200, { access_token: issue("user", broadcaster.id, grant.scopes), refresh_token: refresh, expires_in: state.tokenLifetimeSecs, scope: grant.scopes, token_type: "bearer" });
      }
      if (form.grant_type === "refresh_token") {
        const grant = refreshTokens.get(form.refresh_token);
        if (!grant) return json(res, 400, { status: 400, message: "Invalid refresh token" });
        refreshTokens.delete(form.refresh_token);
        const refresh = crypto.randomBytes(25).toString("hex");
        refreshTokens.set(refresh, grant);
        return json(res, 200, { access_token: issue("user", grant.userId, grant.scopes), refresh_token: refresh, expires_in: state.tokenLifetimeSecs, scope: grant.scopes, token_type: "bearer" });
      }
      return json(res, 400, { status: 400, message: "unsupported grant_type" });
    }
    if (route === "GET /helix/users") {
      const token = auth(req, res, { kind: "user" });
      if (!token) return;
      return json(res, 200, { data: [{ id: broadcaster.id, login: broadcaster.login, display_name: broadcaster.login, type: "", broadcaster_type: "affiliate" }] });
    }
    if (route === "POST /helix/channel_points/custom_rewards") {
      const token = auth(req, res, { kind: "user", scopes: ["channel:manage:redemptions"] });
      if (!token) return;
      if (url.searchParams.get("broadcaster_id") !== token.userId) return error(res, 403, "The ID in broadcaster_id must match the user ID found in the request's OAuth token.");
      if (!body?.title || !(body.cost >= 1)) return error(res, 400, "Missing required parameter title or cost");
      const reward = { id: id(), broadcaster_id: token.userId, title: body.title, cost: body.cost, prompt: body.prompt ?? "", is_user_input_required: !!body.is_user_input_required, clientId: token.clientId };
      rewards.set(reward.id, reward);
      return json(res, 200, { data: [{ ...reward, clientId: undefined }] });
    }
    if (route === "PATCH /helix/channel_points/custom_rewards/redemptions") {
      const token = auth(req, res, { kind: "user", scopes: ["channel:manage:redemptions"] });
      if (!token) return;
      const [b, r, ids] = ["broadcaster_id", "reward_id", "id"].map((k) => url.searchParams.get(k));
      if (b !== token.userId) return error(res, 403, "The ID in broadcaster_id must match the user ID found in the request's OAuth token.");
      const reward = rewards.get(r);
      if (!reward) return error(res, 404, "The reward specified in the reward_id query parameter was not found.");
      if (reward.clientId !== token.clientId) return error(res, 403, "The ID in the Client-Id header must match the client ID used to create the custom reward.");
      if (!["FULFILLED", "CANCELED"].includes(body?.status)) return error(res, 400, "The value in the status field is not valid.");
      const redemption = redemptions.get(ids);
      if (!redemption || redemption.reward_id !== r || redemption.status !== "UNFULFILLED") return error(res, 404, "No unfulfilled redemptions with the specified IDs were found.");
      redemption.status = body.status;
      return json(res, 200, { data: [{ ...redemption, reward: { id: r, title: reward.title, cost: reward.cost } }] });
    }
    if (route === "POST /helix/chat/messages") {
      const token = auth(req, res, { kind: "user", scopes: ["user:write:chat"] });
      if (!token) return;
      if (body?.sender_id !== token.userId) return error(res, 403, "The sender must match the user ID in the access token.");
      if (typeof body?.message !== "string" || !body.message.length || body.message.length > 500) return error(res, 400, "The message is empty or longer than 500 characters.");
      if (state.failChat > 0) {
        state.failChat--;
        return json(res, 503, { error: "Service Unavailable", status: 503, message: "try again" });
      }
      const message = { message_id: id(), broadcaster_id: body.broadcaster_id, sender_id: body.sender_id, text: body.message, at: Date.now() };
      chat.push(message);
      return json(res, 200, { data: [{ message_id: message.message_id, is_sent: true }] });
    }
    if (route === "POST /helix/eventsub/subscriptions") {
      if (!auth(req, res, { kind: "app" })) return;
      const { type, version, condition, transport } = body ?? {};
      if (!type || version !== "1" || !condition?.broadcaster_user_id || transport?.method !== "webhook" || !transport.callback || !(transport.secret?.length >= 10 && transport.secret.length <= 100)) {
        return error(res, 400, "The subscription request is malformed (type, version 1, condition, webhook transport with a 10-100 character secret).");
      }
      const duplicate = [...subscriptions.values()].find((s) => s.type === type && JSON.stringify(s.condition) === JSON.stringify(condition) && s.transport.callback === transport.callback);
      if (duplicate) return error(res, 409, "subscription already exists");
      const sub = { id: id(), status: "webhook_callback_verification_pending", type, version, condition, transport, created_at: new Date().toISOString() };
      subscriptions.set(sub.id, sub);
      json(res, 202, { data: [publicSub(sub)], total: subscriptions.size, total_cost: 0, max_total_cost: 10000 });
      // Twitch challenges the callback right after answering; the subscription is enabled
      // only if the callback returns the challenge verbatim.
      setTimeout(async () => {
        const challenge = crypto.randomBytes(12).toString("base64url");
        try {
          const { status, text } = await deliver(sub, "webhook_callback_verification", { challenge, subscription: publicSub(sub) });
          sub.status = status === 200 && text === challenge ? "enabled" : "webhook_callback_verification_failed";
        } catch (e) {
          sub.status = "webhook_callback_verification_failed";
          deliveries.push({ type: "webhook_callback_verification", error: String(e) });
        }
      }, 20);
      return;
    }
    if (route === "DELETE /helix/eventsub/subscriptions") {
      if (!auth(req, res, { kind: "app" })) return;
      if (!subscriptions.delete(url.searchParams.get("id"))) return error(res, 404, "subscription not found");
      res.writeHead(204);
      return res.end();
    }
    if (route === "GET /helix/eventsub/subscriptions") {
      if (!auth(req, res, { kind: "app" })) return;
      return json(res, 200, { data: [...subscriptions.values()].map(publicSub), total: subscriptions.size, total_cost: 0, max_total_cost: 10000, pagination: {} });
    }
    // Not Twitch's: for trying the stack by hand (docs/live.md). A viewer's id is derived from
    // their login, so the same name is the same viewer.
    if (route === "POST /_chat") {
      const viewer = body?.id ? { id: String(body.id), login: body?.login ?? String(body.id) } : viewerNamed(body?.login ?? "viewer");
      const r = await api.say(viewer, String(body?.text ?? ""));
      return json(res, 200, { delivered: r.status });
    }
    if (route === "POST /_redeem") {
      const rewardId = body?.reward_id ?? [...rewards.keys()][0];
      if (!rewardId) return error(res, 404, "no reward yet: connect an app with a reward first");
      const r = await api.redeem(viewerNamed(body?.login ?? "viewer"), rewardId, String(body?.input ?? ""));
      return json(res, 200, { delivered: r.status, redemption: r.redemption });
    }
    if (route === "GET /_chat") {
      res.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
      return res.end(chat.map((m) => `${m.text}\n`).join(""));
    }
    return error(res, 404, `no route ${route}`);
  });
  const viewerNamed = (login) => ({ id: String(parseInt(crypto.createHash("sha256").update(login).digest("hex").slice(0, 12), 16)).slice(0, 10), login });

  const subscriptionOf = (type) => [...subscriptions.values()].find((s) => s.type === type && s.status === "enabled");
  const broadcasterFields = { broadcaster_user_id: broadcaster.id, broadcaster_user_login: broadcaster.login, broadcaster_user_name: broadcaster.login };

  const api = {
    url: server.url,
    clientId,
    clientSecret,
    broadcaster,
    subscriptions,
    rewards,
    redemptions,
    chat,
    calls: server.calls,
    deliveries,
    state,
    /** Issued tokens, so a test can tell a stored token from one Twitch would take. */
    tokens,
    refreshTokens,
    deliver,
    /** A viewer types `text` in the broadcaster's chat. */
    async say(viewer, text, options = {}) {
      const sub = subscriptionOf("channel.chat.message");
      if (!sub) throw new Error("no enabled channel.chat.message subscription");
      const event = {
        ...broadcasterFields,
        chatter_user_id: viewer.id,
        chatter_user_login: viewer.login,
        chatter_user_name: viewer.name ?? viewer.login,
        message_id: id(),
        message: { text, fragments: [{ type: "text", text, cheermote: null, emote: null, mention: null }] },
        color: "#9146FF",
        badges: [],
        message_type: "text",
        cheer: null,
        reply: null,
        channel_points_custom_reward_id: null,
      };
      return deliver(sub, "notification", { subscription: publicSub(sub), event }, options);
    },
    /** A viewer redeems the reward `rewardId` with `input`; the redemption waits UNFULFILLED. */
    async redeem(viewer, rewardId, input, options = {}) {
      const sub = subscriptionOf("channel.channel_points_custom_reward_redemption.add");
      if (!sub) throw new Error("no enabled redemption subscription");
      const reward = rewards.get(rewardId);
      const redemption = { id: id(), reward_id: rewardId, broadcaster_id: broadcaster.id, user_id: viewer.id, status: "UNFULFILLED" };
      redemptions.set(redemption.id, redemption);
      const event = {
        id: redemption.id,
        ...broadcasterFields,
        user_id: viewer.id,
        user_login: viewer.login,
        user_name: viewer.name ?? viewer.login,
        user_input: input,
        status: "unfulfilled",
        reward: { id: rewardId, title: reward?.title ?? "", cost: reward?.cost ?? 0, prompt: reward?.prompt ?? "" },
        redeemed_at: new Date().toISOString(),
      };
      const delivered = await deliver(sub, "notification", { subscription: publicSub(sub), event }, options);
      return { ...delivered, redemption };
    },
    /** Twitch revokes a subscription (e.g. the broadcaster removed the app's authorization). */
    async revoke(subId, status = "authorization_revoked") {
      const sub = subscriptions.get(subId);
      sub.status = status;
      subscriptions.delete(subId);
      return deliver(sub, "revocation", { subscription: publicSub(sub) });
    },
    newViewer: (login) => ({ id: digits(8), login }),
    close: server.close,
  };
  return api;
}
