//! The creator's numbers, read from D1 for a set of apps and a period: aggregates over
//! `requests_by_app_created` (or small tables), timed at 100,000 requests per app by
//! `scripts/bench --kpis`. `form_views` is written here too: one counter row per app and UTC day.

use super::{all, count, first, run, statement, Arg};
use crate::platform::error::ApiResult;
use fanline_core::kpi::{Disputes, OtherMoney, Ratings, RequestFigures, Week, BUCKETS};
use fanline_core::lifecycle::Status;
use serde::Deserialize;
use worker::{D1Database, D1PreparedStatement, D1Result};

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

pub async fn created_per_week(db: &D1Database, scope: &Scope<'_>, now: i64) -> ApiResult<Vec<Week>> {
    let sql = format!(
        "SELECT ({now} - created_at) / 604800000 AS week, COUNT(*) AS n FROM requests r WHERE r.created_at >= ?1 AND r.app_slug IN ({}) AND r.test = 0 GROUP BY week ORDER BY week",
        scope.apps_in()
    );
    all(db, &sql, &scope.args()).await
}

pub async fn views(db: &D1Database, scope: &Scope<'_>) -> ApiResult<i64> {
    let sql = format!("SELECT COALESCE(SUM(views), 0) AS n FROM form_views WHERE day >= ?1 / {DAY_MS} AND app_slug IN ({})", scope.apps_in());
    count(db, &sql, &scope.args()).await
}

/// The period's requests in one statement: one pass over `requests_by_app_created`. Whether a
/// request was paid and when it joined the queue and was fulfilled are columns on the row
/// (kept by the `request_milestones` trigger); its price lines are unpacked once in a
/// materialized step; what the apps' manifests say (fee, add-on labels) is read once per app.
pub async fn request_figures(db: &D1Database, scope: &Scope<'_>) -> ApiResult<RequestFigures> {
    let mut bounds = Vec::new();
    let mut low = 0;
    for (_, high) in BUCKETS {
        bounds.push(if high == i64::MAX { format!("COALESCE(SUM(d >= {low}), 0)") } else { format!("COALESCE(SUM(d >= {low} AND d < {high}), 0)") });
        low = high;
    }
    let sql = format!(
        "WITH cfg AS MATERIALIZED (SELECT slug, COALESCE(json_extract(manifest, '$.pricing.platform_fee_bps'), 0) AS bps FROM apps WHERE slug IN ({apps})),
              add_on AS MATERIALIZED (SELECT json_extract(o.value, '$.label') AS label FROM apps a, json_each(a.manifest, '$.pricing.add_ons') o WHERE a.slug IN ({apps})),
              base AS MATERIALIZED (
                SELECT r.id, r.status, r.amount, r.amount_refunded, r.auction_id, r.price_lines, r.application_fee, r.identity, r.fan_key, cfg.bps,
                       r.queued_at, r.fulfilled_at, r.amount > 0 AND (r.captured_at IS NOT NULL OR r.paid_at IS NOT NULL) AS paid
                  FROM requests r JOIN cfg ON cfg.slug = r.app_slug WHERE r.created_at >= ?1 AND r.app_slug IN ({apps}) AND r.test = 0),
              paid AS MATERIALIZED (SELECT * FROM base WHERE paid),
              line AS MATERIALIZED (
                SELECT json_extract(l.value, '$.label') AS label, json_extract(l.value, '$.amount') AS amount
                  FROM paid p, json_each(p.price_lines) l WHERE p.auction_id IS NULL),
              buyer AS MATERIALIZED (
                SELECT COUNT(*) AS n FROM paid
                 GROUP BY COALESCE(json_extract(identity, '$.provider') || ':' || json_extract(identity, '$.sub'), fan_key, 'request:' || id)),
              done AS MATERIALIZED (
                SELECT fulfilled_at - queued_at AS d FROM base
                 WHERE status IN ('{fulfilled}', '{closed}') AND queued_at IS NOT NULL AND fulfilled_at IS NOT NULL),
              n AS (SELECT COUNT(*) AS n FROM done)
         SELECT (SELECT COUNT(*) FROM base) AS submissions,
                (SELECT COUNT(*) FROM paid) AS paid,
                (SELECT COALESCE(SUM(amount), 0) FROM paid) AS gross,
                (SELECT COALESCE(SUM(amount_refunded), 0) FROM paid) AS refunded,
                (SELECT COUNT(*) FROM paid WHERE amount_refunded > 0) AS refunded_count,
                (SELECT COALESCE(SUM(COALESCE(application_fee, amount * bps / 10000)), 0) FROM paid) AS fees,
                (SELECT COALESCE(SUM(amount), 0) FROM paid WHERE auction_id IS NOT NULL) AS auctions,
                (SELECT COALESCE(SUM(amount), 0) FROM line WHERE label = '{tip}') AS tips,
                (SELECT COALESCE(SUM(amount), 0) FROM line WHERE EXISTS ({add_on_line})) AS add_ons,
                (SELECT COUNT(*) FROM buyer) AS buyers,
                (SELECT COUNT(*) FROM buyer WHERE n >= 2) AS repeat_buyers,
                n.n AS fulfilled,
                (SELECT d FROM done ORDER BY d LIMIT 1 OFFSET {median}) AS median_ms,
                (SELECT d FROM done ORDER BY d LIMIT 1 OFFSET {p90}) AS p90_ms,
                (SELECT json_array({bounds}) FROM done) AS buckets
           FROM n",
        apps = scope.apps_in(),
        fulfilled = Status::Fulfilled.as_str(),
        closed = Status::Closed.as_str(),
        tip = fanline_core::intake::submission::TIP_LABEL,
        // An add-on's line carries its label, or its label and the discount that applied
        // ("Priority: played next (Fan club -25%)").
        add_on_line = "SELECT 1 FROM add_on a WHERE line.label = a.label OR substr(line.label, 1, length(a.label) + 2) = a.label || ' ('",
        // Nearest rank, as kpi::rank: ceil(n * p / 100), at least 1; OFFSET counts from 0.
        median = "(SELECT max((n * 50 + 99) / 100, 1) - 1 FROM n)",
        p90 = "(SELECT max((n * 90 + 99) / 100, 1) - 1 FROM n)",
        bounds = bounds.join(", "),
    );
    Ok(first(db, &sql, &scope.args()).await?.unwrap_or_default())
}

