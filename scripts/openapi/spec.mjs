// The source of Fanline's OpenAPI 3.1 contract. `node scripts/openapi/spec.mjs --write`
// regenerates docs/openapi.json (what the hub serves at /openapi.json); the black-box suite
// fails when the two differ, and checks every response it receives against the document.
//
// Schemas name the keys a client may rely on and their types. They do not forbid extra keys,
// so a client written against this document keeps working as the API grows; the black-box
// suite, though, fails on any key an answer carries that its schema does not name, so every
// key Fanline sends is documented here.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ref = (name) => ({ $ref: `#/components/schemas/${name}` });
const str = (extra = {}) => ({ type: "string", ...extra });
const int = (extra = {}) => ({ type: "integer", ...extra });
const num = { type: "number" };
const bool = { type: "boolean" };
const nullable = (schema) => ({ anyOf: [schema, { type: "null" }] });
const arr = (items) => ({ type: "array", items });
const obj = (properties, required = Object.keys(properties)) => ({ type: "object", properties, required });
const time = str({ format: "date-time" });

const REQUEST_STATES = ["created", "validated", "awaiting_payment", "paid", "authorized", "held_for_review", "queued", "accepted", "fulfilled", "rejected", "expired", "refunded", "disputed", "closed"];
const APP_STATES = ["draft", "live", "paused", "invite_only", "archived"];
const DESTINATION_KINDS = ["discord", "webhook", "trello", "sms", "notion", "airtable", "creator_email"];
// A destination as the creator's API shows it: its kind, and every setting some kind has
// (each kind shows its own; docs/fulfilment.md lists which).
const SETTINGS = ["webhook_url", "role_id", "url", "secret", "email", "key", "token", "list_id", "done_list_id", "account_sid", "auth_token", "from", "to", "database_id", "title_property", "base_id", "table"];
const SETTINGS_SHOWN = { kind: str({ enum: DESTINATION_KINDS }), enabled: bool, ...Object.fromEntries(SETTINGS.map((k) => [k, nullable(str())])) };
// Notifications also go to the fan (`email`: receipts and status mail; `feedback`: the rating ask).
// and, for requests from a stream's chat, to the viewer there (`twitch`: chat replies, redemptions).
const NOTIFIED = [...DESTINATION_KINDS, "email", "feedback", "twitch"];
// Every event a webhook destination can receive: each state a request can enter, the reminder
// and the console's test send.
const WEBHOOK_EVENTS = [...REQUEST_STATES.map((s) => `request.${s}`), "request.waiting", "request.test"];
const DELIVERY_STATES = ["pending", "sending", "delivered", "skipped", "dead", "failing"];

