CREATE TABLE requests (
  id         TEXT PRIMARY KEY,
  song       TEXT NOT NULL,
  artist     TEXT,
  message    TEXT,
  created_at INTEGER NOT NULL
);
