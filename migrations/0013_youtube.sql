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
