-- When a request was paid, joined the creator's queue (queued, or a held payment waiting for
-- the creator) and was fulfilled, kept on the request itself. The KPIs and the fan's wait
-- estimate read these for every request of a period; reading them from request_events cost two
-- index seeks per request (about 2 s for 90 days at 100,000 requests, `scripts/bench --kpis`).
-- The trigger fills them as the history is written, so no write path has to remember to.
ALTER TABLE requests ADD COLUMN paid_at INTEGER;
ALTER TABLE requests ADD COLUMN queued_at INTEGER;
ALTER TABLE requests ADD COLUMN fulfilled_at INTEGER;
UPDATE requests SET
  paid_at = (SELECT MIN(at) FROM request_events e WHERE e.request_id = requests.id AND e.status = 'paid'),
  queued_at = (SELECT MIN(at) FROM request_events e WHERE e.request_id = requests.id AND e.status IN ('queued', 'authorized')),
  fulfilled_at = (SELECT MIN(at) FROM request_events e WHERE e.request_id = requests.id AND e.status = 'fulfilled');
CREATE TRIGGER IF NOT EXISTS request_milestones AFTER INSERT ON request_events
WHEN NEW.status IN ('paid', 'queued', 'authorized', 'fulfilled')
BEGIN
  UPDATE requests SET
    paid_at = CASE WHEN NEW.status = 'paid' THEN COALESCE(paid_at, NEW.at) ELSE paid_at END,
    queued_at = CASE WHEN NEW.status IN ('queued', 'authorized') THEN COALESCE(queued_at, NEW.at) ELSE queued_at END,
    fulfilled_at = CASE WHEN NEW.status = 'fulfilled' THEN COALESCE(fulfilled_at, NEW.at) ELSE fulfilled_at END
  WHERE id = NEW.request_id;
END;
