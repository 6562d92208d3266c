-- Fanline's D1 schema, whole: the snapshot of every file in migrations/ applied in order (a test
-- proves the two agree). D1s are created and upgraded by `wrangler d1 migrations apply`; this
-- file is for reading, and every statement is idempotent so applying it twice is harmless.
-- A schema change is a new numbered migration plus the same change here.

-- A creator owns apps and calls the creator API with a key; only the key's SHA-256 is kept.
CREATE TABLE IF NOT EXISTS creators (
  id           TEXT PRIMARY KEY,
  name         TEXT NOT NULL,
  api_key_hash TEXT NOT NULL UNIQUE,
  -- Stripe Connect account that receives payments for this creator's apps (acct_...).
  stripe_account TEXT,
  created_at   INTEGER NOT NULL,
  -- Where the creator's console sign-in links go.
  email        TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS creators_by_email ON creators (email);

-- Named API keys (hashes; the last 4 characters to tell them apart). Only this table
-- authenticates; creators.api_key_hash is the first key's hash, kept from before.
CREATE TABLE IF NOT EXISTS api_keys (
  id         TEXT PRIMARY KEY,
  creator_id TEXT NOT NULL REFERENCES creators(id),
  name       TEXT NOT NULL,
  key_hash   TEXT NOT NULL UNIQUE,
  last4      TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);
CREATE INDEX IF NOT EXISTS api_keys_by_creator ON api_keys (creator_id, created_at);

-- Console sessions by the hash of the cookie's token; `csrf` comes back in a header with
-- every state-changing call; sign-out sets ended_at.
CREATE TABLE IF NOT EXISTS console_sessions (
  token_hash TEXT PRIMARY KEY,
  creator_id TEXT NOT NULL REFERENCES creators(id),
  csrf       TEXT NOT NULL,
  via        TEXT NOT NULL CHECK (via IN ('email', 'api_key')),
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  ended_at   INTEGER
);

-- Form views: one counter row per app and UTC day.
CREATE TABLE IF NOT EXISTS form_views (
  app_slug TEXT NOT NULL,
  day      INTEGER NOT NULL,
  views    INTEGER NOT NULL,
  PRIMARY KEY (app_slug, day)
);

-- A registered micro-app: its manifest as deployed, and who owns it.
CREATE TABLE IF NOT EXISTS apps (
  slug        TEXT PRIMARY KEY,
  creator_id  TEXT NOT NULL REFERENCES creators(id),
  title       TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  manifest    TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  -- draft, live, paused, invite_only or archived (core app_state); only live apps are listed.
  state         TEXT NOT NULL DEFAULT 'live',
  -- What the form says while paused or archived.
  state_message TEXT,
  -- The app an archived app's fans are pointed to.
  successor     TEXT
);

-- Every change of an app's state, with who and why.
CREATE TABLE IF NOT EXISTS app_events (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  app_slug   TEXT NOT NULL,
  from_state TEXT NOT NULL,
  to_state   TEXT NOT NULL,
  actor      TEXT NOT NULL,
  reason     TEXT,
  at         INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS app_events_by_app ON app_events (app_slug, id);

-- Invite links of an invite-only app; only the token's SHA-256 is kept. Revoking keeps the row.
CREATE TABLE IF NOT EXISTS app_invites (
  id         TEXT PRIMARY KEY,
  app_slug   TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE,
  label      TEXT,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);
CREATE INDEX IF NOT EXISTS app_invites_by_app ON app_invites (app_slug);

-- Where an app's notifications go. The manifest says which kinds get which events; the
-- creator sets each kind's settings (JSON, credentials included: a Discord webhook URL or a
-- Trello token lets anyone post). `enabled` drops to 0 when a receiver answers 410.
CREATE TABLE IF NOT EXISTS destinations (
  app_slug   TEXT NOT NULL REFERENCES apps(slug),
  kind       TEXT NOT NULL CHECK (kind IN ('discord', 'webhook', 'creator_email', 'trello', 'sms', 'notion', 'airtable')),
  settings   TEXT NOT NULL,
  enabled    INTEGER NOT NULL DEFAULT 1,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (app_slug, kind)
);

-- What a target made for a request (the Trello card), so later events update it instead of
-- making another.
CREATE TABLE IF NOT EXISTS target_refs (
  request_id  TEXT NOT NULL REFERENCES requests(id),
  kind        TEXT NOT NULL,
  external_id TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  PRIMARY KEY (request_id, kind)
);

-- The current state of each request; its history is request_events.
CREATE TABLE IF NOT EXISTS requests (
  id                  TEXT PRIMARY KEY,
  app_slug            TEXT NOT NULL REFERENCES apps(slug),
  status              TEXT NOT NULL,
  version             INTEGER NOT NULL,
  fields              TEXT NOT NULL,
  add_ons             TEXT NOT NULL DEFAULT '[]',
  amount              INTEGER NOT NULL,
  currency            TEXT NOT NULL,
  price_lines         TEXT NOT NULL DEFAULT '[]',
  fan_email           TEXT,
  checkout_session_id TEXT UNIQUE,
  checkout_url        TEXT,
  payment_intent_id   TEXT,
  amount_refunded     INTEGER NOT NULL DEFAULT 0,
  hold_until          INTEGER,
  captured_at         INTEGER,
  application_fee     INTEGER,
  -- stripe, paypal, credits or none (free).
  provider            TEXT NOT NULL DEFAULT 'stripe',
  paypal_order_id     TEXT UNIQUE,
  paypal_capture_id   TEXT,
  credits_spent       INTEGER NOT NULL DEFAULT 0,
  fan_id              TEXT,
  -- Subscribers' requests (priority tiers) come first in the creator's queue.
  priority            INTEGER NOT NULL DEFAULT 0,
  auction_id          TEXT,
  -- Who the fan is for quotas: fan:<id>, email:<address> or ip:<address>.
  fan_key             TEXT,
  -- Who signed in (OAuth provider, user id, name, email) when the fan did (JSON).
  identity            TEXT,
  -- The built-in classifier's intent, score and suggested priority (JSON).
  triage              TEXT,
  moderation          TEXT NOT NULL,
  client_ip           TEXT,
  user_agent          TEXT,
  created_at          INTEGER NOT NULL,
  updated_at          INTEGER NOT NULL,
  -- Milestones, filled from request_events by the request_milestones trigger: when it was
  -- paid, joined the creator's queue (queued or authorized) and was fulfilled.
  paid_at             INTEGER,
  queued_at           INTEGER,
  fulfilled_at        INTEGER,
  -- 1 for a request made through a draft app's preview link; the KPIs leave these out.
  test                INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS requests_by_app ON requests (app_slug, status, created_at);
CREATE INDEX IF NOT EXISTS requests_by_payment_intent ON requests (payment_intent_id);
CREATE INDEX IF NOT EXISTS requests_by_fan ON requests (app_slug, fan_key, created_at);
CREATE INDEX IF NOT EXISTS requests_by_hold ON requests (hold_until) WHERE hold_until IS NOT NULL AND captured_at IS NULL;
CREATE INDEX IF NOT EXISTS requests_by_app_created ON requests (app_slug, created_at, test);

-- A fan's rating of a fulfilled request, once.
CREATE TABLE IF NOT EXISTS ratings (
  request_id TEXT PRIMARY KEY REFERENCES requests(id),
  app_slug   TEXT NOT NULL,
  stars      INTEGER NOT NULL CHECK (stars BETWEEN 1 AND 5),
  comment    TEXT,
  at         INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS ratings_by_app ON ratings (app_slug, at);

-- Every state change, in order. (request_id, seq) is the key, so two writers racing from
-- the same version cannot both commit.
CREATE TABLE IF NOT EXISTS request_events (
  request_id TEXT NOT NULL REFERENCES requests(id),
  seq        INTEGER NOT NULL,
  type       TEXT NOT NULL,
  status     TEXT NOT NULL,
  actor      TEXT NOT NULL,
  reason     TEXT,
  at         INTEGER NOT NULL,
  PRIMARY KEY (request_id, seq)
);
-- Keeps requests' milestone columns as the history is written (KPIs read them per request).
CREATE TRIGGER IF NOT EXISTS request_milestones AFTER INSERT ON request_events
WHEN NEW.status IN ('paid', 'queued', 'authorized', 'fulfilled')
BEGIN
  UPDATE requests SET
    paid_at = CASE WHEN NEW.status = 'paid' THEN COALESCE(paid_at, NEW.at) ELSE paid_at END,
    queued_at = CASE WHEN NEW.status IN ('queued', 'authorized') THEN COALESCE(queued_at, NEW.at) ELSE queued_at END,
    fulfilled_at = CASE WHEN NEW.status = 'fulfilled' THEN COALESCE(fulfilled_at, NEW.at) ELSE fulfilled_at END
  WHERE id = NEW.request_id;
END;

-- Files fans attached; the bytes are in R2 under object_key.
CREATE TABLE IF NOT EXISTS attachments (
  request_id TEXT NOT NULL REFERENCES requests(id),
  field      TEXT NOT NULL,
  object_key TEXT NOT NULL,
  media_type TEXT NOT NULL,
  size       INTEGER NOT NULL,
  PRIMARY KEY (request_id, field)
);

-- A retried submission with the same Idempotency-Key gets the first request back. The key is
-- bound to what was sent and by whom (fingerprint: a hash of the client's identity and the
-- submission), so the same key with another body, or from another fan, is refused.
CREATE TABLE IF NOT EXISTS idempotency_keys (
  app_slug    TEXT NOT NULL,
  key         TEXT NOT NULL,
  request_id  TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  fingerprint TEXT,
  PRIMARY KEY (app_slug, key)
);

-- Mail the platform sent to a fan-typed address (sign-in links, confirmations), so each
-- address gets a bounded number per hour whoever types it.
CREATE TABLE IF NOT EXISTS mail_log (
  address TEXT NOT NULL,
  kind    TEXT NOT NULL,
  at      INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS mail_log_by_address ON mail_log (address, at);

-- Each payment provider event is acted on once.
CREATE TABLE IF NOT EXISTS payment_events (
  provider    TEXT NOT NULL,
  event_id    TEXT NOT NULL,
  type        TEXT NOT NULL,
  request_id  TEXT,
  outcome     TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  PRIMARY KEY (provider, event_id)
);

-- Refunds made through the creator API (Stripe refund ids). Refunds made elsewhere (the
-- Stripe dashboard) reach requests.amount_refunded through the charge.refunded webhook.
CREATE TABLE IF NOT EXISTS refunds (
  id         TEXT PRIMARY KEY,
  request_id TEXT NOT NULL REFERENCES requests(id),
  amount     INTEGER NOT NULL,
  reason     TEXT,
  actor      TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  -- The provider idempotency key of a refund made through the API, so its retry answers again.
  idempotency_key TEXT
);
CREATE INDEX IF NOT EXISTS refunds_by_request ON refunds (request_id);

-- Chargebacks: opened and closed by Stripe's dispute webhooks.
CREATE TABLE IF NOT EXISTS disputes (
  id         TEXT PRIMARY KEY,
  request_id TEXT NOT NULL REFERENCES requests(id),
  amount     INTEGER NOT NULL,
  reason     TEXT NOT NULL,
  status     TEXT NOT NULL,
  opened_at  INTEGER NOT NULL,
  closed_at  INTEGER
);
CREATE INDEX IF NOT EXISTS disputes_by_request ON disputes (request_id);

-- Notifications to deliver. A row commits in the same batch as the state change it reports;
-- the queue only carries its id. state: pending, sending (claimed by a consumer until
-- claimed_at + lease), delivered, skipped, dead.
CREATE TABLE IF NOT EXISTS outbox (
  id           TEXT PRIMARY KEY,
  request_id   TEXT NOT NULL REFERENCES requests(id),
  app_slug     TEXT NOT NULL,
  event        TEXT NOT NULL,
  destination  TEXT NOT NULL,
  payload      TEXT NOT NULL,
  state        TEXT NOT NULL DEFAULT 'pending',
  attempts     INTEGER NOT NULL DEFAULT 0,
  last_error   TEXT,
  claimed_at   INTEGER,
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL,
  delivered_at INTEGER
);
CREATE INDEX IF NOT EXISTS outbox_by_state ON outbox (state, created_at);
CREATE INDEX IF NOT EXISTS outbox_by_request ON outbox (request_id, destination);

-- Every delivery attempt, for the creator's view of what happened.
CREATE TABLE IF NOT EXISTS delivery_attempts (
  outbox_id  TEXT NOT NULL REFERENCES outbox(id),
  attempt    INTEGER NOT NULL,
  status     INTEGER,
  error      TEXT,
  at         INTEGER NOT NULL,
  PRIMARY KEY (outbox_id, attempt)
);

-- A fan who bought credits or a tier. The fan token (shown once) proves it is them; only its
-- SHA-256 is kept.
CREATE TABLE IF NOT EXISTS fans (
  id         TEXT PRIMARY KEY,
  token_hash TEXT NOT NULL UNIQUE,
  email      TEXT,
  created_at INTEGER NOT NULL
);

-- A credit pack bought through Checkout; credited once, when Stripe says it is paid.
CREATE TABLE IF NOT EXISTS credit_purchases (
  id                  TEXT PRIMARY KEY,
  fan_id              TEXT NOT NULL REFERENCES fans(id),
  app_slug            TEXT NOT NULL,
  pack                TEXT NOT NULL,
  credits             INTEGER NOT NULL,
  amount              INTEGER NOT NULL,
  currency            TEXT NOT NULL,
  status              TEXT NOT NULL,
  checkout_session_id TEXT UNIQUE,
  checkout_url        TEXT,
  payment_intent_id   TEXT,
  created_at          INTEGER NOT NULL,
  updated_at          INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS credit_purchases_by_app ON credit_purchases (app_slug, created_at);

-- Each fan's credits at each app, append-only: a row per change with the balance after it.
-- The balance can never go negative (CHECK), `reference` makes every purchase, spend and
-- return happen once, and (fan, app, seq) serialises writers.
CREATE TABLE IF NOT EXISTS credit_ledger (
  fan_id    TEXT NOT NULL,
  app_slug  TEXT NOT NULL,
  seq       INTEGER NOT NULL,
  delta     INTEGER NOT NULL,
  balance   INTEGER NOT NULL CHECK (balance >= 0),
  reason    TEXT NOT NULL,
  reference TEXT NOT NULL UNIQUE,
  at        INTEGER NOT NULL,
  PRIMARY KEY (fan_id, app_slug, seq)
);
CREATE TRIGGER IF NOT EXISTS credit_ledger_no_update BEFORE UPDATE ON credit_ledger
BEGIN SELECT RAISE(ABORT, 'credit_ledger is append-only'); END;
CREATE TRIGGER IF NOT EXISTS credit_ledger_no_delete BEFORE DELETE ON credit_ledger
BEGIN SELECT RAISE(ABORT, 'credit_ledger is append-only'); END;

-- A fan's subscription to a tier, as Stripe's subscription webhooks last reported it.
CREATE TABLE IF NOT EXISTS subscriptions (
  id                 TEXT PRIMARY KEY,
  fan_id             TEXT NOT NULL,
  app_slug           TEXT NOT NULL,
  tier               TEXT NOT NULL,
  status             TEXT NOT NULL,
  current_period_end INTEGER NOT NULL,
  event_created      INTEGER NOT NULL,
  updated_at         INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS subscriptions_by_fan ON subscriptions (fan_id, app_slug);

-- Tier checkouts started and not yet turned into a subscription (or expired): one per fan and
-- app at a time, so two sessions can never both start a billed subscription.
-- status: pending, done (the subscription arrived or the session expired), failed.
CREATE TABLE IF NOT EXISTS tier_signups (
  id                  TEXT PRIMARY KEY,
  fan_id              TEXT NOT NULL,
  app_slug            TEXT NOT NULL,
  tier                TEXT NOT NULL,
  checkout_session_id TEXT,
  status              TEXT NOT NULL,
  created_at          INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS tier_signups_by_fan ON tier_signups (fan_id, app_slug, status);

-- Every payment of a tier, first and renewals (Stripe's `invoice.paid`), one row per invoice;
-- a refund of it is matched through its PaymentIntent. Tier revenue in the KPIs.
CREATE TABLE IF NOT EXISTS tier_payments (
  invoice_id      TEXT PRIMARY KEY,
  subscription_id TEXT NOT NULL,
  fan_id          TEXT NOT NULL,
  app_slug        TEXT NOT NULL,
  tier            TEXT NOT NULL,
  amount          INTEGER NOT NULL,
  currency        TEXT NOT NULL,
  application_fee INTEGER,
  payment_intent  TEXT,
  amount_refunded INTEGER NOT NULL DEFAULT 0,
  paid_at         INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS tier_payments_by_app ON tier_payments (app_slug, paid_at);
CREATE INDEX IF NOT EXISTS tier_payments_by_intent ON tier_payments (payment_intent);

-- An auction of a few slots; bids are requests of the auction app with held payments.
-- status: open, closing (claimed by one closer), closed.
CREATE TABLE IF NOT EXISTS auctions (
  id         TEXT PRIMARY KEY,
  app_slug   TEXT NOT NULL,
  title      TEXT NOT NULL,
  slots      INTEGER NOT NULL,
  ends_at    INTEGER NOT NULL,
  status     TEXT NOT NULL DEFAULT 'open',
  closed_at  INTEGER,
  created_at INTEGER NOT NULL,
  -- The end set when it opened; late bids extend ends_at by at most the manifest's cap past it.
  scheduled_end INTEGER
);
CREATE INDEX IF NOT EXISTS auctions_by_end ON auctions (status, ends_at);

-- The creator's own limits for an app; when a row exists it replaces the manifest's limits.
CREATE TABLE IF NOT EXISTS app_limits (
  app_slug            TEXT PRIMARY KEY REFERENCES apps(slug),
  max_open_per_fan    INTEGER,
  max_per_fan_per_day INTEGER,
  capacity            INTEGER,
  updated_at          INTEGER NOT NULL
);

-- Guards for intake: the intake batch upserts slot 1 with each guard's verdict (is the count
-- under the limit; is the app context intake planned on still current), and the named CHECK
-- refuses the whole batch when one is 0 (SQLite checks CHECKs before the conflict clause, so
-- the row is written once and kept). D1 runs a batch as one transaction, so concurrent
-- submissions cannot both slip under a limit. `app_context` comes first, so it is checked first.
CREATE TABLE IF NOT EXISTS intake_guards (
  slot        INTEGER PRIMARY KEY,
  app_context INTEGER CONSTRAINT app_context CHECK (app_context IS NULL OR app_context = 1),
  open_quota  INTEGER CONSTRAINT open_quota CHECK (open_quota IS NULL OR open_quota = 1),
  daily_quota INTEGER CONSTRAINT daily_quota CHECK (daily_quota IS NULL OR daily_quota = 1),
  capacity    INTEGER CONSTRAINT capacity CHECK (capacity IS NULL OR capacity = 1)
);

-- Fans, emails and addresses a creator never wants requests from.
CREATE TABLE IF NOT EXISTS blocklist (
  creator_id TEXT NOT NULL REFERENCES creators(id),
  kind       TEXT NOT NULL CHECK (kind IN ('ip', 'email', 'fan')),
  value      TEXT NOT NULL,
  reason     TEXT,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (creator_id, kind, value)
);

-- Sign-in attempts: state and PKCE verifier of each OAuth authorization request. A state is
-- used once (used_at), so a replayed callback is refused.
CREATE TABLE IF NOT EXISTS oauth_logins (
  state      TEXT PRIMARY KEY,
  app_slug   TEXT NOT NULL,
  provider   TEXT NOT NULL,
  verifier   TEXT NOT NULL,
  return_to  TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  used_at    INTEGER
);

-- The read-only token in each app's OBS overlay URL (/apps/<slug>/overlay?token=...). Rotating
-- it replaces the row, so the old URL stops working.
CREATE TABLE IF NOT EXISTS overlay_tokens (
  app_slug   TEXT PRIMARY KEY,
  token      TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
-- A Twitch channel connected to an app: the broadcaster's user token (refreshed as it lapses;
-- it settles redemptions and speaks in chat as the channel), and the channel-points reward
-- Fanline created there (only the client that made a reward may settle its redemptions).
CREATE TABLE IF NOT EXISTS twitch_channels (
  app_slug          TEXT PRIMARY KEY,
  creator_id        TEXT NOT NULL,
  broadcaster_id    TEXT NOT NULL,
  broadcaster_login TEXT NOT NULL,
  reward_id         TEXT,
  access_token      TEXT NOT NULL,
  refresh_token     TEXT NOT NULL,
  token_expires_at  INTEGER NOT NULL,
  connected_at      INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS twitch_channels_by_broadcaster ON twitch_channels (broadcaster_id);

-- The EventSub subscriptions made for a connected channel, with the status Twitch last gave
-- (a revocation is recorded here).
CREATE TABLE IF NOT EXISTS twitch_subscriptions (
  id         TEXT PRIMARY KEY,
  app_slug   TEXT NOT NULL,
  type       TEXT NOT NULL,
  status     TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS twitch_subscriptions_by_app ON twitch_subscriptions (app_slug);

-- A connection started by a creator and waiting for Twitch's authorization (one use).
CREATE TABLE IF NOT EXISTS twitch_connects (
  state      TEXT PRIMARY KEY,
  app_slug   TEXT NOT NULL,
  creator_id TEXT NOT NULL,
  reward     TEXT,
  created_at INTEGER NOT NULL
);

-- A sign-in identity (`twitch:<user id>`) linked to a fan, so a request relayed from chat can
-- spend that fan's credits and use their tier.
CREATE TABLE IF NOT EXISTS fan_links (
  identity_key TEXT PRIMARY KEY,
  fan_id       TEXT NOT NULL,
  linked_at    INTEGER NOT NULL
);
-- Where an app's supporters pay elsewhere: a Ko-fi account (looked up by the hash of its
-- verification token) or a Patreon campaign (by its id; `secret` is the webhook's secret),
-- with the creator's settings (credits per amount, tier mappings) as JSON.
CREATE TABLE IF NOT EXISTS membership_sources (
  app_slug   TEXT NOT NULL,
  source     TEXT NOT NULL CHECK (source IN ('kofi', 'patreon')),
  lookup     TEXT NOT NULL,
  secret     TEXT,
  settings   TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (app_slug, source)
);
CREATE UNIQUE INDEX IF NOT EXISTS membership_sources_by_lookup ON membership_sources (source, lookup);

-- A supporter's tier through a membership paid elsewhere, as its latest event says (`ordered_at`
-- keeps a stale event from overriding a newer one). Matched to a fan (Ko-fi, by email) or to a
-- sign-in identity (`patreon:<user id>`); `active_until` bounds a membership renewed by payments.
CREATE TABLE IF NOT EXISTS memberships (
  source       TEXT NOT NULL,
  member_id    TEXT NOT NULL,
  app_slug     TEXT NOT NULL,
  fan_id       TEXT,
  identity_key TEXT,
  tier         TEXT,
  active       INTEGER NOT NULL,
  active_until INTEGER,
  ordered_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL,
  PRIMARY KEY (source, member_id, app_slug)
);
CREATE INDEX IF NOT EXISTS memberships_by_fan ON memberships (app_slug, fan_id);
CREATE INDEX IF NOT EXISTS memberships_by_identity ON memberships (app_slug, identity_key);

-- Every payment a membership source reported, once per its id, with what it earned: the
-- creator's record, and the guard that acts on a redelivered payment only once.
CREATE TABLE IF NOT EXISTS supporter_payments (
  source      TEXT NOT NULL,
  id          TEXT NOT NULL,
  app_slug    TEXT NOT NULL,
  kind        TEXT NOT NULL,
  email       TEXT,
  amount      INTEGER NOT NULL,
  currency    TEXT,
  fan_id      TEXT,
  credits     INTEGER NOT NULL DEFAULT 0,
  tier        TEXT,
  outcome     TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  PRIMARY KEY (source, id)
);
CREATE INDEX IF NOT EXISTS supporter_payments_by_app ON supporter_payments (app_slug, received_at);
-- A YouTube channel connected to an app: the channel's tokens, the live chat being read (none
-- while no broadcast is live: `waiting`), where reading left off (`page_token`) and when YouTube
-- allows the next read (`next_poll_at`, from its pollingIntervalMillis).
CREATE TABLE IF NOT EXISTS youtube_chats (
  app_slug         TEXT PRIMARY KEY,
  creator_id       TEXT NOT NULL,
  access_token     TEXT NOT NULL,
  refresh_token    TEXT NOT NULL,
  token_expires_at INTEGER NOT NULL,
  status           TEXT NOT NULL CHECK (status IN ('live', 'waiting')),
  broadcast_id     TEXT,
  live_chat_id     TEXT,
  page_token       TEXT,
  next_poll_at     INTEGER NOT NULL,
  polled_at        INTEGER,
  last_error       TEXT,
  connected_at     INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS youtube_chats_by_chat ON youtube_chats (live_chat_id);

-- A connection started by a creator and waiting for Google's authorization (one use).
CREATE TABLE IF NOT EXISTS youtube_connects (
  state      TEXT PRIMARY KEY,
  app_slug   TEXT NOT NULL,
  creator_id TEXT NOT NULL,
  created_at INTEGER NOT NULL
);

-- Units of the YouTube Data API quota spent per quota day (Pacific time, as YouTube counts),
-- for the whole marketplace: a call is made only if its cost fits the daily budget.
CREATE TABLE IF NOT EXISTS youtube_quota (
  day  TEXT PRIMARY KEY,
  used INTEGER NOT NULL
);
