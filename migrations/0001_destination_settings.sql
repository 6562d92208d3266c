-- For a D1 created before fulfilment targets (Trello, SMS, Notion, Airtable, creator email):
-- destinations kept a URL and a secret per row; now each row holds its target's settings as
-- JSON. Applied by `wrangler d1 migrations apply fanline`.
CREATE TABLE destinations_with_settings (
  app_slug   TEXT NOT NULL REFERENCES apps(slug),
  kind       TEXT NOT NULL CHECK (kind IN ('discord', 'webhook', 'creator_email', 'trello', 'sms', 'notion', 'airtable')),
  settings   TEXT NOT NULL,
  enabled    INTEGER NOT NULL DEFAULT 1,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (app_slug, kind)
);
INSERT INTO destinations_with_settings (app_slug, kind, settings, enabled, updated_at)
  SELECT app_slug, kind,
         CASE kind WHEN 'discord' THEN json_object('webhook_url', url) ELSE json_object('url', url, 'secret', secret) END,
         enabled, updated_at
  FROM destinations;
DROP TABLE destinations;
ALTER TABLE destinations_with_settings RENAME TO destinations;
CREATE TABLE IF NOT EXISTS target_refs (
  request_id  TEXT NOT NULL REFERENCES requests(id),
  kind        TEXT NOT NULL,
  external_id TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  PRIMARY KEY (request_id, kind)
);
