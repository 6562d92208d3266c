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
