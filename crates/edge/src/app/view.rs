//! A request as the fan sees it (its status page's data), and with `Authorization` as its
//! creator sees it (fields, moderation, payments, attachments, refunds, disputes).

use crate::db::{
    self,
    requests::{Created, RequestRow},
};
use crate::delivery::outbox::{fan_key, fan_key_secret, page_url, status_url, Links};
use crate::platform::body::{require_json_content_type, strict_json};
use crate::platform::config::now_ms;
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::http::{header, json, origin};
use crate::trust::auth;
use fanline_core::intake::ids;
use fanline_core::kpi;
use fanline_core::lifecycle::{groups, Status};
use fanline_core::manifest::Manifest;
use fanline_core::trust::identity;
use fanline_core::util::time::rfc3339;
use serde_json::{json, Value};
use worker::{D1Database, D1PreparedStatement, D1Result, Env, Request, Response};

/// `GET .../api/requests/:id`: the row and all a fan's view shows, read in one round trip
/// (a fan's status page polls it).
pub async fn show(req: &Request, env: &Env, manifest: &Manifest, id: &str) -> ApiResult<Response> {
    if !ids::is_request_id(id) {
        return Err(ApiError::NotFound("request"));
    }
    let db = db::db(env)?;
    let mut queries = vec![db::requests::get_query(&db, id)?];
    queries.extend(Around::queries(&db, &manifest.slug, id)?);
    let results = db::read_together(&db, queries).await?;
    let row = match db::first_of::<RequestRow>(&results[0])? {
        Some(row) if row.app_slug == manifest.slug => row,
        _ => return Err(ApiError::NotFound("request")),
    };
    let around = Around::read(&results[1..])?;
    let as_creator = if header(req, "Authorization").is_some() {
        let creator = auth::creator(req, &db).await?;
        auth::owned_app(&db, &creator, &manifest.slug).await.map_err(|_| ApiError::NotFound("request"))?;
        true
    } else {
        false
    };
    Ok(json(200, &view_with(&db, &row, around, &origin(req), as_creator).await?))
}

/// The request of this app with this id; anything else is "not found".
pub async fn load(db: &D1Database, manifest: &Manifest, id: &str) -> ApiResult<RequestRow> {
    if !ids::is_request_id(id) {
        return Err(ApiError::NotFound("request"));
    }
    match db::requests::get(db, id).await? {
        Some(row) if row.app_slug == manifest.slug => Ok(row),
        _ => Err(ApiError::NotFound("request")),
    }
}

/// The answer to a new submission (201), or to its replay with the same Idempotency-Key.
pub fn created_response(row: &Created, links: Links<'_>, replayed: bool) -> ApiResult<Response> {
    let origin = links.origin;
    if row.status == Status::Rejected {
        return Err(ApiError::Rejected { request_id: row.id.clone() });
    }
    let message = match row.status {
        Status::AwaitingPayment => "Almost there: complete the payment to send your request.",
        Status::HeldForReview => "Thanks! The creator will review your request before it joins the queue.",
        _ => "Thanks! Your request is in the queue.",
    };
    let mut body = json!({
        "id": row.id,
        "app": row.app_slug,
        "status": row.status,
        "status_url": status_url(origin, &row.app_slug, &row.id),
        // The fan's own status page: its key lets the fan rate the request later.
        "page_url": page_url(origin, &row.app_slug, &row.id, fan_key(links.fan_secret, &row.id).as_deref()),
        "price": price_json(row.amount, &row.currency, &row.price_lines, row.amount_refunded),
        "message": message,
    });
    if row.status == Status::AwaitingPayment {
        body["checkout_url"] = json!(row.checkout_url);
        body["checkout_session_id"] = json!(row.checkout_session_id);
    }
    let mut response = json(201, &body);
    if replayed {
        response.headers_mut().set("Idempotent-Replayed", "true")?;
    }
    Ok(response)
}

/// Rows read as JSON keep D1's millisecond times; the API speaks RFC 3339 (`*_at` columns).
pub fn times_as_text(rows: Vec<Value>) -> Value {
    let convert = |mut row: Value| {
        if let Value::Object(map) = &mut row {
            for (key, value) in map.iter_mut() {
                if let (true, Some(ms)) = (key.ends_with("_at"), value.as_f64()) {
                    *value = json!(rfc3339(ms as i64));
                }
            }
        }
        row
    };
    Value::Array(rows.into_iter().map(convert).collect())
}

/// Total and the lines it is made of, as the server priced them, and what was refunded.
fn price_json(amount: i64, currency: &str, lines: &str, refunded: i64) -> Value {
    json!({
        "amount": amount,
        "currency": currency,
        "lines": serde_json::from_str::<Value>(lines).unwrap_or(json!([])),
        "refunded": refunded,
    })
}

