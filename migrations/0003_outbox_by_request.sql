-- A request's outbox rows are looked up by request (the earlier Trello delivery, parked rows,
-- reminders already raised, dispute evidence); without this index each lookup read the whole
-- outbox, which the burst benchmark showed growing with every delivery ever made.
CREATE INDEX IF NOT EXISTS outbox_by_request ON outbox (request_id, destination);
