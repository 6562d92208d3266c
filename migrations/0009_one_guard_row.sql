-- Intake's guards become one statement on one row that is never deleted: the batch inserts
-- slot 1 with every guard's verdict, each named CHECK refuses the batch when its verdict is 0,
-- and `ON CONFLICT (slot) DO NOTHING` keeps the row (SQLite checks CHECKs before the conflict).
-- Before, each guard was its own INSERT and a DELETE cleared them, up to four statements per
-- intake. `app_context` (first, so it is checked first) refuses a batch planned on an app
-- context that changed since the Worker read it.
DROP TABLE IF EXISTS intake_guards;
CREATE TABLE intake_guards (
  slot        INTEGER PRIMARY KEY,
  app_context INTEGER CONSTRAINT app_context CHECK (app_context IS NULL OR app_context = 1),
  open_quota  INTEGER CONSTRAINT open_quota CHECK (open_quota IS NULL OR open_quota = 1),
  daily_quota INTEGER CONSTRAINT daily_quota CHECK (daily_quota IS NULL OR daily_quota = 1),
  capacity    INTEGER CONSTRAINT capacity CHECK (capacity IS NULL OR capacity = 1)
);