/// What a request's view shows besides its row: its history, its place in the queue with the
/// recent handling times its wait is estimated from, and its rating. Read together in one
/// round trip, whatever the request's state (the parts its state does not show are small).
pub struct Around {
    events: Vec<db::requests::EventRow>,
    ahead: i64,
    recent: Vec<i64>,
    rating: Option<db::ratings::Rating>,
}

impl Around {
    /// The queries for request `id` of app `slug`, in the order `read` takes their results.
    fn queries(db: &D1Database, slug: &str, id: &str) -> ApiResult<Vec<D1PreparedStatement>> {
        Ok(vec![
            db::requests::events_query(db, id)?,
            db::requests::ahead_in_queue_query(db, slug, id)?,
            // The newest 200 of the last 30 days, so a fan's status stays one small read
            // however busy the app.
            db::kpis::recent_fulfilment_times_query(db, slug, now_ms() - 30 * db::kpis::DAY_MS, 200)?,
            db::ratings::of_request_query(db, id)?,
        ])
    }

    fn read(results: &[D1Result]) -> ApiResult<Self> {
        let [events, ahead, recent, rating] = results else {
            return Err(ApiError::Internal(format!("a request's view read {} results, not 4", results.len())));
        };
        Ok(Self { events: events.results()?, ahead: db::count_of(ahead)?, recent: db::kpis::fulfilment_times(recent)?, rating: db::first_of(rating)? })
    }

    async fn of(db: &D1Database, row: &RequestRow) -> ApiResult<Self> {
        Self::read(&db::read_together(db, Self::queries(db, &row.app_slug, &row.id)?).await?)
    }

    /// The request's place in the queue and an honest estimate of the wait: the creator's
    /// recent times from queued to fulfilled, or none when there are too few to mean anything.
    fn queue_place(&self) -> Value {
        let ahead = self.ahead;
        let estimate = kpi::estimate(&self.recent);
        let message = match &estimate {
            Some(e) => format!(
                "{} ahead of you. Recently, requests were handled within {} (half of them within {}).",
                match ahead {
                    0 => "No one is".to_string(),
                    1 => "1 request is".to_string(),
                    n => format!("{n} requests are"),
                },
                human_duration(e.p90_secs),
                human_duration(e.median_secs)
            ),
            None => format!("Position {} in the queue. No estimate yet: the creator has handled too few requests recently to say.", ahead + 1),
        };
        json!({"position": ahead + 1, "ahead": ahead, "estimate": estimate, "message": message})
    }
}

