-- Every payment of a tier, first and renewals, from Stripe's `invoice.paid`: the KPIs count
-- tier revenue from what was paid, not from sign-ups (a sign-up whose checkout expired paid
-- nothing, and a renewal is a new payment). One row per invoice, so a redelivered event adds
-- nothing; a refund of the invoice's payment is matched through its PaymentIntent.
CREATE TABLE IF NOT EXISTS tier_payments (
  invoice_id      TEXT PRIMARY KEY,
  subscription_id TEXT NOT NULL,
  fan_id          TEXT NOT NULL,
  app_slug        TEXT NOT NULL,
  tier            TEXT NOT NULL,
  amount          INTEGER NOT NULL,
  currency        TEXT NOT NULL,
  application_fee INTEGER,
  payment_intent  TEXT,
  amount_refunded INTEGER NOT NULL DEFAULT 0,
  paid_at         INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS tier_payments_by_app ON tier_payments (app_slug, paid_at);
CREATE INDEX IF NOT EXISTS tier_payments_by_intent ON tier_payments (payment_intent);
