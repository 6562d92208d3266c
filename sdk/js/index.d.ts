// Types for @fanline/sdk. The wire shapes are described in full by the OpenAPI document the
// hub serves at /openapi.json; these name what the SDK's callers use most.

export type RequestStatus =
  | "created" | "validated" | "awaiting_payment" | "paid" | "authorized" | "held_for_review" | "queued"
  | "accepted" | "fulfilled" | "rejected" | "expired" | "refunded" | "disputed" | "closed";

export interface FieldError { field: string; code: string; message: string }

export interface Price { amount: number; currency: string; lines: { label: string; amount: number }[]; refunded?: number }

export interface CreatedRequest {
  id: string;
  app: string;
  status: RequestStatus;
  status_url: string;
  /** The fan's own status page (with the key to rate it later): give it to the fan only. */
  page_url?: string;
  price: Price;
  message?: string;
  checkout_url?: string;
  checkout_session_id?: string;
}

export interface RequestView {
  id: string;
  app: string;
  status: RequestStatus;
  created_at: string;
  updated_at: string;
  price: Price;
  history: { seq: number; type: string; status: RequestStatus; at: string; actor?: string; reason?: string | null }[];
  queue?: { position: number; ahead: number; estimate: { median_secs: number; p90_secs: number; based_on: number } | null; message: string };
  [key: string]: unknown;
}

export class FanlineError extends Error {
  status: number;
  /** e.g. `validation_failed`, `rate_limited`, `quota_exceeded`, `request_rejected`. */
  code: string;
  fields: FieldError[];
  requestId: string | null;
  signIn: Record<string, string> | null;
  /** Seconds the server asked to wait before retrying, or null. */
  retryAfter: number | null;
  body: unknown;
  fieldError(name: string): FieldError | null;
}

export interface FanlineOptions {
  baseUrl: string;
  apiKey?: string;
  fanToken?: string;
  fetch?: typeof fetch;
  /** Retries after a 429 with Retry-After, or a network error / 502 / 503 on a safe call. Default 2. */
  maxRetries?: number;
  /** The longest single wait the SDK accepts before giving up and throwing. Default 30. */
  maxRetryWaitSecs?: number;
}

export interface SubmitOptions {
  addOns?: string[];
  tip?: number;
  payWith?: "stripe" | "paypal" | "credits";
  turnstileToken?: string;
  formToken?: string;
  invite?: string;
  /** Made for you when omitted. Reuse it to retry the same submission. */
  idempotencyKey?: string;
}

export class AppClient {
  readonly slug: string;
  submit(fields: Record<string, string | number | boolean | Blob>, options?: SubmitOptions): Promise<CreatedRequest>;
  bid(auctionId: string, fields: Record<string, string | Blob>, bid: number, options?: SubmitOptions): Promise<CreatedRequest>;
  status(id: string): Promise<RequestView>;
  formToken(): Promise<string>;
  manifest(): Promise<Record<string, unknown>>;
  openStatus(): Promise<{ app: string; open: boolean; state: string; capacity: number | null; in_queue: number; message: string | null }>;
  me(): Promise<Record<string, unknown>>;
  linkSignIn(options?: { session?: string; unlink?: boolean }): Promise<{ fan_id: string; linked?: boolean; unlinked?: boolean; identity: { provider: string; sub: string; name?: string | null } }>;
}

type Json = Record<string, any>;

