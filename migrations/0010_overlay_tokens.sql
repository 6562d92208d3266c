-- The read-only token in each app's OBS overlay URL (/apps/<slug>/overlay?token=...). Rotating
-- it replaces the row, so the old URL stops working.
CREATE TABLE IF NOT EXISTS overlay_tokens (
  app_slug   TEXT PRIMARY KEY,
  token      TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
