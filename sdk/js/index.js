// Fanline's JavaScript SDK: one file, no dependencies. It uses only what browsers, Node 18+
// and Cloudflare Workers share (fetch, FormData, Web Crypto), so the same code runs in the
// embed, a creator's script and a Worker that receives Fanline's webhooks.

/** Any answer outside 2xx, as Fanline's `{"error": {"code", "message"}}` says it. */
export class FanlineError extends Error {
  constructor(status, body, headers) {
    const error = body?.error ?? {};
    super(error.message ?? `HTTP ${status}`);
    this.name = "FanlineError";
    this.status = status;
    this.code = error.code ?? "http_error";
    /** On `validation_failed`: `[{field, code, message}]`. */
    this.fields = error.fields ?? [];
    /** On `request_rejected`: the stored request's id. */
    this.requestId = error.request_id ?? null;
    /** On `sign_in_required`: sign-in links by provider. */
    this.signIn = error.sign_in ?? null;
    const retryAfter = headers?.get?.("retry-after");
    /** Seconds the server asked to wait (429), or null. */
    this.retryAfter = retryAfter != null && /^\d+$/.test(retryAfter) ? Number(retryAfter) : null;
    this.body = body;
  }
  /** The error for one field, if validation failed on it. */
  fieldError(name) {
    return this.fields.find((f) => f.field === name) ?? null;
  }
}

