//! `subscriptions` (kept current by Stripe's `customer.subscription.*` events),
//! `tier_signups` (one tier checkout at a time per fan and app) and `tier_payments` (every
//! payment of a tier, from `invoice.paid`).

use super::{all, changes, first, ids, run, statement};
use crate::platform::config::now_ms;
use crate::platform::error::ApiResult;
use fanline_core::money::stripe::{self, SubscriptionEvent, TierPayment};
use serde::Deserialize;
use worker::{D1Database, D1PreparedStatement};

/// The tiers of the fan's subscriptions at this app that are live at `now_secs`, newest period first.
pub async fn live_tiers(db: &D1Database, fan_id: &str, app_slug: &str, now_secs: i64) -> ApiResult<Vec<String>> {
    #[derive(Deserialize)]
    struct Live {
        tier: String,
    }
    let live = all::<Live>(
        db,
        "SELECT tier FROM subscriptions WHERE fan_id = ? AND app_slug = ? AND status IN ('active', 'trialing') AND current_period_end > ? ORDER BY current_period_end DESC",
        &[fan_id.into(), app_slug.into(), now_secs.into()],
    )
    .await?;
    Ok(live.into_iter().map(|l| l.tier).collect())
}

/// Subscriptions Stripe can still cancel.
pub async fn cancellable(db: &D1Database, fan_id: &str, app_slug: &str) -> ApiResult<Vec<String>> {
    ids(
        db,
        "SELECT id FROM subscriptions WHERE fan_id = ? AND app_slug = ? AND status IN ('active', 'trialing', 'past_due')",
        &[fan_id.into(), app_slug.into()],
    )
    .await
}

/// Stores what a subscription event says, unless a newer event already did: Stripe does not
/// promise order, so `event_created` decides, and within one second the later stage.
pub fn upsert(db: &D1Database, sub: &SubscriptionEvent) -> ApiResult<D1PreparedStatement> {
    let (stored, arriving) = (stripe::subscription_stage_sql("subscriptions.status"), stripe::subscription_stage_sql("excluded.status"));
    statement(
        db,
        &format!(
            "INSERT INTO subscriptions (id, fan_id, app_slug, tier, status, current_period_end, event_created, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (id) DO UPDATE SET status = excluded.status, tier = excluded.tier, current_period_end = excluded.current_period_end,
               event_created = excluded.event_created, updated_at = excluded.updated_at
             WHERE excluded.event_created > subscriptions.event_created
               OR (excluded.event_created = subscriptions.event_created AND {arriving} >= {stored})"
        ),
        &[
            sub.id.as_str().into(),
            sub.fan_id.as_str().into(),
            sub.app_slug.as_str().into(),
            sub.tier.as_str().into(),
            sub.status.as_str().into(),
            sub.current_period_end.into(),
            sub.event_created.into(),
            now_ms().into(),
        ],
    )
}

/// A tier checkout about to open.
pub struct Signup<'a> {
    pub id: &'a str,
    pub fan_id: &'a str,
    pub app_slug: &'a str,
    pub tier: &'a str,
}

/// Claims the fan's one tier checkout at this app by a conditional insert (D1 runs statements
/// one at a time, so two concurrent calls cannot both claim): none pending since `pending_since`
/// and no subscription live or starting.
pub async fn claim_signup(db: &D1Database, s: &Signup<'_>, now: i64, pending_since: i64) -> ApiResult<bool> {
    Ok(changes(
        db,
        "INSERT INTO tier_signups (id, fan_id, app_slug, tier, status, created_at)
         SELECT ?1, ?2, ?3, ?4, 'pending', ?5
         WHERE NOT EXISTS (SELECT 1 FROM tier_signups WHERE fan_id = ?2 AND app_slug = ?3 AND status = 'pending' AND created_at > ?6)
           AND NOT EXISTS (SELECT 1 FROM subscriptions WHERE fan_id = ?2 AND app_slug = ?3 AND status IN ('active', 'trialing', 'past_due', 'incomplete'))",
        &[s.id.into(), s.fan_id.into(), s.app_slug.into(), s.tier.into(), now.into(), pending_since.into()],
    )
    .await?
        == 1)
}

pub async fn signup_failed(db: &D1Database, id: &str) -> ApiResult<()> {
    run(db, "UPDATE tier_signups SET status = 'failed' WHERE id = ?", &[id.into()]).await
}

pub async fn signup_session(db: &D1Database, id: &str, session_id: &str) -> ApiResult<()> {
    run(db, "UPDATE tier_signups SET checkout_session_id = ? WHERE id = ?", &[session_id.into(), id.into()]).await
}

/// The fan's tier checkout at this app is over: its subscription exists now.
pub fn signups_done(db: &D1Database, fan_id: &str, app_slug: &str) -> ApiResult<D1PreparedStatement> {
    statement(db, "UPDATE tier_signups SET status = 'done' WHERE fan_id = ? AND app_slug = ? AND status = 'pending'", &[fan_id.into(), app_slug.into()])
}

/// The signup's session expired: the fan may start another.
pub fn signup_expired(db: &D1Database, id: &str) -> ApiResult<D1PreparedStatement> {
    statement(db, "UPDATE tier_signups SET status = 'done' WHERE id = ? AND status = 'pending'", &[id.into()])
}

/// Records one payment of a tier; a redelivered `invoice.paid` changes nothing.
pub fn record_payment(db: &D1Database, p: &TierPayment) -> ApiResult<D1PreparedStatement> {
    let amount = i64::try_from(p.amount).unwrap_or(i64::MAX);
    let fee = p.application_fee.map(|f| i64::try_from(f).unwrap_or(i64::MAX));
    statement(
        db,
        "INSERT INTO tier_payments (invoice_id, subscription_id, fan_id, app_slug, tier, amount, currency, application_fee, payment_intent, paid_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (invoice_id) DO NOTHING",
        &[
            p.invoice_id.as_str().into(),
            p.subscription_id.as_str().into(),
            p.fan_id.as_str().into(),
            p.app_slug.as_str().into(),
            p.tier.as_str().into(),
            amount.into(),
            p.currency.as_str().into(),
            fee.into(),
            p.payment_intent.as_deref().into(),
            p.paid_at.saturating_mul(1000).into(),
        ],
    )
}

/// The tier payment a PaymentIntent paid, if it paid one.
pub async fn payment_by_intent(db: &D1Database, payment_intent: &str) -> ApiResult<Option<String>> {
    #[derive(Deserialize)]
    struct Row {
        invoice_id: String,
    }
    Ok(first::<Row>(db, "SELECT invoice_id FROM tier_payments WHERE payment_intent = ?", &[payment_intent.into()]).await?.map(|r| r.invoice_id))
}

/// Stripe's running total refunded of a tier payment; never lowers it (events arrive in any order).
pub fn payment_refunded(db: &D1Database, invoice_id: &str, amount_refunded: u64) -> ApiResult<D1PreparedStatement> {
    let refunded = i64::try_from(amount_refunded).unwrap_or(i64::MAX);
    statement(db, "UPDATE tier_payments SET amount_refunded = MAX(amount_refunded, MIN(amount, ?)) WHERE invoice_id = ?", &[refunded.into(), invoice_id.into()])
}
