-- An app's lifecycle (draft, live, paused, invite_only, archived): the state and the creator's
-- message the form shows, the app fans are pointed to when it is archived, every change with
-- who and why, the invite links of an invite-only app (only their SHA-256 is kept), and test
-- requests (made through a draft's preview link), which the KPIs leave out.
ALTER TABLE apps ADD COLUMN state TEXT NOT NULL DEFAULT 'live';
ALTER TABLE apps ADD COLUMN state_message TEXT;
ALTER TABLE apps ADD COLUMN successor TEXT;
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
CREATE TABLE IF NOT EXISTS app_invites (
  id         TEXT PRIMARY KEY,
  app_slug   TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE,
  label      TEXT,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);
CREATE INDEX IF NOT EXISTS app_invites_by_app ON app_invites (app_slug);
ALTER TABLE requests ADD COLUMN test INTEGER NOT NULL DEFAULT 0;