/// "about 3 hours", for a fan.
fn human_duration(secs: i64) -> String {
    let (n, unit) = match secs {
        s if s < 3600 => ((s / 60).max(1), "minute"),
        s if s < 2 * 86_400 => ((s + 1800) / 3600, "hour"),
        s => ((s + 43_200) / 86_400, "day"),
    };
    format!("about {n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// `POST .../api/requests/:id/rating` with `{"stars": 1-5, "comment": "...", "key": "..."}`:
/// once per fulfilled request, by the fan: `key` is the fan's key from the links only the fan
/// got (the feedback mail, the other mail to the fan, the page after submitting).
pub async fn rate(mut req: Request, env: &Env, manifest: &Manifest, id: &str) -> ApiResult<Response> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Rating {
        stars: u8,
        comment: Option<String>,
        key: Option<String>,
    }
    require_json_content_type(&req)?;
    let body: Rating = strict_json(&mut req, r#"{"stars": 5, "comment": "Played it right away!", "key": "<from your link>"}"#, false).await?;
    if !(1..=5).contains(&body.stars) {
        return Err(ApiError::bad_request("invalid_rating", "stars is a whole number from 1 to 5."));
    }
    let comment = body.comment.as_deref().map(str::trim).filter(|c| !c.is_empty());
    if comment.is_some_and(|c| c.chars().count() > 500) {
        return Err(ApiError::bad_request("invalid_rating", "A comment is at most 500 characters."));
    }
    let secret = fan_key_secret(env);
    if !body.key.as_deref().is_some_and(|k| identity::is_fan_request_key(secret.as_bytes(), id, k)) {
        return Err(ApiError::Forbidden {
            code: "invalid_key",
            message: "Rating needs the link from your feedback email (or the page you saw after sending the request).".into(),
        });
    }
    let db = db::db(env)?;
    let row = load(&db, manifest, id).await?;
    if !matches!(row.status, Status::Fulfilled | Status::Closed) {
        return Err(ApiError::Conflict { code: "not_fulfilled", message: "A request can be rated once it is fulfilled.".into() });
    }
    let rating = db::ratings::NewRating { request_id: &row.id, app_slug: &row.app_slug, stars: body.stars, comment };
    if !db::ratings::add(&db, &rating, now_ms()).await? {
        return Err(ApiError::Conflict { code: "already_rated", message: "This request was rated already.".into() });
    }
    Ok(json(201, &json!({"id": row.id, "rating": {"stars": body.stars, "comment": comment}})))
}

pub async fn view(db: &D1Database, row: &RequestRow, origin: &str, as_creator: bool) -> ApiResult<Value> {
    view_with(db, row, Around::of(db, row).await?, origin, as_creator).await
}

/// `view` with its parts already read.
async fn view_with(db: &D1Database, row: &RequestRow, around: Around, origin: &str, as_creator: bool) -> ApiResult<Value> {
    let history: Vec<Value> = around
        .events
        .iter()
        .map(|e| {
            let mut item = json!({"seq": e.seq, "type": e.kind, "status": e.status, "at": rfc3339(e.at)});
            if as_creator {
                item["actor"] = json!(e.actor);
                item["reason"] = json!(e.reason);
            }
            item
        })
        .collect();
    let add_ons: Value = serde_json::from_str(&row.add_ons).unwrap_or(json!([]));
    let mut body = json!({
        "id": row.id,
        "app": row.app_slug,
        "status": row.status,
        "price": price_json(row.amount, &row.currency, &row.price_lines, row.amount_refunded),
        "payment": json!({
            "provider": row.provider,
            "hold": row.is_uncaptured_hold(),
            "accept_by": row.hold_until.filter(|_| row.is_uncaptured_hold()).map(rfc3339),
            "credits": row.credits_spent,
        }),
        "priority": row.priority != 0,
        "add_ons": add_ons,
        "status_url": status_url(origin, &row.app_slug, &row.id),
        "created_at": rfc3339(row.created_at),
        "updated_at": rfc3339(row.updated_at),
        "history": history,
    });
    let awaiting = row.status == Status::AwaitingPayment;
    if awaiting {
        body["checkout_url"] = json!(row.checkout_url);
    }
    // The fan needs the session only to pay; after that it is payment detail for the creator.
    if row.checkout_session_id.is_some() && (awaiting || as_creator) {
        body["checkout_session_id"] = json!(row.checkout_session_id);
    }
    if groups::IN_QUEUE.contains(&row.status) {
        body["queue"] = around.queue_place();
    }
    if matches!(row.status, Status::Fulfilled | Status::Closed) {
        body["rating"] = json!(around.rating.as_ref().map(|r| json!({"stars": r.stars, "comment": r.comment, "at": rfc3339(r.at)})));
    }
    if as_creator {
        body["fields"] = serde_json::from_str(&row.fields).unwrap_or(json!({}));
        body["fan_email"] = json!(row.fan_email);
        body["moderation"] = serde_json::from_str(&row.moderation).unwrap_or(json!(null));
        let parsed = |stored: &Option<String>| stored.as_deref().and_then(|t| serde_json::from_str::<Value>(t).ok()).unwrap_or(json!(null));
        body["triage"] = json!(fanline_core::trust::triage::of_request(row.triage.as_deref(), &row.fields));
        body["identity"] = parsed(&row.identity);
        let attachments: Vec<Value> = db::requests::attachments(db, &row.id)
            .await?
            .into_iter()
            .map(|a| json!({"field": a.field, "media_type": a.media_type, "size": a.size, "url": format!("{}/attachments/{}", status_url(origin, &row.app_slug, &row.id), a.field)}))
            .collect();
        body["attachments"] = json!(attachments);
        body["payment_intent_id"] = json!(row.payment_intent_id);
        body["paypal"] = json!({"order_id": row.paypal_order_id, "capture_id": row.paypal_capture_id});
        body["fan_id"] = json!(row.fan_id);
        body["auction_id"] = json!(row.auction_id);
        body["price"]["platform_fee"] = json!(row.application_fee);
        body["refunds"] = times_as_text(db::requests::refunds(db, &row.id).await?);
        body["disputes"] = times_as_text(db::requests::disputes(db, &row.id).await?);
    }
    Ok(body)
}

/// `POST .../api/views`: the embed counts one form view per page load, so only browsers that
/// run scripts are counted. Bounded per address (over the bound, or without the limiter
/// binding, the view is simply not counted); one upsert of the app's daily counter row.
pub async fn count_view(req: &Request, env: &Env, manifest: &Manifest) -> ApiResult<Response> {
    let key = format!("view:{}", crate::platform::http::client_ip(req));
    if crate::trust::limits::edge_limit(env, crate::trust::limits::INTAKE_LIMITER, &key).await.is_ok() {
        db::kpis::count_view(&db::db(env)?, &manifest.slug, now_ms()).await?;
    }
    Ok(Response::empty()?.with_status(204))
}
