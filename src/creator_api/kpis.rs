//! `GET /api/kpis?days=7|30|90[&app=slug][&format=csv]`: the creator's numbers for one app or
//! all of theirs, over the last `days` (30 unless said).

use fanline_core::kpi::{self, Inputs};
use fanline_edge::db::{self, kpis::Scope};
use fanline_edge::platform::config::now_ms;
use fanline_edge::platform::error::{ApiError, ApiResult};
use fanline_edge::platform::http::{csv_download, json, query_param};
use fanline_edge::trust::auth;
use serde_json::json;
use worker::{Env, Request, Response};

pub async fn show(req: &Request, env: &Env) -> ApiResult<Response> {
    let db = db::db(env)?;
    let creator = auth::creator(req, &db).await?;
    let param = |name: &str| query_param(req, name);
    let days: i64 = match param("days").as_deref() {
        None | Some("30") => 30,
        Some("7") => 7,
        Some("90") => 90,
        Some(other) => return Err(ApiError::bad_request("invalid_period", format!("'{other}' is not a period; use days=7, 30 or 90."))),
    };
    let apps: Vec<String> = match param("app").filter(|a| !a.is_empty()) {
        Some(slug) => vec![auth::owned_app(&db, &creator, &slug).await?.slug],
        None => db::apps::of_creator(&db, &creator.id).await?.into_iter().map(|a| a.slug).collect(),
    };
    let now = now_ms();
    let scope = Scope { apps: &apps, from: now - days * db::kpis::DAY_MS };
    let inputs = if apps.is_empty() {
        Inputs { days, ..Inputs::default() }
    } else {
        // Independent aggregates: D1 runs them side by side.
        use futures_util::future::join5;
        let (weeks, views, requests, other, (disputes, ratings)) = join5(
            db::kpis::created_per_week(&db, &scope, now),
            db::kpis::views(&db, &scope),
            db::kpis::request_figures(&db, &scope),
            db::kpis::other_money(&db, &scope),
            futures_util::future::join(db::kpis::disputes(&db, &scope), db::kpis::ratings(&db, &scope)),
        )
        .await;
        Inputs { days, weeks: weeks?, views: views?, requests: requests?, other: other?, disputes: disputes?, ratings: ratings? }
    };
    let report = kpi::report(&inputs);
    if param("format").as_deref() == Some("csv") {
        return Ok(csv_download(kpi::csv(&report), "kpis.csv"));
    }
    let currency = match apps.first() {
        Some(slug) => db::apps::with_manifest(&db, slug).await?.1.pricing.currency.as_str().to_string(),
        None => "usd".to_string(),
    };
    Ok(json(200, &json!({"apps": apps, "currency": currency, "kpis": report})))
}
