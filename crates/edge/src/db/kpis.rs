//! The creator's numbers, read from D1 for a set of apps and a period: each query is an
//! aggregate over `requests_by_app_created` (or a small table), so it stays fast at 100,000
//! requests per app. `form_views` is written here too: one counter row per app and UTC day.

use super::{all, first, run, Arg};
use crate::platform::error::ApiResult;
use fanline_core::kpi::{Buyers, Disputes, Funnel, OtherMoney, Ratings, RequestMoney, Week};
use fanline_core::lifecycle::Status;
use serde::Deserialize;
use worker::D1Database;

pub const DAY_MS: i64 = 86_400_000;

/// Counts one form view (the form page or the embed mounted in a browser that runs scripts).
pub async fn count_view(db: &D1Database, app_slug: &str, now: i64) -> ApiResult<()> {
    run(
        db,
        "INSERT INTO form_views (app_slug, day, views) VALUES (?, ?, 1) ON CONFLICT (app_slug, day) DO UPDATE SET views = views + 1",
        &[app_slug.into(), (now / DAY_MS).into()],
    )
    .await
}

/// Which apps and since when (milliseconds).
pub struct Scope<'a> {
    pub apps: &'a [String],
    pub from: i64,
}

impl Scope<'_> {
    /// `?1` is the period's start, `?2..` the apps.
    fn apps_in(&self) -> String {
        (0..self.apps.len()).map(|i| format!("?{}", i + 2)).collect::<Vec<_>>().join(", ")
    }

    fn args(&self) -> Vec<Arg<'_>> {
        let mut args = vec![Arg::Int(self.from)];
        args.extend(self.apps.iter().map(Arg::from));
        args
    }
}

/// A request the fan paid for: its payment was taken (a captured hold, or a `paid` event).
fn paid() -> String {
    format!(
        "r.amount > 0 AND (r.captured_at IS NOT NULL OR EXISTS (SELECT 1 FROM request_events e WHERE e.request_id = r.id AND e.status = '{}'))",
        Status::Paid.as_str()
    )
}

/// The platform's cut of `amount` in the app's manifest, unless Stripe recorded the fee itself.
const FEE: &str = "COALESCE(r.application_fee, r.amount * COALESCE((SELECT json_extract(a.manifest, '$.pricing.platform_fee_bps') FROM apps a WHERE a.slug = r.app_slug), 0) / 10000)";

pub async fn created_per_week(db: &D1Database, scope: &Scope<'_>, now: i64) -> ApiResult<Vec<Week>> {
    let sql = format!(
        "SELECT ({now} - created_at) / 604800000 AS week, COUNT(*) AS n FROM requests r WHERE r.created_at >= ?1 AND r.app_slug IN ({}) GROUP BY week ORDER BY week",
        scope.apps_in()
    );
    all(db, &sql, &scope.args()).await
}

pub async fn funnel(db: &D1Database, scope: &Scope<'_>) -> ApiResult<Funnel> {
    let sql = format!(
        "SELECT (SELECT COALESCE(SUM(views), 0) FROM form_views WHERE day >= ?1 / {DAY_MS} AND app_slug IN ({apps})) AS views,
                (SELECT COUNT(*) FROM requests r WHERE r.created_at >= ?1 AND r.app_slug IN ({apps})) AS submissions",
        apps = scope.apps_in()
    );
    Ok(first(db, &sql, &scope.args()).await?.unwrap_or_default())
}

pub async fn request_money(db: &D1Database, scope: &Scope<'_>) -> ApiResult<RequestMoney> {
    let lines = |which: &str| {
        format!("(SELECT COALESCE(SUM(json_extract(l.value, '$.amount')), 0) FROM json_each(r.price_lines) l WHERE r.auction_id IS NULL AND {which})")
    };
    let tip = lines(&format!("json_extract(l.value, '$.label') = '{}'", fanline_core::intake::submission::TIP_LABEL));
    let add_on = lines(
        "json_extract(l.value, '$.label') IN (SELECT json_extract(o.value, '$.label') FROM apps a, json_each(a.manifest, '$.pricing.add_ons') o WHERE a.slug = r.app_slug)",
    );
    let sql = format!(
        "SELECT COUNT(*) AS paid, COALESCE(SUM(r.amount), 0) AS gross, COALESCE(SUM(r.amount_refunded), 0) AS refunded,
                COALESCE(SUM(r.amount_refunded > 0), 0) AS refunded_count, COALESCE(SUM({FEE}), 0) AS fees,
                COALESCE(SUM(CASE WHEN r.auction_id IS NOT NULL THEN r.amount ELSE 0 END), 0) AS auctions,
                COALESCE(SUM({tip}), 0) AS tips, COALESCE(SUM({add_on}), 0) AS add_ons
           FROM requests r WHERE r.created_at >= ?1 AND r.app_slug IN ({}) AND {}",
        scope.apps_in(),
        paid()
    );
    Ok(first(db, &sql, &scope.args()).await?.unwrap_or_default())
}

