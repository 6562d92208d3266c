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
