//! A request as the fan sees it (its status page's data), and with `Authorization` as its
//! creator sees it (fields, moderation, payments, attachments, refunds, disputes).

use crate::db::{self, requests::RequestRow};
use crate::delivery::outbox::status_url;
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::http::{header, json, origin};
use crate::trust::auth;
use fanline_core::intake::ids;
use fanline_core::lifecycle::Status;
use fanline_core::manifest::Manifest;
use fanline_core::util::time::rfc3339;
use serde_json::{json, Value};
use worker::{D1Database, Env, Request, Response};

/// `GET .../api/requests/:id`.
pub async fn show(req: &Request, env: &Env, manifest: &Manifest, id: &str) -> ApiResult<Response> {
    let db = db::db(env)?;
    let row = load(&db, manifest, id).await?;
    let as_creator = if header(req, "Authorization").is_some() {
        let creator = auth::creator(req, &db).await?;
        auth::owned_app(&db, &creator, &manifest.slug).await.map_err(|_| ApiError::NotFound("request"))?;
        true
    } else {
        false
    };
    Ok(json(200, &view(&db, &row, &origin(req), as_creator).await?))
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
pub fn created_response(row: &RequestRow, origin: &str, replayed: bool) -> ApiResult<Response> {
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
        "price": price_json(row),
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
fn price_json(row: &RequestRow) -> Value {
    json!({
        "amount": row.amount,
        "currency": row.currency,
        "lines": serde_json::from_str::<Value>(&row.price_lines).unwrap_or(json!([])),
        "refunded": row.amount_refunded,
    })
}

pub async fn view(db: &D1Database, row: &RequestRow, origin: &str, as_creator: bool) -> ApiResult<Value> {
    let events = db::requests::events(db, &row.id).await?;
    let history: Vec<Value> = events
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
        "price": price_json(row),
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
    if row.status == Status::AwaitingPayment {
        body["checkout_url"] = json!(row.checkout_url);
    }
    if row.checkout_session_id.is_some() {
        body["checkout_session_id"] = json!(row.checkout_session_id);
    }
    if as_creator {
        body["fields"] = serde_json::from_str(&row.fields).unwrap_or(json!({}));
        body["fan_email"] = json!(row.fan_email);
        body["moderation"] = serde_json::from_str(&row.moderation).unwrap_or(json!(null));
        let parsed = |stored: &Option<String>| stored.as_deref().and_then(|t| serde_json::from_str::<Value>(t).ok()).unwrap_or(json!(null));
        body["triage"] = parsed(&row.triage);
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
