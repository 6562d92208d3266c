-- For a D1 created before the money-and-trust fixes: Idempotency-Keys bound to their body and
-- client, the per-address mail budget, one tier checkout at a time, and the auction's
-- scheduled end (the base of the anti-sniping cap). Applied by `wrangler d1 migrations apply fanline`.
ALTER TABLE idempotency_keys ADD COLUMN fingerprint TEXT;
ALTER TABLE auctions ADD COLUMN scheduled_end INTEGER;
ALTER TABLE refunds ADD COLUMN idempotency_key TEXT;
UPDATE auctions SET scheduled_end = ends_at WHERE scheduled_end IS NULL;
CREATE TABLE IF NOT EXISTS mail_log (
  address TEXT NOT NULL,
  kind    TEXT NOT NULL,
  at      INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS mail_log_by_address ON mail_log (address, at);
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