export class Fanline {
  constructor(options: FanlineOptions);
  readonly baseUrl: string;
  request(method: string, path: string, options?: { json?: unknown; body?: BodyInit; headers?: Record<string, string>; idempotent?: boolean; auth?: "creator" | "fan" }): Promise<{ status: number; headers: Headers; data: any }>;
  app(slug: string): AppClient;
  creator(): Promise<{ id: string; name: string; stripe_account: string | null }>;
  queue(filter?: { app?: string; status?: string; q?: string }): Promise<{ app: string | null; requests: Json[] }>;
  queueCsv(filter?: { app?: string; status?: string; q?: string }): Promise<string>;
  getRequest(slug: string, id: string): Promise<RequestView>;
  accept(slug: string, id: string, options?: { reason?: string }): Promise<RequestView>;
  decline(slug: string, id: string, options?: { reason?: string }): Promise<RequestView>;
  complete(slug: string, id: string, options?: { note?: string }): Promise<RequestView>;
  close(slug: string, id: string, options?: { note?: string }): Promise<RequestView>;
  approve(slug: string, id: string, options?: { reason?: string }): Promise<RequestView>;
  reject(slug: string, id: string, options?: { reason?: string }): Promise<RequestView>;
  refund(slug: string, id: string, options?: { amount?: number; reason?: string }): Promise<RequestView>;
  deliveries(slug: string, filter?: { state?: string }): Promise<{ app: string; deliveries: Json[] }>;
  delivery(slug: string, id: string): Promise<Json>;
  replay(slug: string, id?: string): Promise<{ replayed: string[] }>;
  destinations(slug: string): Promise<{ app: string; destinations: Json[] }>;
  setDestinations(slug: string, destinations: Record<string, Json | null>): Promise<{ app: string; destinations: Json[] }>;
  testDestination(slug: string, kind: string): Promise<{ kind: string; delivered: boolean; status: number | null; error: string | null }>;
  limits(slug: string): Promise<Json>;
  setLimits(slug: string, limits: { capacity?: number | null; max_open_per_fan?: number | null; max_per_fan_per_day?: number | null }): Promise<Json>;
  resetLimits(slug: string): Promise<Json>;
  kpis(options?: { days?: 7 | 30 | 90; app?: string }): Promise<Json>;
  appState(slug: string): Promise<Json>;
  setAppState(slug: string, change: { state: string; message?: string; successor?: string; open_requests?: string }): Promise<Json>;
  blocklist(): Promise<Json>;
  block(entry: { kind: "ip" | "email" | "fan"; value: string; reason?: string }): Promise<Json>;
  unblock(kind: "ip" | "email" | "fan", value: string): Promise<Json>;
  openAuction(slug: string, auction: { title?: string; slots: number; duration_secs: number }): Promise<Json>;
  apiKeys(): Promise<{ keys: Json[] }>;
  createApiKey(name: string): Promise<{ id: string; name: string; key: string; last4: string }>;
  revokeApiKey(id: string): Promise<Json>;
  overlayLink(slug: string): Promise<{ app: string; token: string; url: string }>;
  rotateOverlay(slug: string): Promise<{ app: string; token: string; url: string }>;
  twitch(slug: string): Promise<{ app: string; connected: boolean; command: string | null; channel?: { id: string; login: string }; reward_id?: string | null; subscriptions?: { id: string; type: string; status: string }[]; connected_at?: string }>;
  connectTwitch(slug: string, options?: { reward?: { title: string; cost: number; prompt?: string } }): Promise<{ app: string; authorize_url: string; expires_in: number }>;
  disconnectTwitch(slug: string): Promise<{ app: string; connected: false; removed_subscriptions: number }>;
  youtube(slug: string): Promise<{ app: string; connected: boolean; status?: "live" | "waiting"; broadcast_id?: string | null; live_chat_id?: string | null; next_poll_at?: string; polled_at?: string | null; last_error?: string | null; quota: { day: string; used: number; budget: number } }>;
  connectYoutube(slug: string): Promise<{ app: string; authorize_url: string; expires_in: number }>;
  pickBroadcast(slug: string, broadcastId: string | null): Promise<Json>;
  disconnectYoutube(slug: string): Promise<{ app: string; connected: false }>;
  membership(slug: string, source: "kofi" | "patreon"): Promise<{ app: string; source: string; connected: boolean; webhook_url: string; sign_in_url?: string; settings: Json | null; payments: Json[] }>;
  setMembership(slug: string, source: "kofi", settings: { verification_token: string; credit_price?: number; tiers?: Record<string, string>; shop_items?: Record<string, number> }): Promise<Json>;
  setMembership(slug: string, source: "patreon", settings: { webhook_secret: string; campaign_id: string; tiers: Record<string, string> }): Promise<Json>;
  removeMembership(slug: string, source: "kofi" | "patreon"): Promise<Json>;
}

export class WebhookVerificationError extends Error {
  reason: string;
}

/** Verifies a Fanline webhook (Standard Webhooks) and returns its parsed event. */
export function verifyWebhook(
  payload: string | Uint8Array | ArrayBuffer,
  headers: Headers | Record<string, string>,
  secret: string,
  options?: { toleranceSecs?: number; now?: number },
): Promise<{ type: string; [key: string]: unknown }>;