const schemas = {
  Error: obj({
    error: {
      type: "object",
      required: ["code", "message"],
      properties: {
        code: str({ description: "Stable machine-readable code, e.g. `validation_failed`, `rate_limited`." }),
        message: str({ description: "A sentence for people; may change." }),
        fields: arr(ref("FieldError")),
        request_id: str({ description: "On `request_rejected`: the id of the stored, rejected request." }),
        sign_in: arr(obj({ provider: str(), url: str() })),
      },
    },
  }),
  FieldError: obj({ field: str(), code: str(), message: str() }),
  Money: obj({ amount: int({ description: "Minor units (cents)." }), currency: str({ examples: ["usd"] }) }),
  PriceLine: obj({ label: str(), amount: int() }),
  Price: obj(
    {
      amount: int(),
      currency: str(),
      lines: arr(ref("PriceLine")),
      refunded: int(),
      platform_fee: nullable(int({ description: "Creator's view only: the marketplace's fee on this payment (Stripe Connect application fee), in minor units." })),
    },
    ["amount", "currency", "lines"],
  ),
  HistoryEvent: obj({ seq: int(), type: str({ examples: ["request.queued"] }), status: str({ enum: REQUEST_STATES }), at: time, actor: str(), reason: nullable(str()) }, ["seq", "type", "status", "at"]),
  Queue: obj(
    {
      position: int(),
      ahead: int(),
      estimate: nullable(obj({ median_secs: int(), p90_secs: int(), based_on: int() })),
      message: str(),
    },
    ["position", "ahead", "message"],
  ),
  Payment: obj({ provider: str({ enum: ["stripe", "paypal", "credits", "none"], description: "`none` for a free request." }), hold: bool, credits: int(), accept_by: nullable(time) }, ["hold"]),
  RequestCreated: obj(
    {
      id: str({ pattern: "^req_" }),
      app: str(),
      status: str({ enum: REQUEST_STATES }),
      status_url: str({ format: "uri" }),
      page_url: str({ format: "uri", description: "The fan's own status page, with the key that lets the fan rate the request: give it to the fan only." }),
      price: ref("Price"),
      message: str(),
      checkout_url: str({ format: "uri", description: "Paid requests: where the fan pays (Stripe Checkout or PayPal)." }),
      checkout_session_id: nullable(str()),
    },
    ["id", "app", "status", "status_url", "price"],
  ),
  Request: obj(
    {
      id: str(),
      app: str(),
      status: str({ enum: REQUEST_STATES }),
      status_url: str(),
      created_at: time,
      updated_at: time,
      add_ons: arr(str()),
      price: ref("Price"),
      priority: bool,
      payment: ref("Payment"),
      history: arr(ref("HistoryEvent")),
      queue: ref("Queue"),
      rating: nullable(ref("Rating")),
      fields: { type: "object", description: "Creator's view only." },
      moderation: { type: "object", description: "Creator's view only: the verdict and its reasons." },
      triage: nullable({ type: "object", description: "Creator's view only." }),
      attachments: arr(obj({ field: str(), media_type: str(), size: int(), url: str() }, ["field"])),
      fan_email: nullable(str()),
      checkout_url: str({ description: "While awaiting payment: where the fan pays." }),
      checkout_session_id: nullable(str({ description: "While awaiting payment, and in the creator's view at any time." })),
      identity: nullable({ type: "object", description: "Creator's view only: the signed-in fan (`provider`, `subject`, `name`), if any." }),
      fan_id: nullable(str({ description: "Creator's view only: the fan's id when a Fan-Token or sign-in named them." })),
      payment_intent_id: nullable(str({ description: "Creator's view only: Stripe's PaymentIntent." })),
      paypal: obj({ order_id: nullable(str()), capture_id: nullable(str()) }, []),
      auction_id: nullable(str({ description: "Creator's view only: the auction a winning bid came from." })),
      refunds: arr(obj({ id: str(), amount: int(), reason: nullable(str()), actor: str(), created_at: time }, ["id", "amount", "created_at"])),
      disputes: arr(obj({ id: str(), amount: int(), reason: str(), status: str(), opened_at: time, closed_at: nullable(time) }, ["id", "amount", "status", "opened_at"])),
    },
    ["id", "app", "status", "created_at", "updated_at", "price", "history"],
  ),
  Rating: obj({ stars: int({ minimum: 1, maximum: 5 }), comment: nullable(str()), at: time }, ["stars"]),
  QueueItem: obj(
    { id: str(), app: str(), status: str({ enum: REQUEST_STATES }), created_at: time, updated_at: time, fields: { type: "object" }, add_ons: arr(str()), price: { type: "object" }, priority: bool, moderation: { type: "object" }, triage: { type: "object" }, identity: nullable({ type: "object" }), fan_email: nullable(str()), paid_with: nullable(str()), test: bool },
    ["id", "app", "status", "created_at", "fields", "price"],
  ),
  QueueList: obj({ app: nullable(str()), requests: arr(ref("QueueItem")) }),
  Export: obj({ app: str(), exported_at: time, requests: arr({ type: "object", required: ["id", "status"] }), next_cursor: nullable(str()) }, ["exported_at", "requests"]),
  Manifest: obj(
    {
      slug: str(),
      title: str(),
      description: str(),
      fields: arr({
        ...obj(
          {
            name: str(),
            type: str(),
            label: str(),
            required: bool,
            max_length: int(),
            help: str(),
            options: arr(obj({ value: str(), price: int({ description: "Minor units added when chosen." }) })),
            accept: arr(str({ examples: ["image/png"] })),
            max_bytes: int(),
          },
          ["name", "type"],
        ),
        description: "Each field as docs/manifest.md describes it.",
      }),
      pricing: { type: "object" },
      auction: nullable({ type: "object", description: "An auction app's rules: `starting_bid`, `min_increment`, `anti_snipe_secs`, `max_extension_secs`." }),
      form: obj({ honeypot_field: nullable(str()) }, []),
      turnstile: nullable(obj({ site_key: str() }, [])),
    },
    ["slug", "title", "fields", "pricing"],
  ),
  AppStatus: obj({ app: str(), open: bool, state: str({ enum: APP_STATES }), capacity: nullable(int()), in_queue: int(), message: nullable(str()), successor: nullable(str()) }, ["app", "open", "state", "in_queue"]),
  Checkout: obj({ checkout_url: str({ format: "uri" }), checkout_session_id: str(), fan_id: str(), fan_token: str({ description: "Only when the fan had none: keep it, it names the fan." }) }, ["checkout_url", "fan_id"]),
  FanAccount: obj({ app: str(), fan_id: str(), credits: obj({ balance: int(), per_request: int(), ledger: arr({ type: "object" }) }, ["balance"]), purchases: arr({ type: "object" }), tier: nullable({ type: "object" }) }, ["app", "fan_id", "credits"]),
  Auction: obj(
    {
      id: str({ pattern: "^auc_" }),
      title: str(),
      slots: int(),
      status: str({ enum: ["open", "closing", "closed"], description: "`closing` while the cron settles it." }),
      ends_at: time,
      ends_at_ms: int({ description: "The same end in Unix milliseconds, for a countdown." }),
      currency: str(),
      minimum_bid: int({ description: "What a new bid must reach, in minor units." }),
      min_increment: int(),
      anti_snipe_secs: int(),
      max_extension_secs: int(),
      held_bids: arr(int({ description: "Each bid whose card hold is in place, highest first." })),
      bid_url: str({ description: "Where to POST a bid." }),
    },
    ["id", "title", "slots", "status", "ends_at", "currency", "minimum_bid", "held_bids", "bid_url"],
  ),
  CatalogApp: obj({ slug: str(), title: str(), description: str(), kind: str(), open: bool, in_queue: int(), price_summary: str(), from_price: nullable(ref("Money")), pricing: { type: "object" }, creator: obj({ id: str(), name: str(), url: str() }), url: str(), api: str(), embed: str() }, ["slug", "title", "url", "api", "embed", "creator"]),
  Creator: obj({ id: str(), name: str(), stripe_account: nullable(str()) }, ["id", "name"]),
  ApiKey: obj({ id: str(), name: str(), last4: str(), created_at: time, revoked_at: nullable(time), key: str({ description: "Only in the answer that creates it." }) }, ["id", "name", "created_at"]),
  Kpis: obj({
    apps: arr(str()),
    currency: str(),
    kpis: obj(
      {
        days: int(),
        revenue: { type: "object" },
        funnel: { type: "object" },
        refunds: { type: "object" },
        disputes: { type: "object" },
        ratings: { type: "object" },
        time_to_fulfilment: { type: "object" },
        requests_per_week: arr(int()),
        buyers: int({ description: "Distinct fans who paid in the period." }),
        repeat_buyers: int({ description: "Of those, fans who paid more than once." }),
        repeat_buyer_rate: nullable({ type: "number" }),
        arpu: nullable(int({ description: "Net revenue per paying buyer, in minor units." })),
      },
      ["days", "revenue", "funnel"],
    ),
  }),
  Delivery: obj(
    { id: str(), request_id: str(), destination: str({ enum: NOTIFIED }), event: str(), state: str({ enum: DELIVERY_STATES }), attempts: int(), last_error: nullable(str()), created_at: time, updated_at: time, delivered_at: nullable(time), attempt_log: arr(obj({ attempt: int(), at: time, status: nullable(int()), error: nullable(str()) }, ["attempt", "at"])) },
    ["id", "request_id", "destination", "event", "state", "attempts"],
  ),
  Destinations: obj({
    app: str(),
    destinations: arr({
      ...obj(SETTINGS_SHOWN, ["kind"]),
      description: "A target's settings as saved, beside its `kind`: credentials reduced to their last 4 characters (`…abcd`); a webhook's signing `secret` shown whole.",
    }),
  }),
  Limits: obj({ app: str(), source: str({ enum: ["manifest", "creator"] }), limits: { type: "object" }, in_queue: int() }, ["app", "source", "limits"]),
  AppState: obj({ app: str(), state: str({ enum: APP_STATES }), message: nullable(str()), successor: nullable(str()), history: arr({ type: "object" }), invites: arr({ type: "object" }), preview_url: str() }, ["app", "state"]),
  StateChange: obj({ app: str(), state: str({ enum: APP_STATES }), previous: str({ enum: APP_STATES }), message: nullable(str()), open_requests: { type: "object" } }, ["app", "state", "previous"]),
  BlockEntry: obj({ kind: str({ enum: ["ip", "email", "fan"] }), value: str({ description: "As stored and compared: an email in one spelling, an IPv6 address as its /64." }), reason: nullable(str()), created_at: time }, ["kind", "value", "created_at"]),
  WebhookEvent: {
    ...obj({
      type: str({ enum: WEBHOOK_EVENTS, description: "`request.<state>` when a request enters that state; `request.waiting` a reminder; `request.test` a test send." }),
      timestamp: time,
      data: obj(
        {
          id: str({ pattern: "^req_" }),
          app: str(),
          app_title: str(),
          status: str({ enum: REQUEST_STATES, description: "The request's state when the event was raised." }),
          fields: { type: "object", description: "The fan's fields by name (files are not included)." },
          add_ons: arr(str({ description: "The add-on's label." })),
          price: ref("Money"),
          status_url: str({ format: "uri" }),
          page_url: str({ format: "uri" }),
          created_at: time,
        },
      ),
    }),
    description: "The body of every webhook Fanline sends to a creator's `webhook` destination (Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature`). See docs/webhooks.md.",
  },
  OverlayEntry: obj({ title: str(), by: nullable(str({ description: "Who asked; null shows as \"a fan\"." })) }),
  OverlayLink: obj({ app: str(), token: str(), url: str({ format: "uri" }) }),
  MembershipSource: obj(
    {
      app: str(),
      source: str({ enum: ["kofi", "patreon"] }),
      connected: bool,
      webhook_url: str({ format: "uri", description: "Give this URL to Ko-fi or Patreon." }),
      sign_in_url: str({ format: "uri", description: "Patreon: where patrons sign in to get their tier." }),
      settings: nullable({ type: "object" }),
      updated_at: nullable(time),
      payments: arr(obj({ id: str(), kind: str(), email: nullable(str()), amount: int(), currency: nullable(str()), fan_id: nullable(str()), credits: int(), tier: nullable(str()), outcome: str(), received_at: time }, ["id", "kind", "outcome", "received_at"])),
    },
    ["app", "source", "connected", "webhook_url", "payments"],
  ),
  YoutubeConnection: obj(
    {
      app: str(),
      connected: bool,
      status: str({ enum: ["live", "waiting"], description: "`live`: a broadcast's chat is read; `waiting`: until one goes live." }),
      broadcast_id: nullable(str()),
      live_chat_id: nullable(str()),
      next_poll_at: time,
      polled_at: nullable(time),
      last_error: nullable(str()),
      connected_at: time,
      quota: obj({ day: str({ description: "YouTube's quota day (Pacific time)." }), used: int(), budget: int() }),
    },
    ["app", "connected", "quota"],
  ),
  TwitchConnection: obj(
    {
      app: str(),
      connected: bool,
      command: nullable(str({ description: "The manifest's chat command, e.g. `!sr`." })),
      channel: obj({ id: str(), login: str() }),
      reward_id: nullable(str()),
      subscriptions: arr(obj({ id: str(), type: str(), status: str({ description: "As Twitch last gave it: `enabled`, `webhook_callback_verification_pending`, or why it was revoked." }) })),
      connected_at: time,
    },
    ["app", "connected"],
  ),
  WebhookOutcome: obj({ received: bool, outcome: str({ examples: ["applied", "duplicate", "ignored"] }), event: str({ description: "The provider's event id (Stripe, PayPal)." }), webhook_id: str({ description: "The moderation provider's message id." }) }, ["received"]),
};

