//! `GET /api/kpis?days=7|30|90[&app=slug][&format=csv]`: the creator's numbers for one app or
//! all of theirs, over the last `days` (30 unless said).

use fanline_core::kpi::{self, Inputs};
use fanline_edge::db::{self, kpis::Scope};
use fanline_edge::platform::config::now_ms;
use fanline_edge::platform::error::{ApiError, ApiResult};
use fanline_edge::platform::http::{json, with_content_type};
use fanline_edge::trust::auth;
use serde_json::json;
use worker::{Env, Request, Response};

pub async fn show(req: &Request, env: &Env) -> ApiResult<Response> {
    let db = db::db(env)?;
    let creator = auth::creator(req, &db).await?;
    let url = req.url()?;
    let param = |name: &str| url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned());
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
        use futures_util::future::{join, join4};
        let ((weeks, funnel, requests, other), (disputes, buyers, fulfilment_ms, ratings)) = join(
            join4(
                db::kpis::created_per_week(&db, &scope, now),
                db::kpis::funnel(&db, &scope),
                db::kpis::request_money(&db, &scope),
                db::kpis::other_money(&db, &scope),
            ),
            join4(db::kpis::disputes(&db, &scope), db::kpis::buyers(&db, &scope), db::kpis::fulfilment_times(&db, &scope), db::kpis::ratings(&db, &scope)),
        )
        .await;
        Inputs {
            days,
            weeks: weeks?,
            funnel: funnel?,
            requests: requests?,
            other: other?,
            disputes: disputes?,
            buyers: buyers?,
            fulfilment_ms: fulfilment_ms?,
            ratings: ratings?,
        }
    };
    let report = kpi::report(&inputs);
    if param("format").as_deref() == Some("csv") {
        let mut response = with_content_type(kpi::csv(&report), "text/csv; charset=utf-8");
        response.headers_mut().set("Content-Disposition", "attachment; filename=\"kpis.csv\"")?;
        response.headers_mut().set("Cache-Control", "no-store")?;
        return Ok(response);
    }
    let currency = match apps.first() {
        Some(slug) => db::apps::with_manifest(&db, slug).await?.1.pricing.currency.as_str().to_string(),
        None => "usd".to_string(),
    };
    Ok(json(200, &json!({"apps": apps, "currency": currency, "kpis": report})))
}
