//! What a creator downloads about one request: the dispute evidence file and a fan's attachments.

use crate::app::creator::owned_request;
use crate::app::view::{times_as_text, view};
use crate::db;
use crate::delivery::outbox::fan_key_secret;
use crate::platform::config::now_ms;
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::http::{json, origin, query_param};
use fanline_core::manifest::Manifest;
use fanline_core::trust::identity;
use fanline_core::util::time::rfc3339;
use serde_json::json;
use worker::{Env, Request, Response};

/// `GET .../evidence`: everything a creator needs to answer a chargeback, as one JSON file.
pub async fn evidence(req: &Request, env: &Env, manifest: &Manifest, id: &str) -> ApiResult<Response> {
    let db = db::db(env)?;
    let (_, row) = owned_request(req, &db, manifest, id).await?;
    let signals = db::requests::client_signals(&db, id).await?;
    let deliveries = times_as_text(db::outbox::for_request(&db, id).await?);
    let request = view(&db, &row, &origin(req), true).await?;
    let body = json!({
        "exported_at": rfc3339(now_ms()),
        "app": {"slug": manifest.slug, "title": manifest.title},
        "payment": {
            "provider": row.provider,
            "checkout_session_id": row.checkout_session_id,
            "paypal_order_id": row.paypal_order_id,
            "paypal_capture_id": row.paypal_capture_id,
            "credits": row.credits_spent,
            "payment_intent_id": row.payment_intent_id,
            "amount": row.amount,
            "currency": row.currency,
            "amount_refunded": row.amount_refunded,
        },
        "identity": {
            "signed_in": request["identity"],
            "email": row.fan_email,
            "ip": signals.as_ref().and_then(|s| s.client_ip.clone()),
            "user_agent": signals.and_then(|s| s.user_agent),
        },
        "deliveries": deliveries,
        "request": request,
    });
    let mut response = json(200, &body);
    response.headers_mut().set("Content-Disposition", &format!("attachment; filename=\"evidence-{id}.json\""))?;
    Ok(response)
}

/// The creator downloads a fan's attachment, with their key or session, or through an
/// export's signed link (`?expires=<unix secs>&sig=...`) until it expires.
pub async fn attachment_file(req: &Request, env: &Env, manifest: &Manifest, id: &str, field: &str) -> ApiResult<Response> {
    let db = db::db(env)?;
    let signed = match (query_param(req, "expires").and_then(|e| e.parse::<i64>().ok()), query_param(req, "sig")) {
        (Some(expires), Some(sig)) => {
            let secret = fan_key_secret(env);
            let link = identity::AttachmentLink { request_id: id, field, expires };
            if !link.opens(secret.as_bytes(), &sig, now_ms() / 1000) {
                return Err(ApiError::Forbidden {
                    code: "link_expired",
                    message: "This download link has expired or is not valid; export again for a fresh one.".into(),
                });
            }
            true
        }
        _ => false,
    };
    if !signed {
        owned_request(req, &db, manifest, id).await?;
    }
    let key = db::requests::attachment(&db, id, field).await?.ok_or(ApiError::NotFound("attachment"))?;
    let object = env.bucket("ATTACHMENTS")?.get(&key.object_key).execute().await?.ok_or(ApiError::NotFound("attachment"))?;
    let bytes = object.body().ok_or(ApiError::NotFound("attachment"))?.bytes().await?;
    let mut response = Response::from_bytes(bytes)?;
    response.headers_mut().set("Content-Type", &key.media_type)?;
    response.headers_mut().set("Content-Disposition", "attachment")?;
    // A fan's file is never run as a page, whatever its bytes say.
    response.headers_mut().set("Content-Security-Policy", "sandbox; default-src 'none'")?;
    response.headers_mut().set("Cache-Control", "private, no-store")?;
    Ok(response)
}