pub async fn other_money(db: &D1Database, scope: &Scope<'_>) -> ApiResult<OtherMoney> {
    use fanline_core::money::purchase::PurchaseStatus;
    let bps = |table: &str| format!("COALESCE((SELECT json_extract(a.manifest, '$.pricing.platform_fee_bps') FROM apps a WHERE a.slug = {table}.app_slug), 0)");
    let tier_amount = "(SELECT json_extract(t.value, '$.amount') FROM apps a, json_each(a.manifest, '$.pricing.tiers') t WHERE a.slug = s.app_slug AND json_extract(t.value, '$.id') = s.tier)";
    let sql = format!(
        "SELECT (SELECT COALESCE(SUM(amount), 0) FROM credit_purchases p WHERE p.created_at >= ?1 AND p.app_slug IN ({apps}) AND p.status IN ('{paid}', '{refunded}')) AS credit_packs,
                (SELECT COALESCE(SUM(amount), 0) FROM credit_purchases p WHERE p.created_at >= ?1 AND p.app_slug IN ({apps}) AND p.status = '{refunded}') AS credit_packs_refunded,
                (SELECT COALESCE(SUM(amount * {pack_bps} / 10000), 0) FROM credit_purchases p WHERE p.created_at >= ?1 AND p.app_slug IN ({apps}) AND p.status = '{paid}') AS credit_pack_fees,
                (SELECT COALESCE(SUM({tier_amount}), 0) FROM tier_signups s WHERE s.created_at >= ?1 AND s.app_slug IN ({apps}) AND s.status = 'done') AS tiers,
                (SELECT COALESCE(SUM({tier_amount} * {tier_bps} / 10000), 0) FROM tier_signups s WHERE s.created_at >= ?1 AND s.app_slug IN ({apps}) AND s.status = 'done') AS tier_fees",
        apps = scope.apps_in(),
        paid = PurchaseStatus::Paid.as_str(),
        refunded = PurchaseStatus::Refunded.as_str(),
        pack_bps = bps("p"),
        tier_bps = bps("s"),
    );
    Ok(first(db, &sql, &scope.args()).await?.unwrap_or_default())
}

pub async fn disputes(db: &D1Database, scope: &Scope<'_>) -> ApiResult<Disputes> {
    let sql = format!(
        "SELECT COUNT(*) AS count, COALESCE(SUM(d.amount), 0) AS amount FROM requests r JOIN disputes d ON d.request_id = r.id
          WHERE r.created_at >= ?1 AND r.app_slug IN ({})",
        scope.apps_in()
    );
    Ok(first(db, &sql, &scope.args()).await?.unwrap_or_default())
}

/// Paying fans by their strongest identity: who signed in, else the fan token, the email or
/// the address the request came from (`fan_key`).
pub async fn buyers(db: &D1Database, scope: &Scope<'_>) -> ApiResult<Buyers> {
    let sql = format!(
        "SELECT COUNT(*) AS buyers, COALESCE(SUM(n >= 2), 0) AS repeat FROM (
           SELECT COALESCE(json_extract(r.identity, '$.provider') || ':' || json_extract(r.identity, '$.sub'), r.fan_key, 'request:' || r.id) AS buyer, COUNT(*) AS n
             FROM requests r WHERE r.created_at >= ?1 AND r.app_slug IN ({}) AND {} GROUP BY buyer)",
        scope.apps_in(),
        paid()
    );
    Ok(first(db, &sql, &scope.args()).await?.unwrap_or_default())
}

/// Milliseconds from joining the queue (queued, or a hold waiting for the creator) to
/// fulfilled, for the period's fulfilled requests, shortest first.
pub async fn fulfilment_times(db: &D1Database, scope: &Scope<'_>) -> ApiResult<Vec<i64>> {
    #[derive(Deserialize)]
    struct Row {
        d: i64,
    }
    let sql = format!(
        "SELECT f - q AS d FROM (
           SELECT (SELECT MIN(at) FROM request_events e WHERE e.request_id = r.id AND e.status IN ('{queued}', '{authorized}')) AS q,
                  (SELECT MIN(at) FROM request_events e WHERE e.request_id = r.id AND e.status = '{fulfilled}') AS f
             FROM requests r WHERE r.created_at >= ?1 AND r.app_slug IN ({apps}) AND r.status IN ('{fulfilled}', '{closed}'))
          WHERE q IS NOT NULL AND f IS NOT NULL ORDER BY d",
        queued = Status::Queued.as_str(),
        authorized = Status::Authorized.as_str(),
        fulfilled = Status::Fulfilled.as_str(),
        closed = Status::Closed.as_str(),
        apps = scope.apps_in(),
    );
    Ok(all::<Row>(db, &sql, &scope.args()).await?.into_iter().map(|r| r.d).collect())
}

pub async fn ratings(db: &D1Database, scope: &Scope<'_>) -> ApiResult<Ratings> {
    let sql = format!("SELECT COUNT(*) AS count, AVG(stars) AS average FROM ratings WHERE at >= ?1 AND app_slug IN ({})", scope.apps_in());
    Ok(first(db, &sql, &scope.args()).await?.unwrap_or_default())
}