const randomKey = () => (globalThis.crypto?.randomUUID ? globalThis.crypto.randomUUID() : `k-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const enc = encodeURIComponent;
const query = (params = {}) => {
  const entries = Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== "");
  return entries.length ? `?${new URLSearchParams(entries.map(([k, v]) => [k, String(v)]))}` : "";
};

/**
 * A client for one Fanline marketplace.
 *
 *   const fanline = new Fanline({ baseUrl: "https://fanline.example", apiKey });
 */
export class Fanline {
  /**
   * @param {object} options
   * @param {string} options.baseUrl   the marketplace's origin
   * @param {string} [options.apiKey]  a creator API key (creator calls)
   * @param {string} [options.fanToken] the fan's token (credits, tiers, own data)
   * @param {typeof fetch} [options.fetch]
   * @param {number} [options.maxRetries] retries after a 429 with Retry-After, or a network
   *   error or 502/503 on a call that is safe to repeat (default 2)
   * @param {number} [options.maxRetryWaitSecs] never wait longer than this for one retry (default 30)
   */
  constructor({ baseUrl, apiKey, fanToken, fetch: fetchImpl, maxRetries = 2, maxRetryWaitSecs = 30 } = {}) {
    if (!baseUrl) throw new TypeError("Fanline: baseUrl is required");
    this.baseUrl = String(baseUrl).replace(/\/+$/, "");
    this.apiKey = apiKey ?? null;
    this.fanToken = fanToken ?? null;
    this.fetch = fetchImpl ?? globalThis.fetch.bind(globalThis);
    this.maxRetries = maxRetries;
    this.maxRetryWaitSecs = maxRetryWaitSecs;
  }

  /**
   * One HTTP call. Answers JSON (or text for CSV); throws FanlineError outside 2xx.
   * `idempotent` calls are retried after network errors and 502/503; every call is retried
   * after a 429 that says when (Retry-After), since the server did nothing with it.
   */
  async request(method, path, { json, body, headers = {}, idempotent = method === "GET", auth = "creator" } = {}) {
    const h = { accept: "application/json", ...headers };
    if (auth === "creator" && this.apiKey) h.authorization = `Bearer ${this.apiKey}`;
    if (this.fanToken && !h["fan-token"]) h["fan-token"] = this.fanToken;
    if (json !== undefined) {
      h["content-type"] = "application/json";
      body = JSON.stringify(json);
    }
    for (let attempt = 0; ; attempt++) {
      let response;
      try {
        response = await this.fetch(`${this.baseUrl}${path}`, { method, headers: h, body });
      } catch (networkError) {
        if (idempotent && attempt < this.maxRetries) {
          await sleep(backoff(attempt));
          continue;
        }
        throw networkError;
      }
      const text = await response.text();
      let data = text;
      if ((response.headers.get("content-type") ?? "").includes("json")) {
        try {
          data = JSON.parse(text);
        } catch {}
      }
      if (response.ok || response.status === 304) return { status: response.status, headers: response.headers, data };
      const error = new FanlineError(response.status, typeof data === "object" ? data : null, response.headers);
      const retryable = (response.status === 429 && error.retryAfter != null) || (idempotent && (response.status === 502 || response.status === 503));
      if (retryable && attempt < this.maxRetries) {
        const wait = response.status === 429 ? error.retryAfter : backoff(attempt) / 1000;
        if (wait <= this.maxRetryWaitSecs) {
          await sleep(wait * 1000);
          continue;
        }
      }
      throw error;
    }
  }

  async #data(method, path, options) {
    return (await this.request(method, path, options)).data;
  }

  // ---- fan side ---------------------------------------------------------------------------

  /** The fan-side client of one app. */
  app(slug) {
    return new AppClient(this, slug);
  }

  // ---- creator side (Authorization: Bearer <apiKey>) --------------------------------------

  /** The key's creator and connected Stripe account. */
  creator() {
    return this.#data("GET", "/api/creator");
  }
  /** The queue across the creator's apps (or one with `app`), in working order. */
  queue({ app, status, q } = {}) {
    return this.#data("GET", app ? `/api/apps/${enc(app)}/requests${query({ status, q })}` : `/api/requests${query({ status, q })}`);
  }
  /** The queue as CSV text. */
  queueCsv({ app, status, q } = {}) {
    return this.#data("GET", app ? `/api/apps/${enc(app)}/requests${query({ status, q, format: "csv" })}` : `/api/requests${query({ status, q, format: "csv" })}`);
  }
  /** One request, as its creator sees it (fields, verdict, attachments). */
  getRequest(slug, id) {
    return this.#data("GET", `/apps/${enc(slug)}/api/requests/${enc(id)}`);
  }
  accept(slug, id, { reason } = {}) {
    return this.#action(slug, id, "accept", { reason });
  }
  decline(slug, id, { reason } = {}) {
    return this.#action(slug, id, "decline", { reason });
  }
  complete(slug, id, { note } = {}) {
    return this.#action(slug, id, "complete", { note });
  }
  close(slug, id, { note } = {}) {
    return this.#action(slug, id, "close", { note });
  }
  approve(slug, id, { reason } = {}) {
    return this.#action(slug, id, "approve", { reason });
  }
  reject(slug, id, { reason } = {}) {
    return this.#action(slug, id, "reject", { reason });
  }
  /** Refunds `amount` minor units, or everything left when omitted. */
  refund(slug, id, { amount, reason } = {}) {
    return this.#action(slug, id, "refund", { amount, reason });
  }
  #action(slug, id, action, body) {
    const json = Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined));
    return this.#data("POST", `/apps/${enc(slug)}/api/requests/${enc(id)}/${action}`, { json });
  }
  /** Every notification of an app, newest first (`state`: pending, sending, delivered, skipped, dead, failing). */
  deliveries(slug, { state } = {}) {
    return this.#data("GET", `/api/apps/${enc(slug)}/deliveries${query({ state })}`);
  }
  delivery(slug, id) {
    return this.#data("GET", `/api/apps/${enc(slug)}/deliveries/${enc(id)}`);
  }
  /** Queue one dead or skipped delivery again, or every dead one when `id` is omitted. */
  replay(slug, id) {
    return this.#data("POST", id ? `/api/apps/${enc(slug)}/deliveries/${enc(id)}/replay` : `/api/apps/${enc(slug)}/deliveries/replay`);
  }
  destinations(slug) {
    return this.#data("GET", `/api/apps/${enc(slug)}/destinations`);
  }
  /** `{discord: {webhook_url}, webhook: {url}, ...}`; a kind set to null is removed. */
  setDestinations(slug, destinations) {
    return this.#data("PUT", `/api/apps/${enc(slug)}/destinations`, { json: destinations, idempotent: true });
  }
  testDestination(slug, kind) {
    return this.#data("POST", `/api/apps/${enc(slug)}/destinations/${enc(kind)}/test`);
  }
  limits(slug) {
    return this.#data("GET", `/api/apps/${enc(slug)}/limits`);
  }
  /** `{capacity, max_open_per_fan, max_per_fan_per_day}`, each optional. */
  setLimits(slug, limits) {
    return this.#data("PUT", `/api/apps/${enc(slug)}/limits`, { json: limits, idempotent: true });
  }
  resetLimits(slug) {
    return this.#data("DELETE", `/api/apps/${enc(slug)}/limits`, { idempotent: true });
  }
  /** The creator's numbers: `days` 7, 30 or 90; `app` to narrow to one. */
  kpis({ days, app } = {}) {
    return this.#data("GET", `/api/kpis${query({ days, app })}`);
  }
  appState(slug) {
    return this.#data("GET", `/api/apps/${enc(slug)}/state`);
  }
  /** `{state: "paused", message?, successor?, open_requests?}` */
  setAppState(slug, change) {
    return this.#data("POST", `/api/apps/${enc(slug)}/state`, { json: change });
  }
  blocklist() {
    return this.#data("GET", "/api/blocklist");
  }
  block({ kind, value, reason }) {
    return this.#data("POST", "/api/blocklist", { json: reason === undefined ? { kind, value } : { kind, value, reason } });
  }
  unblock(kind, value) {
    return this.#data("DELETE", `/api/blocklist/${enc(kind)}/${enc(value)}`, { idempotent: true });
  }
  /** Opens an auction on an auction app: `{title, slots, duration_secs}`. */
  openAuction(slug, auction) {
    return this.#data("POST", `/apps/${enc(slug)}/api/auctions`, { json: auction });
  }
  /** The creator's API keys (name, last 4 characters, created, revoked). */
  apiKeys() {
    return this.#data("GET", "/api/creator/keys");
  }
  /** A new key; its `key` is shown in this answer only. */
  createApiKey(name) {
    return this.#data("POST", "/api/creator/keys", { json: { name } });
  }
  revokeApiKey(id) {
    return this.#data("DELETE", `/api/creator/keys/${enc(id)}`, { idempotent: true });
  }

  // ---- live-stream tools and memberships (docs/live.md, docs/memberships.md) ---------------

  /** The app's OBS overlay link `{token, url}` (made on first ask). */
  overlayLink(slug) {
    return this.#data("GET", `/api/apps/${enc(slug)}/overlay`);
  }
  /** A new overlay token; the old link stops working. */
  rotateOverlay(slug) {
    return this.#data("POST", `/api/apps/${enc(slug)}/overlay/rotate`);
  }
  /** The Twitch connection: channel, reward, EventSub subscriptions and their status. */
  twitch(slug) {
    return this.#data("GET", `/api/apps/${enc(slug)}/twitch`);
  }
  /** Starts connecting a channel: open the answer's `authorize_url` as the broadcaster. `reward`: `{title, cost, prompt?}`. */
  connectTwitch(slug, { reward } = {}) {
    return this.#data("POST", `/api/apps/${enc(slug)}/twitch`, { json: reward ? { reward } : {} });
  }
  disconnectTwitch(slug) {
    return this.#data("DELETE", `/api/apps/${enc(slug)}/twitch`, { idempotent: true });
  }
  /** The YouTube live chat being read, when next, and the day's quota. */
  youtube(slug) {
    return this.#data("GET", `/api/apps/${enc(slug)}/youtube`);
  }
  /** Starts connecting a YouTube channel: open the answer's `authorize_url` as its owner. */
  connectYoutube(slug) {
    return this.#data("POST", `/api/apps/${enc(slug)}/youtube`);
  }
  /** Reads this broadcast's chat (a video id), or the channel's active one with `null`. */
  pickBroadcast(slug, broadcastId) {
    return this.#data("PUT", `/api/apps/${enc(slug)}/youtube`, { json: { broadcast_id: broadcastId ?? null }, idempotent: true });
  }
  disconnectYoutube(slug) {
    return this.#data("DELETE", `/api/apps/${enc(slug)}/youtube`, { idempotent: true });
  }
  /** Ko-fi or Patreon (`source`: "kofi" | "patreon"): the settings and the latest payments. */
  membership(slug, source) {
    return this.#data("GET", `/api/apps/${enc(slug)}/${enc(source)}`);
  }
  /** Ko-fi: `{verification_token, credit_price?, tiers?, shop_items?}`; Patreon: `{webhook_secret, campaign_id, tiers}`. */
  setMembership(slug, source, settings) {
    return this.#data("PUT", `/api/apps/${enc(slug)}/${enc(source)}`, { json: settings, idempotent: true });
  }
  removeMembership(slug, source) {
    return this.#data("DELETE", `/api/apps/${enc(slug)}/${enc(source)}`, { idempotent: true });
  }
}

/** What a fan's page (or a server acting for fans) calls on one app. */
export class AppClient {
  constructor(client, slug) {
    this.client = client;
    this.slug = slug;
    this.base = `/apps/${enc(slug)}`;
  }

  /**
   * Submits a request. `fields` by name; a `Blob`/`File` value makes it multipart. An
   * Idempotency-Key is made for you (pass your own to retry across page loads), so the
   * call is retried safely after a network error: it never makes two requests.
   * Resolves to `{id, status, status_url, price, checkout_url?}`; throws FanlineError.
   */
  submit(fields, { addOns, tip, payWith, turnstileToken, formToken, invite, idempotencyKey = randomKey(), auctionId, bid } = {}) {
    const extra = { add_ons: addOns, tip, pay_with: payWith, turnstile_token: turnstileToken, form_token: formToken, invite, bid };
    const hasFile = Object.values(fields).some((v) => typeof Blob !== "undefined" && v instanceof Blob);
    const headers = { "idempotency-key": idempotencyKey };
    const path = auctionId ? `${this.base}/api/auctions/${enc(auctionId)}/bids` : `${this.base}/api/requests`;
    const options = { headers, idempotent: true, auth: "fan" };
    if (hasFile) {
      const form = new FormData();
      for (const [name, value] of Object.entries(fields)) form.append(name, value);
      for (const [name, value] of Object.entries(extra)) {
        if (value === undefined) continue;
        if (Array.isArray(value)) value.forEach((v) => form.append(name, v));
        else form.append(name, String(value));
      }
      options.body = form;
    } else {
      options.json = { fields, ...Object.fromEntries(Object.entries(extra).filter(([, v]) => v !== undefined)) };
    }
    return this.client.request("POST", path, options).then((r) => r.data);
  }
  /** A bid on an auction: the submit options plus `bid` in minor units. */
  bid(auctionId, fields, bid, options = {}) {
    return this.submit(fields, { ...options, auctionId, bid });
  }
  /** A request's status, history and place in the queue. */
  status(id) {
    return this.client.request("GET", `${this.base}/api/requests/${enc(id)}`, { auth: "fan" }).then((r) => r.data);
  }
  /** A signed "form shown at" token, for apps with a minimum fill time. */
  formToken() {
    return this.client.request("GET", `${this.base}/api/form-token`, { auth: "fan" }).then((r) => r.data.form_token);
  }
  /** The public manifest: fields, pricing, add-ons. */
  manifest() {
    return this.client.request("GET", `${this.base}/manifest.json`, { auth: "fan" }).then((r) => r.data);
  }
  /** Whether the app takes requests now, and its queue's size. */
  openStatus() {
    return this.client.request("GET", `${this.base}/api/status`, { auth: "fan" }).then((r) => r.data);
  }
  /** The fan's credits, purchases and tier (needs a fan token). */
  me() {
    return this.client.request("GET", `${this.base}/api/me`, { auth: "fan" }).then((r) => r.data);
  }
  /**
   * Links the fan's sign-in here (e.g. their Twitch; `session` is a `Fanline-Session` value,
   * or omit it in a browser that carries the session cookie) to the fan of the fan token, so
   * their chat commands spend the fan's credits. `unlink: true` undoes it.
   */
  linkSignIn({ session, unlink = false } = {}) {
    const headers = session ? { "fanline-session": session } : {};
    return this.client.request(unlink ? "DELETE" : "POST", `${this.base}/api/me/links`, { auth: "fan", headers, idempotent: true }).then((r) => r.data);
  }
}

function backoff(attempt) {
  return Math.min(4000, 250 * 2 ** attempt);
}

// ---- webhooks ---------------------------------------------------------------------------

/** A webhook that failed verification; `reason` says why. */
export class WebhookVerificationError extends Error {
  constructor(reason) {
    super(`webhook verification failed: ${reason}`);
    this.name = "WebhookVerificationError";
    this.reason = reason;
  }
}

const header = (headers, name) => (typeof headers?.get === "function" ? headers.get(name) : (headers?.[name] ?? headers?.[name.toLowerCase()] ?? Object.entries(headers ?? {}).find(([k]) => k.toLowerCase() === name)?.[1])) ?? null;

function base64ToBytes(b64) {
  const binary = atob(b64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function bytesToBase64(bytes) {
  let binary = "";
  for (const b of new Uint8Array(bytes)) binary += String.fromCharCode(b);
  return btoa(binary);
}

/**
 * Verifies one of Fanline's outgoing webhooks (Standard Webhooks: `webhook-id`,
 * `webhook-timestamp`, `webhook-signature`) and returns the parsed event.
 *
 * @param {string|Uint8Array|ArrayBuffer} payload the raw body, exactly as received
 * @param {Headers|Record<string,string>} headers
 * @param {string} secret the destination's `whsec_...` secret
 * @param {{toleranceSecs?: number, now?: number}} [options] now in seconds (tests)
 * @throws WebhookVerificationError
 */
export async function verifyWebhook(payload, headers, secret, { toleranceSecs = 300, now = Math.floor(Date.now() / 1000) } = {}) {
  const id = header(headers, "webhook-id");
  const timestamp = header(headers, "webhook-timestamp");
  const signatures = header(headers, "webhook-signature");
  if (!id || !timestamp || !signatures) throw new WebhookVerificationError("missing webhook-id, webhook-timestamp or webhook-signature");
  if (!/^\d+$/.test(timestamp)) throw new WebhookVerificationError("bad timestamp");
  if (Math.abs(now - Number(timestamp)) > toleranceSecs) throw new WebhookVerificationError("timestamp outside the tolerance");
  if (typeof secret !== "string" || !secret) throw new WebhookVerificationError("no secret");
  let key;
  try {
    key = base64ToBytes(secret.startsWith("whsec_") ? secret.slice(6) : secret);
  } catch {
    throw new WebhookVerificationError("the secret is not base64");
  }
  const body = typeof payload === "string" ? payload : new TextDecoder().decode(payload);
  const cryptoKey = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const expected = bytesToBase64(await crypto.subtle.sign("HMAC", cryptoKey, new TextEncoder().encode(`${id}.${timestamp}.${body}`)));
  const ok = signatures.split(" ").some((part) => {
    const [version, signature] = part.split(",", 2);
    return version === "v1" && signature !== undefined && constantTimeEqual(signature, expected);
  });
  if (!ok) throw new WebhookVerificationError("no matching signature");
  try {
    return JSON.parse(body);
  } catch {
    throw new WebhookVerificationError("the body is not JSON");
  }
}

function constantTimeEqual(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