/// Milliseconds from joining the queue (queued, or a hold waiting for the creator) to
/// fulfilled of one app's newest `newest` requests fulfilled since `from`, shortest first:
/// what the fan's wait estimate is made from, one small read however busy the app. A query
/// for `read_together`; `fulfilment_times` reads its result.
pub fn recent_fulfilment_times_query(db: &D1Database, app_slug: &str, from: i64, newest: u32) -> ApiResult<D1PreparedStatement> {
    let sql = format!(
        "SELECT d FROM (
           SELECT fulfilled_at - queued_at AS d FROM requests
            WHERE app_slug = ?1 AND created_at >= ?2 AND test = 0 AND status IN ('{fulfilled}', '{closed}') AND queued_at IS NOT NULL AND fulfilled_at IS NOT NULL
            ORDER BY created_at DESC LIMIT {newest})
          ORDER BY d",
        fulfilled = Status::Fulfilled.as_str(),
        closed = Status::Closed.as_str(),
    );
    statement(db, &sql, &[app_slug.into(), from.into()])
}

#[derive(Deserialize)]
struct Duration {
    d: i64,
}

/// The times a `recent_fulfilment_times_query` found, shortest first.
pub fn fulfilment_times(result: &D1Result) -> ApiResult<Vec<i64>> {
    Ok(result.results::<Duration>()?.into_iter().map(|r| r.d).collect())
}

pub async fn other_money(db: &D1Database, scope: &Scope<'_>) -> ApiResult<OtherMoney> {
    use fanline_core::money::purchase::PurchaseStatus;
    let bps = |table: &str| format!("COALESCE((SELECT json_extract(a.manifest, '$.pricing.platform_fee_bps') FROM apps a WHERE a.slug = {table}.app_slug), 0)");
    let sql = format!(
        "SELECT (SELECT COALESCE(SUM(amount), 0) FROM credit_purchases p WHERE p.created_at >= ?1 AND p.app_slug IN ({apps}) AND p.status IN ('{paid}', '{refunded}')) AS credit_packs,
                (SELECT COALESCE(SUM(amount), 0) FROM credit_purchases p WHERE p.created_at >= ?1 AND p.app_slug IN ({apps}) AND p.status = '{refunded}') AS credit_packs_refunded,
                (SELECT COALESCE(SUM(amount * {pack_bps} / 10000), 0) FROM credit_purchases p WHERE p.created_at >= ?1 AND p.app_slug IN ({apps}) AND p.status = '{paid}') AS credit_pack_fees,
                (SELECT COALESCE(SUM(amount), 0) FROM tier_payments s WHERE s.paid_at >= ?1 AND s.app_slug IN ({apps})) AS tiers,
                (SELECT COALESCE(SUM(amount_refunded), 0) FROM tier_payments s WHERE s.paid_at >= ?1 AND s.app_slug IN ({apps})) AS tiers_refunded,
                (SELECT COALESCE(SUM(CASE WHEN amount_refunded >= amount THEN 0 ELSE COALESCE(application_fee, amount * {tier_bps} / 10000) END), 0)
                   FROM tier_payments s WHERE s.paid_at >= ?1 AND s.app_slug IN ({apps})) AS tier_fees",
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
          WHERE r.created_at >= ?1 AND r.app_slug IN ({}) AND r.test = 0",
        scope.apps_in()
    );
    Ok(first(db, &sql, &scope.args()).await?.unwrap_or_default())
}

pub async fn ratings(db: &D1Database, scope: &Scope<'_>) -> ApiResult<Ratings> {
    let sql = format!("SELECT COUNT(*) AS count, AVG(stars) AS average FROM ratings WHERE at >= ?1 AND app_slug IN ({})", scope.apps_in());
    Ok(first(db, &sql, &scope.args()).await?.unwrap_or_default())
}