// Answers shared by many operations; each operation lists the ones it can give.
const responses = {
  BadRequest: { description: "The body or a parameter cannot be read (`invalid_json`, `invalid_form`, ...).", content: { "application/json": { schema: ref("Error") } } },
  Unauthorized: { description: "A creator API key (or a fan token) is required, missing or wrong.", content: { "application/json": { schema: ref("Error") } } },
  Forbidden: { description: "Not allowed for this caller.", content: { "application/json": { schema: ref("Error") } } },
  NotFound: { description: "No such app, request or resource (another creator's is also 404).", content: { "application/json": { schema: ref("Error") } } },
  MethodNotAllowed: { description: "The path exists; the method does not.", content: { "application/json": { schema: ref("Error") } } },
  Conflict: { description: "The resource is not in a state that allows this (`invalid_transition`, ...).", content: { "application/json": { schema: ref("Error") } } },
  Gone: { description: "The app is archived.", content: { "application/json": { schema: ref("Error") } } },
  TooLarge: { description: "The body is over the cap.", content: { "application/json": { schema: ref("Error") } } },
  UnsupportedMediaType: { description: "The content type is not accepted.", content: { "application/json": { schema: ref("Error") } } },
  Unprocessable: { description: "Validation failed (`validation_failed` with `fields`), moderation rejected it (`request_rejected`), or an Idempotency-Key was reused.", content: { "application/json": { schema: ref("Error") } } },
  TooMany: {
    description: "An edge rate limit (`rate_limited`, with `Retry-After`) or a quota (`quota_exceeded`). See docs/limits.md.",
    headers: { "Retry-After": { schema: int(), description: "Seconds to wait (rate limits and daily quotas)." }, RateLimit: { schema: str() }, "RateLimit-Policy": { schema: str() } },
    content: { "application/json": { schema: ref("Error") } },
  },
  ServerError: { description: "Something failed on Fanline's side; retry later (with the same Idempotency-Key).", content: { "application/json": { schema: ref("Error") } } },
  Upstream: { description: "A payment or delivery provider did not answer; nothing was stored.", content: { "application/json": { schema: ref("Error") } } },
  Unavailable: { description: "Not set up, or temporarily unavailable.", content: { "application/json": { schema: ref("Error") } } },
};
const R = (name) => ({ $ref: `#/components/responses/${name}` });
const ok = (status, schema, description = "OK") => ({ [status]: { description, content: { "application/json": { schema: typeof schema === "string" ? ref(schema) : schema } } } });
const noContent = { 204: { description: "Done; no body." } };
const errors = (...codes) => {
  const names = { 400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed", 409: "Conflict", 410: "Gone", 413: "TooLarge", 415: "UnsupportedMediaType", 422: "Unprocessable", 429: "TooMany", 500: "ServerError", 502: "Upstream", 503: "Unavailable" };
  return Object.fromEntries([...codes, 500, 503].map((c) => [c, R(names[c])]));
};
const jsonBody = (schema, required = true) => ({ required, content: { "application/json": { schema } } });

const slug = { name: "slug", in: "path", required: true, schema: str(), example: "song-request", description: "The app's slug, e.g. `song-request`." };
const id = (description = "The request's id (`req_...`).") => ({ name: "id", in: "path", required: true, schema: str(), description });
const sessionHeader = { name: "Fanline-Session", in: "header", required: false, schema: str(), description: "A session from `POST /apps/{slug}/api/session` (embeds on other sites, where Fanline's cookie cannot go)." };
const fanToken = { name: "Fan-Token", in: "header", required: false, schema: str(), description: "Names the fan (credits, tiers, own data)." };
const creatorKey = [{ creatorKey: [] }];
const optionalCreator = [{}, { creatorKey: [] }];
const csv = { "text/csv": { schema: str() } };

const fanTag = ["Fan"];
const creatorTag = ["Creator"];
const requestAction = (summary, key = "reason") => ({
  post: { tags: creatorTag, summary, security: creatorKey, parameters: [slug, id()], requestBody: jsonBody({ type: "object", properties: { [key]: str({ maxLength: 500 }) }, additionalProperties: false }, false), responses: { ...ok(200, "Request"), ...errors(400, 401, 404, 409, 502) } },
});

const submitBody = {
  required: true,
  content: {
    "application/json": {
      schema: obj(
        {
          fields: { type: "object", description: "The form's fields by name (see the app's manifest.json)." },
          add_ons: arr(str()),
          tip: int({ minimum: 0, description: "Minor units." }),
          pay_with: str({ enum: ["stripe", "paypal", "credits"] }),
          turnstile_token: str(),
          form_token: str(),
          invite: str(),
        },
        ["fields"],
      ),
      example: { fields: { song: "Africa", artist: "Toto" }, add_ons: ["priority"] },
    },
    "multipart/form-data": { schema: { type: "object", description: "One part per field by name, files in their field's part; `add_ons` repeated or comma-separated; `tip` in minor units." } },
    "application/x-www-form-urlencoded": { schema: { type: "object" } },
  },
};
const idempotencyKey = { name: "Idempotency-Key", in: "header", required: false, schema: str({ minLength: 1, maxLength: 255 }), description: "A retry with the same key, client and content returns the first request (`Idempotent-Replayed: true`)." };
const limitedHeaders = {
  RateLimit: { schema: str(), description: "IETF draft: the remaining quota of the edge limiter, on answers it refused." },
  "RateLimit-Policy": { schema: str(), description: 'IETF draft: the edge limit in force, e.g. `"per-client";q=10;w=60`.' },
};

const html = (description) => ({ 200: { description, content: { "text/html": { schema: str() } } }, 304: { description: "Not modified (If-None-Match)." } });
const redirect = (description) => ({ 302: { description, headers: { Location: { schema: str() } } }, 303: { description, headers: { Location: { schema: str() } } } });
/** An email sign-in link refused: JSON, or a page saying why for a caller that accepts `text/html`. */
const linkRefused = {
  400: { description: "The link is not valid, has expired or was used (`invalid_link`).", content: { "application/json": { schema: ref("Error") }, "text/html": { schema: str() } } },
};
const page = (summary, parameters, responses) => ({ get: { tags: ["Pages"], summary, parameters, responses: { ...responses, ...errors(404) } } });
const provider = { name: "provider", in: "path", required: true, schema: str({ enum: ["twitch", "discord", "google"] }) };

/** `GET`, `PUT` and `DELETE` of an app's membership source (Ko-fi, Patreon). */
function membershipSource(name, body, stored) {
  return {
    get: { tags: creatorTag, summary: `The app's ${name} settings and the latest payments reported`, security: creatorKey, parameters: [slug], responses: { ...ok(200, "MembershipSource"), ...errors(401, 404) } },
    put: { tags: creatorTag, summary: `Connect ${name}: what its payments earn here`, security: creatorKey, parameters: [slug], requestBody: jsonBody({ ...body, additionalProperties: false, description: stored }), responses: { ...ok(200, "MembershipSource"), ...errors(400, 401, 404, 409, 415) } },
    delete: { tags: creatorTag, summary: `Disconnect ${name}`, security: creatorKey, parameters: [slug], responses: { ...ok(200, obj({ app: str(), source: str(), connected: bool })), ...errors(401, 404) } },
  };
}

const paths = {
  "/": page("The marketplace: every live app", [], html("The catalog page.")),
  "/c/{creator}": page("One creator's apps", [{ name: "creator", in: "path", required: true, schema: str() }], html("The creator's page.")),
  "/apps/{slug}/": page("The app's form page", [slug, { name: "request", in: "query", schema: str(), description: "Show this request's status instead." }], html("The form page (it hosts the embed script).")),
  "/apps/{slug}/embed": page("The form made for an iframe (see docs/embedding.md)", [slug, { name: "parent", in: "query", schema: str(), description: "The framing page's origin, for browsers that do not report it." }], html("A transparent page; only the app's `embed.sites` may frame it (Content-Security-Policy `frame-ancestors`).")),
  "/apps/{slug}/embed.js": page("The embed script", [slug, { name: "v", in: "query", schema: str(), description: "The app's version: pinned URLs are immutable." }], { 200: { description: "The script; mounts the form where its tag stands.", content: { "text/javascript": { schema: str() } } }, 304: { description: "Not modified." } }),
  "/apps/{slug}/overlay": page(
    "The OBS overlay (a browser source): now playing and up next",
    [slug, ...["token", "color", "accent", "bg", "size", "font", "next", "now_label", "next_label"].map((name) => ({ name, in: "query", schema: str(), required: name === "token" }))],
    html("A transparent page that polls the overlay API every second (docs/live.md)."),
  ),
  "/apps/{slug}/overlay.js": page("The overlay page's script", [slug], { 200: { description: "The script.", content: { "text/javascript": { schema: str() } } } }),
  "/apps/{slug}/auth/{provider}/start": page(
    "Start signing in with a provider",
    [
      slug,
      provider,
      { name: "return", in: "query", schema: str(), description: "A path on this app to come back to." },
      { name: "popup", in: "query", schema: str(), description: "The origin of the page that opened this as a popup: the sign-in ends by handing it a one-time token (docs/embedding.md)." },
    ],
    { ...redirect("To the provider's consent page."), ...errors(400, 403, 503) },
  ),
  "/apps/{slug}/auth/popup": page("Where a sign-in popup ends: hands a one-time token to its opener", [slug, { name: "origin", in: "query", required: true, schema: str() }], { ...html("Posts `{source: \"fanline\", type: \"signed-in\", app, token}` to the opener at `origin`, then closes."), ...errors(400, 403, 503) }),
  "/apps/{slug}/auth/popup.js": page("The popup page's script", [slug], { 200: { description: "The script.", content: { "text/javascript": { schema: str() } } } }),
  "/auth/{provider}/callback": page("Where the provider sends the fan back, for every app (the state names the app)", [provider, { name: "code", in: "query", schema: str() }, { name: "state", in: "query", schema: str() }], { ...redirect("Back to the app the sign-in started at, signed in."), ...html("A page saying what went wrong."), ...errors(400, 401, 404, 502) }),
  "/apps/{slug}/auth/email/start": { post: { tags: fanTag, summary: "Mail the fan a sign-in link", parameters: [slug], requestBody: jsonBody({ ...obj({ email: str({ format: "email" }), return: str({ description: "A path on this app to come back to." }) }, ["email"]), additionalProperties: false }), responses: { ...ok(202, obj({ sent_to: str(), message: str() }, [])), ...errors(400, 404, 415, 422, 429, 502) } } },
  "/apps/{slug}/auth/email/confirm": {
    ...page("The link in the sign-in mail: a page naming the address it signs in as, with a Sign in button (opening it signs no one in)", [slug, { name: "token", in: "query", required: true, schema: str() }], {
      200: { description: "The page and its form, which posts the token back here.", content: { "text/html": { schema: str() } } },
      ...errors(),
      ...linkRefused,
    }),
    post: {
      tags: ["Pages"],
      summary: "The page's Sign in button: uses the link once and signs the fan in (only from Fanline's own origin)",
      parameters: [slug, { name: "token", in: "query", required: false, schema: str(), description: "The link's token, when the form body does not carry it." }],
      requestBody: { required: false, content: { "application/x-www-form-urlencoded": { schema: obj({ token: str() }, []) } } },
      responses: {
        ...redirect("Back to the app, signed in (the session cookie is set)."),
        ...errors(403, 404),
        ...linkRefused,
      },
    },
  },
  "/apps/{slug}/auth/logout": { post: { tags: fanTag, summary: "Sign out (only from the app's own pages)", parameters: [slug], responses: { ...ok(200, obj({ signed_in: bool })), ...errors(403, 404) } } },
  "/apps/{slug}/paypal/return": page("Where PayPal sends the fan back; captures the order", [slug, { name: "token", in: "query", schema: str() }], { ...redirect("To the request's status page."), ...html("What happened."), ...errors(400, 409, 502) }),
  "/health": { get: { tags: ["Platform"], summary: "Liveness", responses: { ...ok(200, obj({ ok: bool })), ...errors() } } },
  "/openapi.json": { get: { tags: ["Platform"], summary: "This document", responses: { 200: { description: "The OpenAPI document.", content: { "application/json": { schema: { type: "object" } } } } } } },
  "/api/apps": {
    get: {
      tags: ["Marketplace"],
      summary: "The catalog of live apps",
      parameters: [
        { name: "creator", in: "query", schema: str() },
        { name: "cursor", in: "query", schema: str() },
        { name: "limit", in: "query", schema: int({ minimum: 1, maximum: 100 }) },
      ],
      responses: { ...ok(200, obj({ apps: arr(ref("CatalogApp")), next_cursor: nullable(str()) })), 304: { description: "Not modified (If-None-Match)." }, ...errors(400) },
    },
  },
  "/apps/{slug}/manifest.json": { get: { tags: fanTag, summary: "The app's public manifest", parameters: [slug], responses: { ...ok(200, "Manifest"), 304: { description: "Not modified." }, ...errors(404) } } },
  "/apps/{slug}/api/requests": {
    post: {
      tags: fanTag,
      summary: "Submit a request",
      parameters: [slug, idempotencyKey, fanToken, sessionHeader],
      requestBody: submitBody,
      responses: {
        201: { description: "Stored. Free requests are `queued`; paid ones `awaiting_payment` with `checkout_url`; some `held_for_review`.", headers: limitedHeaders, content: { "application/json": { schema: ref("RequestCreated") } } },
        ...errors(400, 401, 403, 404, 409, 410, 413, 415, 422, 429, 502),
        402: { description: "Paying with credits, and the balance is short (`insufficient_credits`).", content: { "application/json": { schema: ref("Error") } } },
      },
    },
  },
  "/apps/{slug}/api/requests/{id}": {
    get: {
      tags: fanTag,
      summary: "A request's status and history (with a creator key: its fields, verdict and attachments too)",
      parameters: [slug, id()],
      security: optionalCreator,
      responses: { ...ok(200, "Request"), ...errors(401, 404) },
    },
  },
  "/apps/{slug}/api/requests/{id}/rating": {
    post: { tags: fanTag, summary: "The fan rates a fulfilled request", parameters: [slug, id()], requestBody: jsonBody(obj({ stars: int({ minimum: 1, maximum: 5 }), comment: str(), key: str() }, ["stars", "key"])), responses: { ...ok(201, obj({ id: str(), rating: ref("Rating") })), ...errors(400, 403, 404, 409, 415) } },
  },
  "/apps/{slug}/api/overlay": {
    get: {
      tags: ["Live"],
      summary: "What the overlay shows: the request playing now and the next ones",
      parameters: [slug, { name: "token", in: "query", required: true, schema: str() }, { name: "next", in: "query", schema: int({ minimum: 0, maximum: 10 }) }],
      responses: {
        ...ok(200, obj({ app: str(), now: nullable(ref("OverlayEntry")), next: arr(ref("OverlayEntry")), updated_at: time })),
        ...errors(403, 404),
      },
    },
  },
  "/api/apps/{slug}/overlay": { get: { tags: creatorTag, summary: "The app's overlay link (made on first ask)", security: creatorKey, parameters: [slug], responses: { ...ok(200, "OverlayLink"), ...errors(401, 404) } } },
  "/api/apps/{slug}/overlay/rotate": { post: { tags: creatorTag, summary: "A new overlay token; the old link stops working", security: creatorKey, parameters: [slug], responses: { ...ok(200, "OverlayLink"), ...errors(401, 404) } } },
  "/apps/{slug}/api/form-token": { get: { tags: fanTag, summary: "A signed form-shown-at token (minimum fill time): send it back as `form_token`", parameters: [slug], responses: { ...ok(200, obj({ form_token: str(), issued_at: time })), ...errors(404) } } },
  "/apps/{slug}/api/status": { get: { tags: fanTag, summary: "Whether the form takes requests now", parameters: [slug], responses: { ...ok(200, "AppStatus"), ...errors(404) } } },
  "/apps/{slug}/api/views": { post: { tags: fanTag, summary: "Count one form view", parameters: [slug], responses: { ...noContent, ...errors(404, 429) } } },
  "/apps/{slug}/api/session": {
    get: { tags: fanTag, summary: "The signed-in fan, if any (session cookie or `Fanline-Session`)", parameters: [slug, sessionHeader], responses: { ...ok(200, obj({ signed_in: bool, identity: nullable({ type: "object" }), sign_in: arr(obj({ provider: str(), url: str() })) })), ...errors(404) } },
    post: {
      tags: fanTag,
      summary: "Trade a sign-in popup's one-time token for a session",
      parameters: [slug],
      requestBody: jsonBody({ ...obj({ token: str() }), additionalProperties: false }),
      responses: {
        ...ok(200, obj({ session: str({ description: "Send it as the `Fanline-Session` header." }), identity: obj({ provider: str(), sub: str() }), expires_in: int() })),
        ...errors(400, 403, 404, 409, 415),
      },
    },
  },
  "/apps/{slug}/api/me": { get: { tags: fanTag, summary: "The fan's credits, purchases and tier", parameters: [slug, fanToken], responses: { ...ok(200, "FanAccount"), ...errors(401, 404) } } },
  "/apps/{slug}/api/me/data": {
    get: { tags: fanTag, summary: "Download the fan's own data", parameters: [slug, fanToken], responses: { ...ok(200, obj({ fan_id: str(), exported_at: time, requests: arr({ type: "object" }) })), ...errors(401, 404, 429) } },
    delete: { tags: fanTag, summary: "Erase the fan's personal fields (money records are kept)", parameters: [slug, fanToken], responses: { ...ok(200, obj({ erased: int(), attachments_deleted: int(), kept: str() }, ["erased"])), ...errors(401, 404, 429) } },
  },
  "/apps/{slug}/api/credits/checkout": { post: { tags: fanTag, summary: "Buy a credit pack", parameters: [slug, fanToken], requestBody: jsonBody(obj({ pack: str(), email: str() }, ["pack"])), responses: { ...ok(201, { allOf: [ref("Checkout"), obj({ pack: str(), credits: int(), purchase_id: str(), price: ref("Money") })] }), ...errors(400, 401, 404, 415, 422, 429, 502) } } },
  "/apps/{slug}/api/tiers/checkout": { post: { tags: fanTag, summary: "Subscribe to a tier", parameters: [slug, fanToken], requestBody: jsonBody(obj({ tier: str(), email: str() }, ["tier"])), responses: { ...ok(201, { allOf: [ref("Checkout"), obj({ tier: str(), price: obj({ amount: int(), currency: str(), interval: str({ enum: ["month", "year"] }) }) }, ["tier"])] }), ...errors(400, 401, 404, 409, 415, 422, 429, 502) } } },
  "/apps/{slug}/api/tiers/cancel": { post: { tags: fanTag, summary: "Cancel the fan's tier (at the end of the paid period)", parameters: [slug, fanToken], responses: { ...ok(202, { type: "object" }), ...errors(401, 404, 409, 502) } } },
  "/apps/{slug}/api/auctions": {
    get: { tags: fanTag, summary: "The app's auctions", parameters: [slug], responses: { ...ok(200, obj({ auctions: arr(ref("Auction")) }, ["auctions"])), ...errors(404) } },
    post: { tags: creatorTag, summary: "Open an auction", security: creatorKey, parameters: [slug], requestBody: jsonBody(obj({ title: str(), slots: int({ minimum: 1 }), duration_secs: int({ minimum: 1 }) }, ["slots", "duration_secs"])), responses: { ...ok(201, "Auction"), ...errors(400, 401, 404, 409, 422) } },
  },
  "/apps/{slug}/api/auctions/{id}": { get: { tags: fanTag, summary: "One auction", parameters: [slug, id("The auction's id.")], responses: { ...ok(200, "Auction"), ...errors(404) } } },
  "/apps/{slug}/api/auctions/{id}/bids": { post: { tags: fanTag, summary: "Bid: the submit body plus `bid` in minor units", parameters: [slug, id("The auction's id."), idempotencyKey, fanToken], requestBody: submitBody, responses: { ...ok(201, "RequestCreated"), ...errors(400, 401, 403, 404, 409, 410, 413, 415, 422, 429, 502) } } },
  "/apps/{slug}/api/requests/{id}/complete": requestAction("Mark fulfilled", "note"),
  "/apps/{slug}/api/requests/{id}/close": requestAction("File a fulfilled request away", "note"),
  "/apps/{slug}/api/requests/{id}/accept": requestAction("Accept (captures a held payment)"),
  "/apps/{slug}/api/requests/{id}/decline": requestAction("Decline (releases a held payment)"),
  "/apps/{slug}/api/requests/{id}/approve": requestAction("Approve a request held for review"),
  "/apps/{slug}/api/requests/{id}/reject": requestAction("Reject a request held for review"),
  "/apps/{slug}/api/requests/{id}/refund": {
    post: { tags: creatorTag, summary: "Refund part or all of the payment", security: creatorKey, parameters: [slug, id()], requestBody: jsonBody(obj({ amount: int({ minimum: 1 }), reason: str() }, []), false), responses: { ...ok(200, "Request"), ...errors(400, 401, 404, 409, 422, 502) } },
  },
  "/apps/{slug}/api/requests/{id}/evidence": { get: { tags: creatorTag, summary: "Dispute evidence bundle", security: creatorKey, parameters: [slug, id()], responses: { ...ok(200, { type: "object" }), ...errors(401, 404) } } },
  "/apps/{slug}/api/requests/{id}/attachments/{field}": {
    get: {
      tags: creatorTag,
      summary: "Download an attachment (with the creator's key, or an export's signed link)",
      security: optionalCreator,
      parameters: [
        slug,
        id(),
        { name: "field", in: "path", required: true, schema: str() },
        { name: "expires", in: "query", schema: int(), description: "An export's link: when it stops working (Unix seconds)." },
        { name: "sig", in: "query", schema: str(), description: "An export's link: its signature." },
      ],
      responses: { 200: { description: "The file, served with `Content-Security-Policy: sandbox`.", content: { "application/octet-stream": { schema: str({ format: "binary" }) } } }, ...errors(401, 403, 404) },
    },
  },
  "/apps/{slug}/api/export": {
    get: {
      tags: creatorTag,
      summary: "Export the app's requests",
      security: creatorKey,
      parameters: [slug, { name: "format", in: "query", schema: str({ enum: ["json", "csv"] }) }, { name: "cursor", in: "query", schema: str() }],
      responses: { 200: { description: "A page of requests.", content: { "application/json": { schema: ref("Export") }, ...csv } }, ...errors(400, 401, 404) },
    },
  },
  "/api/creator": { get: { tags: creatorTag, summary: "The key's creator", security: creatorKey, responses: { ...ok(200, "Creator"), ...errors(401) } } },
  "/api/creator/stripe-account": { put: { tags: creatorTag, summary: "Connect or disconnect a Stripe account", security: creatorKey, requestBody: jsonBody(obj({ account_id: nullable(str({ pattern: "^acct_" })) })), responses: { ...ok(200, "Creator"), ...errors(400, 401, 422) } } },
  "/api/creator/keys": {
    get: { tags: creatorTag, summary: "The creator's API keys", security: creatorKey, responses: { ...ok(200, obj({ keys: arr(ref("ApiKey")) })), ...errors(401) } },
    post: { tags: creatorTag, summary: "Create a key (shown once)", security: creatorKey, requestBody: jsonBody(obj({ name: str() })), responses: { ...ok(201, { allOf: [ref("ApiKey"), obj({ key: str(), message: str() }, ["key"])] }), ...errors(400, 401, 422) } },
  },
  "/api/creator/keys/{id}": { delete: { tags: creatorTag, summary: "Revoke a key", security: creatorKey, parameters: [id("The key's id.")], responses: { ...ok(200, obj({ id: str(), revoked: bool })), ...errors(401, 404) } } },
  "/api/requests": {
    get: {
      tags: creatorTag,
      summary: "The queue across the creator's apps, in working order",
      security: creatorKey,
      parameters: [{ name: "app", in: "query", schema: str() }, { name: "status", in: "query", schema: str() }, { name: "q", in: "query", schema: str() }, { name: "format", in: "query", schema: str({ enum: ["json", "csv"] }) }],
      responses: { 200: { description: "Up to 200 requests (1,000 as CSV).", content: { "application/json": { schema: ref("QueueList") }, ...csv } }, ...errors(400, 401, 404) },
    },
  },
  "/api/apps/{slug}/requests": {
    get: {
      tags: creatorTag,
      summary: "One app's queue",
      security: creatorKey,
      parameters: [slug, { name: "status", in: "query", schema: str() }, { name: "q", in: "query", schema: str() }, { name: "format", in: "query", schema: str({ enum: ["json", "csv"] }) }],
      responses: { 200: { description: "The requests.", content: { "application/json": { schema: ref("QueueList") }, ...csv } }, ...errors(400, 401, 404) },
    },
  },
  "/api/kpis": {
    get: {
      tags: creatorTag,
      summary: "The creator's numbers",
      security: creatorKey,
      parameters: [{ name: "days", in: "query", schema: int({ enum: [7, 30, 90] }) }, { name: "app", in: "query", schema: str() }, { name: "format", in: "query", schema: str({ enum: ["json", "csv"] }) }],
      responses: { 200: { description: "The period's figures.", content: { "application/json": { schema: ref("Kpis") }, ...csv } }, ...errors(400, 401, 404) },
    },
  },
  "/api/apps/{slug}/deliveries": {
    get: { tags: creatorTag, summary: "Every notification, newest first", security: creatorKey, parameters: [slug, { name: "state", in: "query", schema: str({ enum: DELIVERY_STATES }) }], responses: { ...ok(200, obj({ app: str(), deliveries: arr(ref("Delivery")) })), ...errors(400, 401, 404) } },
  },
  "/api/apps/{slug}/deliveries/{id}": { get: { tags: creatorTag, summary: "One notification with its attempt log", security: creatorKey, parameters: [slug, id("The delivery's id.")], responses: { ...ok(200, "Delivery"), ...errors(401, 404) } } },
  "/api/apps/{slug}/deliveries/{id}/replay": { post: { tags: creatorTag, summary: "Queue a dead or skipped delivery again", security: creatorKey, parameters: [slug, id("The delivery's id.")], responses: { ...ok(202, obj({ replayed: arr(str()) })), ...errors(401, 404, 409) } } },
  "/api/apps/{slug}/deliveries/replay": { post: { tags: creatorTag, summary: "Queue every dead delivery again", security: creatorKey, parameters: [slug], responses: { ...ok(202, obj({ replayed: arr(str()) })), ...errors(401, 404) } } },
  "/api/apps/{slug}/destinations": {
    get: { tags: creatorTag, summary: "Each target's settings (credentials masked)", security: creatorKey, parameters: [slug], responses: { ...ok(200, "Destinations"), ...errors(401, 404) } },
    put: { tags: creatorTag, summary: "Set or remove targets", security: creatorKey, parameters: [slug], requestBody: jsonBody({ type: "object", description: "By kind: its settings, or null to remove it. A webhook keeps its signing secret unless its settings say `\"rotate_secret\": true`. Settings are stored sealed under the hub's CREDENTIALS_KEY (503 not_configured without it)." }), responses: { ...ok(200, "Destinations"), ...errors(400, 401, 404, 422) } },
  },
  "/api/apps/{slug}/destinations/{kind}/test": {
    post: { tags: creatorTag, summary: "Send a test event to one destination now", security: creatorKey, parameters: [slug, { name: "kind", in: "path", required: true, schema: str({ enum: DESTINATION_KINDS }) }], responses: { ...ok(200, obj({ kind: str(), enabled: bool, delivered: bool, status: nullable(int()), error: nullable(str()) }, ["kind", "delivered"])), ...errors(400, 401, 404, 409) } },
  },
  "/api/apps/{slug}/limits": {
    get: { tags: creatorTag, summary: "Quotas and capacity in force", security: creatorKey, parameters: [slug], responses: { ...ok(200, "Limits"), ...errors(401, 404) } },
    put: { tags: creatorTag, summary: "Set quotas and capacity", security: creatorKey, parameters: [slug], requestBody: jsonBody(obj({ capacity: nullable(int({ minimum: 0 })), max_open_per_fan: nullable(int({ minimum: 0 })), max_per_fan_per_day: nullable(int({ minimum: 0 })) }, [])), responses: { ...ok(200, "Limits"), ...errors(400, 401, 404, 422) } },
    delete: { tags: creatorTag, summary: "Back to the manifest's limits", security: creatorKey, parameters: [slug], responses: { ...ok(200, "Limits"), ...errors(401, 404) } },
  },
  "/api/apps/{slug}/state": {
    get: { tags: creatorTag, summary: "The app's lifecycle state and history", security: creatorKey, parameters: [slug], responses: { ...ok(200, "AppState"), ...errors(401, 404) } },
    post: {
      tags: creatorTag,
      summary: "Change the app's state",
      security: creatorKey,
      parameters: [slug],
      requestBody: jsonBody(obj({ state: str({ enum: APP_STATES }), message: str(), successor: str(), open_requests: str({ enum: ["keep", "refund", "fulfil"] }) }, ["state"])),
      responses: { ...ok(200, "StateChange"), ...errors(400, 401, 404, 409, 422) },
    },
  },
  "/api/apps/{slug}/invites": { post: { tags: creatorTag, summary: "Make an invite link", security: creatorKey, parameters: [slug], requestBody: jsonBody(obj({ label: str() }, []), false), responses: { ...ok(201, obj({ id: str(), label: nullable(str()), url: str(), created_at: time }, ["id", "url"])), ...errors(400, 401, 404, 409) } } },
  "/api/apps/{slug}/invites/{id}": { delete: { tags: creatorTag, summary: "Revoke an invite link", security: creatorKey, parameters: [slug, id("The invite's id.")], responses: { ...noContent, ...errors(401, 404) } } },
  "/api/blocklist": {
    get: { tags: creatorTag, summary: "The creator's block list", security: creatorKey, responses: { ...ok(200, obj({ blocklist: arr(ref("BlockEntry")) })), ...errors(401) } },
    post: { tags: creatorTag, summary: "Block an address, email or fan", security: creatorKey, requestBody: jsonBody(obj({ kind: str({ enum: ["ip", "email", "fan"] }), value: str(), reason: str() }, ["kind", "value"])), responses: { ...ok(201, "BlockEntry"), ...errors(400, 401, 422) } },
  },
  "/api/blocklist/{kind}/{value}": {
    delete: { tags: creatorTag, summary: "Unblock", security: creatorKey, parameters: [{ name: "kind", in: "path", required: true, schema: str({ enum: ["ip", "email", "fan"] }) }, { name: "value", in: "path", required: true, schema: str() }], responses: { ...noContent, ...ok(200, { type: "object" }), ...errors(400, 401, 404) } },
  },
  "/webhooks/payment": {
    post: {
      tags: ["Webhooks received"],
      summary: "Stripe's events (verified by `Stripe-Signature`)",
      parameters: [{ name: "Stripe-Signature", in: "header", required: true, schema: str() }],
      requestBody: jsonBody({ type: "object" }),
      responses: { ...ok(200, "WebhookOutcome"), ...errors(400, 401, 413, 429) },
    },
  },
  "/webhooks/paypal": { post: { tags: ["Webhooks received"], summary: "PayPal's events (verified through PayPal's API)", requestBody: jsonBody({ type: "object" }), responses: { ...ok(200, "WebhookOutcome"), ...errors(400, 401, 413, 429, 502) } } },
  "/webhooks/twitch": {
    post: {
      tags: ["Webhooks received"],
      summary: "Twitch EventSub deliveries (verified by `Twitch-Eventsub-Message-Signature`; once per message id)",
      parameters: ["Id", "Timestamp", "Signature", "Type"].map((h) => ({ name: `Twitch-Eventsub-Message-${h}`, in: "header", required: true, schema: str() })),
      requestBody: jsonBody({ type: "object" }),
      responses: {
        200: { description: "`webhook_callback_verification`: the challenge, verbatim.", content: { "text/plain": { schema: str() } } },
        ...noContent,
        ...errors(400, 413, 503),
      },
    },
  },
  "/api/apps/{slug}/twitch": {
    get: { tags: creatorTag, summary: "The app's Twitch connection: channel, reward, EventSub subscriptions", security: creatorKey, parameters: [slug], responses: { ...ok(200, "TwitchConnection"), ...errors(401, 404) } },
    post: {
      tags: creatorTag,
      summary: "Start connecting a Twitch channel: the link where the broadcaster authorizes Fanline",
      security: creatorKey,
      parameters: [slug],
      requestBody: { required: false, content: { "application/json": { schema: { ...obj({ reward: { ...obj({ title: str(), cost: int({ minimum: 1 }), prompt: str() }, ["title", "cost"]), additionalProperties: false } }, []), additionalProperties: false } } } },
      responses: { ...ok(200, obj({ app: str(), authorize_url: str({ format: "uri" }), expires_in: int() })), ...errors(400, 401, 404, 409, 503) },
    },
    delete: { tags: creatorTag, summary: "Disconnect: removes the EventSub subscriptions at Twitch", security: creatorKey, parameters: [slug], responses: { ...ok(200, obj({ app: str(), connected: bool, removed_subscriptions: int() })), ...errors(401, 404, 502, 503) } },
  },
  "/twitch/callback": page(
    "Where Twitch returns the broadcaster after authorizing a connection",
    [{ name: "state", in: "query", required: true, schema: str() }, { name: "code", in: "query", schema: str() }],
    { ...html("The connection's result, for the broadcaster."), ...errors(400, 502, 503) },
  ),
  "/api/apps/{slug}/youtube": {
    get: { tags: creatorTag, summary: "The app's YouTube live chat: the broadcast read, when it is read next, the day's quota", security: creatorKey, parameters: [slug], responses: { ...ok(200, "YoutubeConnection"), ...errors(401, 404) } },
    post: { tags: creatorTag, summary: "Start connecting a YouTube channel: the link where its owner authorizes Fanline", security: creatorKey, parameters: [slug], responses: { ...ok(200, obj({ app: str(), authorize_url: str({ format: "uri" }), expires_in: int() })), ...errors(401, 404, 409, 503) } },
    put: {
      tags: creatorTag,
      summary: "Read this broadcast's chat (`broadcast_id`), or the channel's active one (`null`)",
      security: creatorKey,
      parameters: [slug],
      requestBody: jsonBody({ ...obj({ broadcast_id: nullable(str()) }), additionalProperties: false }),
      responses: { ...ok(200, "YoutubeConnection"), ...errors(400, 401, 404, 415) },
    },
    delete: { tags: creatorTag, summary: "Stop reading the channel's chat", security: creatorKey, parameters: [slug], responses: { ...ok(200, obj({ app: str(), connected: bool })), ...errors(401, 404) } },
  },
  "/youtube/callback": page(
    "Where Google returns the channel's owner after authorizing a connection",
    [{ name: "state", in: "query", required: true, schema: str() }, { name: "code", in: "query", schema: str() }],
    { ...html("The connection's result."), ...errors(400, 502, 503) },
  ),
  "/apps/{slug}/api/me/links": {
    post: {
      tags: fanTag,
      summary: "Link the identity the fan is signed in with (their Twitch) to the fan of the Fan-Token",
      parameters: [slug, fanToken, sessionHeader],
      responses: { ...ok(200, obj({ fan_id: str(), linked: bool, identity: obj({ provider: str(), sub: str(), name: nullable(str()) }, ["provider", "sub"]) })), ...errors(401, 404) },
    },
    delete: {
      tags: fanTag,
      summary: "Undo the link",
      parameters: [slug, fanToken, sessionHeader],
      responses: { ...ok(200, obj({ fan_id: str(), unlinked: bool, identity: obj({ provider: str(), sub: str() }) })), ...errors(401, 404) },
    },
  },
  "/webhooks/kofi": {
    post: {
      tags: ["Webhooks received"],
      summary: "Ko-fi payments: a form post whose `data` field is the payment as JSON (vouched for by its verification_token; once per message_id)",
      requestBody: { required: true, content: { "application/x-www-form-urlencoded": { schema: obj({ data: str({ description: "The payment, as JSON." }) }) } } },
      responses: { ...ok(200, obj({ received: bool, message_id: str(), outcome: str({ examples: ["applied", "duplicate", "recorded", "mismatch", "unknown_fan"] }) })), ...errors(400, 403, 413) },
    },
  },
  "/webhooks/patreon": {
    post: {
      tags: ["Webhooks received"],
      summary: "Patreon `members:pledge:*` events (verified by `X-Patreon-Signature`, HMAC-MD5 of the body)",
      parameters: [{ name: "X-Patreon-Event", in: "header", required: true, schema: str() }, { name: "X-Patreon-Signature", in: "header", required: true, schema: str() }],
      requestBody: jsonBody({ type: "object" }),
      responses: { ...ok(200, obj({ received: bool, event: str(), outcome: str({ examples: ["applied", "duplicate", "already_settled", "ignored"] }) })), ...errors(400, 403, 413) },
    },
  },
  "/api/apps/{slug}/kofi": membershipSource("Ko-fi", obj({ verification_token: str(), credit_price: int({ minimum: 1 }), tiers: { type: "object", additionalProperties: str() }, shop_items: { type: "object", additionalProperties: int({ minimum: 1 }) } }, ["verification_token"]), "The verification token is stored only as its SHA-256 hash and never shown again."),
  "/api/apps/{slug}/patreon": membershipSource("Patreon", obj({ webhook_secret: str(), campaign_id: str(), tiers: { type: "object", additionalProperties: str() } }), "The webhook secret is stored sealed under the hub's CREDENTIALS_KEY (503 not_configured without it) and never shown again."),
  "/webhooks/moderation": { post: { tags: ["Webhooks received"], summary: "A moderation provider's verdicts (HMAC-signed)", requestBody: jsonBody({ type: "object" }), responses: { ...ok(200, "WebhookOutcome"), ...errors(400, 401, 404, 409, 413, 429) } } },
};

/** `POST /apps/{slug}/api/requests/{id}/accept` -> `postAppsApiRequestsAccept`: stable names for SDK generators. */
function withOperationIds(all) {
  const seen = new Set();
  for (const [p, item] of Object.entries(all)) {
    for (const [verb, op] of Object.entries(item)) {
      // Every parameter but the app's slug is named (`.../{id}/replay` -> `...ByIdReplay`).
      const words = p
        .split("/")
        .filter((w) => w && w !== "{slug}")
        .map((w) => (w.startsWith("{") ? `by-${w.slice(1, -1)}` : w.replace(/\.json$/, "-json").replace(/\.js$/, "-js")));
      let id = [verb, ...words].map((w, i) => (i ? w[0].toUpperCase() + w.slice(1) : w).replace(/[-_](\w)/g, (_, c) => c.toUpperCase())).join("");
      if (p === "/apps/{slug}/") id = "getAppsFormPage";
      if (p === "/") id = "getMarketplacePage";
      if (seen.has(id)) throw new Error(`two operations named ${id}`);
      seen.add(id);
      op.operationId = id;
    }
  }
  return all;
}

export function buildSpec() {
  return {
    openapi: "3.1.0",
    info: {
      title: "Fanline",
      version: "1.0.0",
      summary: "Micro-apps that capture, qualify, monetize and route fans' requests to creators.",
      description: "Fans submit through each app's request API under `/apps/{slug}/api/`; creators manage their queue, destinations and limits with an API key (`Authorization: Bearer <key>`). Errors are always `{\"error\": {\"code\", \"message\"}}`. Guides: docs/README.md.",
      license: { name: "Proprietary", identifier: "LicenseRef-Fanline" },
    },
    servers: [{ url: "http://127.0.0.1:8787", description: "The local marketplace (`./scripts/dev`)" }],
    tags: [
      { name: "Fan", description: "What a fan's browser (or the embed) calls; no key." },
      { name: "Creator", description: "A creator's API key." },
      { name: "Marketplace" },
      { name: "Webhooks received", description: "Providers' callbacks into Fanline." },
      { name: "Platform" },
      { name: "Live", description: "Tools for creators on stream." },
      { name: "Pages", description: "What people see: HTML pages, the embed script and sign-in redirects." },
    ],
    paths: withOperationIds(paths),
    // What Fanline sends out: one entry per event, all with the same body (docs/webhooks.md).
    webhooks: Object.fromEntries(
      WEBHOOK_EVENTS.map((event) => [
        event,
        {
          post: {
            summary: `${event} on the creator's webhook destination`,
            operationId: `webhook${event.split(/[._]/).map((w) => w[0].toUpperCase() + w.slice(1)).join("")}`,
            parameters: [
              { name: "webhook-id", in: "header", required: true, schema: str(), description: "The same on every retry of this notification: act once per id." },
              { name: "webhook-timestamp", in: "header", required: true, schema: str(), description: "Unix seconds; refuse one far from now." },
              { name: "webhook-signature", in: "header", required: true, schema: str(), description: "`v1,<base64 HMAC-SHA256>` over `<id>.<timestamp>.<body>`." },
            ],
            requestBody: jsonBody(ref("WebhookEvent")),
            responses: { "2XX": { description: "Received. Anything else is retried (docs/webhooks.md#retries)." }, 410: { description: "Gone: Fanline disables this destination." } },
          },
        },
      ]),
    ),
    components: {
      schemas,
      responses,
      securitySchemes: { creatorKey: { type: "http", scheme: "bearer", description: "A creator API key from the console or `POST /api/creator/keys`." } },
    },
  };
}

export const specPath = path.join(path.dirname(fileURLToPath(import.meta.url)), "../../docs/openapi.json");
export const render = () => JSON.stringify(buildSpec(), null, 2) + "\n";

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv.includes("--write")) fs.writeFileSync(specPath, render());
  else if (fs.readFileSync(specPath, "utf8") !== render()) {
    console.error("docs/openapi.json is out of date: run node scripts/openapi/spec.mjs --write");
    process.exit(1);
  }
}
