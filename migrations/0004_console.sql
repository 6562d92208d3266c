-- The creator console (issue 13): creators sign in by email link or API key, hold several
-- named keys, and read KPIs that stay fast with 100,000 requests per app.

-- Where a creator's sign-in links go. Unique, so one address is one account.
ALTER TABLE creators ADD COLUMN email TEXT;
CREATE UNIQUE INDEX IF NOT EXISTS creators_by_email ON creators (email);

-- Named API keys, stored as hashes; the last 4 characters are kept so a creator can tell them
-- apart. creators.api_key_hash stays as each creator's first key's hash (copied here, and
-- still written by older seeds), but only this table authenticates.
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
INSERT OR IGNORE INTO api_keys (id, creator_id, name, key_hash, last4, created_at)
  SELECT 'key_' || id, id, 'First key', api_key_hash, '', created_at FROM creators;

-- Console sessions, by the hash of the cookie's token; `csrf` must come back in a header with
-- every state-changing call. Ending a session (sign-out) is server-side: ended_at is set.
CREATE TABLE IF NOT EXISTS console_sessions (
  token_hash TEXT PRIMARY KEY,
  creator_id TEXT NOT NULL REFERENCES creators(id),
  csrf       TEXT NOT NULL,
  via        TEXT NOT NULL CHECK (via IN ('email', 'api_key')),
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  ended_at   INTEGER
);

-- Form views, one counter row per app and UTC day (a view is a cheap upsert, not a row).
CREATE TABLE IF NOT EXISTS form_views (
  app_slug TEXT NOT NULL,
  day      INTEGER NOT NULL,
  views    INTEGER NOT NULL,
  PRIMARY KEY (app_slug, day)
);

-- A fan's rating of a fulfilled request, once.
CREATE TABLE IF NOT EXISTS ratings (
  request_id TEXT PRIMARY KEY REFERENCES requests(id),
  app_slug   TEXT NOT NULL,
  stars      INTEGER NOT NULL CHECK (stars BETWEEN 1 AND 5),
  comment    TEXT,
  at         INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS ratings_by_app ON ratings (app_slug, at);

-- KPIs read an app's requests by creation time whatever their status, and its refunds and
-- disputes by time.
CREATE INDEX IF NOT EXISTS requests_by_app_created ON requests (app_slug, created_at);
CREATE INDEX IF NOT EXISTS refunds_by_request ON refunds (request_id);
CREATE INDEX IF NOT EXISTS disputes_by_request ON disputes (request_id);
CREATE INDEX IF NOT EXISTS credit_purchases_by_app ON credit_purchases (app_slug, created_at);
