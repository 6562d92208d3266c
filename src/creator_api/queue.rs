//! The creator's requests: `GET /api/apps/:slug/requests` for one app and `GET /api/requests`
//! across all of theirs (`?app=` narrows it), in the order the creator works them (paid
//! priority first, then oldest). `?status=` takes a status or `in_queue` (everything waiting on
//! the creator), `?q=` searches the fields, add-ons, email and id, `?format=csv` exports.

use fanline_core::kpi::csv_cell;
use fanline_core::lifecycle::{groups, Status};
use fanline_core::util::time::rfc3339;
use fanline_edge::db::{self, requests::QueueFilter, requests::QueueRow};
use fanline_edge::platform::error::{ApiError, ApiResult};
use fanline_edge::platform::http::{csv_download, json, query_param as param};
use fanline_edge::trust::auth;
use serde_json::{json, Value};
use worker::{Env, Request, Response};

pub async fn list(req: &Request, env: &Env, slug: &str) -> ApiResult<Response> {
    let db = db::db(env)?;
    let (_, app) = auth::creator_app(req, &db, slug).await?;
    respond(req, &db, &[app.slug]).await
}

pub async fn list_all(req: &Request, env: &Env) -> ApiResult<Response> {
    let db = db::db(env)?;
    let creator = auth::creator(req, &db).await?;
    let apps: Vec<String> = match param(req, "app").filter(|a| !a.is_empty()) {
        Some(slug) => vec![auth::owned_app(&db, &creator, &slug).await?.slug],
        None => db::apps::of_creator(&db, &creator.id).await?.into_iter().map(|a| a.slug).collect(),
    };
    respond(req, &db, &apps).await
}

/// The longest `q` the queue searches for.
const MAX_SEARCH_CHARS: usize = 200;

async fn respond(req: &Request, db: &worker::D1Database, apps: &[String]) -> ApiResult<Response> {
    let statuses: Vec<Status> = match param(req, "status").filter(|s| !s.is_empty()).as_deref() {
        None | Some("all") => Vec::new(),
        Some("in_queue") => groups::IN_QUEUE.to_vec(),
        Some(s) => {
            vec![Status::parse(s).ok_or_else(|| ApiError::bad_request("invalid_status", format!("Unknown status '{s}'; use a status, in_queue or all.")))?]
        }
    };
    let csv = param(req, "format").as_deref() == Some("csv");
    let text = param(req, "q");
    if text.as_ref().is_some_and(|t| t.chars().count() > MAX_SEARCH_CHARS) {
        return Err(ApiError::bad_request("invalid_query", format!("Search for at most {MAX_SEARCH_CHARS} characters.")));
    }
    let filter = QueueFilter { apps, statuses: &statuses, text: text.as_deref(), limit: if csv { 1000 } else { 200 } };
    let rows = db::requests::queue(db, &filter).await?;
    if csv {
        return Ok(csv_download(as_csv(&rows), "requests.csv"));
    }
    let list: Vec<Value> = rows.iter().map(item).collect();
    let app = (apps.len() == 1).then(|| apps[0].clone());
    Ok(json(200, &json!({"app": app, "requests": list})))
}

fn item(r: &QueueRow) -> Value {
    let parsed = |text: &str| serde_json::from_str::<Value>(text).ok();
    json!({
        "id": r.id, "app": r.app_slug, "status": r.status,
        "price": {"amount": r.amount, "currency": r.currency, "lines": parsed(&r.price_lines).unwrap_or(json!([])), "refunded": r.amount_refunded},
        "fields": parsed(&r.fields).unwrap_or(json!({})), "add_ons": parsed(&r.add_ons).unwrap_or(json!([])),
        "priority": r.priority != 0, "paid_with": r.provider, "fan_email": r.fan_email,
        "moderation": parsed(&r.moderation), "triage": fanline_core::trust::triage::of_request(r.triage.as_deref(), &r.fields), "identity": r.identity.as_deref().and_then(parsed),
        "created_at": rfc3339(r.created_at), "updated_at": rfc3339(r.updated_at), "test": r.test != 0,
    })
}

fn as_csv(rows: &[QueueRow]) -> String {
    let mut out = String::from("id,app,status,created_at,amount,currency,refunded,priority,paid_with,fan_email,fields,add_ons\n");
    for r in rows {
        let cells = [
            r.id.clone(),
            r.app_slug.clone(),
            r.status.clone(),
            rfc3339(r.created_at),
            r.amount.to_string(),
            r.currency.clone(),
            r.amount_refunded.to_string(),
            (r.priority != 0).to_string(),
            r.provider.clone(),
            r.fan_email.clone().unwrap_or_default(),
            r.fields.clone(),
            r.add_ons.clone(),
        ];
        out.push_str(&cells.iter().map(|c| csv_cell(c)).collect::<Vec<_>>().join(","));
        out.push('\n');
    }
    out
}
