//! Reads and erasures for data exports (an app's requests with everything about them, a fan's
//! own requests) and for a fan's erasure: many requests at a time, each table in one statement
//! over a JSON list of ids (D1 takes at most 100 bound parameters).

use super::{all, statement};
use crate::platform::error::ApiResult;
use fanline_core::delivery::state::OutboxState::{Dead, Delivered, Skipped};
use serde::Deserialize;
use worker::{D1Database, D1PreparedStatement};

#[derive(Debug, Clone, Deserialize)]
pub struct ExportRow {
    pub id: String,
    pub app_slug: String,
    pub status: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub fields: String,
    pub add_ons: String,
    pub amount: i64,
    pub currency: String,
    pub price_lines: String,
    pub amount_refunded: i64,
    pub provider: String,
    pub fan_email: Option<String>,
    pub payment_intent_id: Option<String>,
    pub paypal_capture_id: Option<String>,
    pub captured_at: Option<i64>,
    pub application_fee: Option<i64>,
    pub credits_spent: i64,
    pub test: i64,
}

const COLUMNS: &str = "id, app_slug, status, created_at, updated_at, fields, add_ons, amount, currency, price_lines, amount_refunded, provider, fan_email,
    payment_intent_id, paypal_capture_id, captured_at, application_fee, credits_spent, test";

/// One page of an app's requests, oldest first.
pub async fn app_requests(db: &D1Database, app_slug: &str, offset: i64, limit: i64) -> ApiResult<Vec<ExportRow>> {
    all(
        db,
        &format!("SELECT {COLUMNS} FROM requests WHERE app_slug = ? ORDER BY created_at, rowid LIMIT ? OFFSET ?"),
        &[app_slug.into(), limit.into(), offset.into()],
    )
    .await
}

/// Which requests are the fan's: made with their fan token or while signed in as them.
pub struct FanScope<'a> {
    pub fan_id: Option<&'a str>,
    /// `fan_key` of requests made signed in (`oauth:<provider>:<sub>`).
    pub signed_in_key: Option<&'a str>,
}

pub async fn fan_requests(db: &D1Database, who: &FanScope<'_>) -> ApiResult<Vec<ExportRow>> {
    all(
        db,
        &format!(
            "SELECT {COLUMNS} FROM requests WHERE (fan_id = ?1 AND ?1 IS NOT NULL) OR (fan_key = ?2 AND ?2 IS NOT NULL) ORDER BY created_at, rowid LIMIT 1000"
        ),
        &[who.fan_id.into(), who.signed_in_key.into()],
    )
    .await
}

#[derive(Debug, Clone, Deserialize)]
pub struct Event {
    pub request_id: String,
    pub status: String,
    pub actor: String,
    pub reason: Option<String>,
    pub at: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Refund {
    pub request_id: String,
    pub amount: i64,
    pub reason: Option<String>,
    pub actor: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Rating {
    pub request_id: String,
    pub stars: i64,
    pub comment: Option<String>,
    pub at: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Attachment {
    pub request_id: String,
    pub field: String,
    pub object_key: String,
    pub media_type: String,
    pub size: i64,
}

/// Everything else about the given requests, four statements.
pub struct Related {
    pub events: Vec<Event>,
    pub refunds: Vec<Refund>,
    pub ratings: Vec<Rating>,
    pub attachments: Vec<Attachment>,
}

fn id_list(ids: &[String]) -> String {
    serde_json::to_string(ids).unwrap_or_else(|_| "[]".into())
}

pub async fn related(db: &D1Database, ids: &[String]) -> ApiResult<Related> {
    let list = id_list(ids);
    let inside = "request_id IN (SELECT value FROM json_each(?1))";
    let (events, refunds, ratings, attachments) = futures_util::future::join4(
        all::<Event>(
            db,
            &format!("SELECT request_id, status, actor, reason, at FROM request_events WHERE {inside} ORDER BY request_id, seq"),
            &[list.as_str().into()],
        ),
        all::<Refund>(
            db,
            &format!("SELECT request_id, amount, reason, actor, created_at FROM refunds WHERE {inside} ORDER BY created_at"),
            &[list.as_str().into()],
        ),
        all::<Rating>(db, &format!("SELECT request_id, stars, comment, at FROM ratings WHERE {inside}"), &[list.as_str().into()]),
        all::<Attachment>(db, &format!("SELECT request_id, field, object_key, media_type, size FROM attachments WHERE {inside}"), &[list.as_str().into()]),
    )
    .await;
    Ok(Related { events: events?, refunds: refunds?, ratings: ratings?, attachments: attachments? })
}

/// Erases what the fan typed and what identifies them from the given requests, keeping the
/// money records (amounts, payments, refunds, states and history): the fields, email, network
/// signals, sign-in identity and triage; rating comments; the rendered payloads of notifications
/// already sent; the attachment rows (their files are deleted from R2 by the caller).
pub fn erase(db: &D1Database, ids: &[String]) -> ApiResult<Vec<D1PreparedStatement>> {
    let list = id_list(ids);
    let inside_id = "id IN (SELECT value FROM json_each(?1))";
    let inside = "request_id IN (SELECT value FROM json_each(?1))";
    Ok(vec![
        statement(
            db,
            &format!(
                "UPDATE requests SET fields = '{{}}', fan_email = NULL, client_ip = NULL, user_agent = NULL, identity = NULL, triage = NULL WHERE {inside_id}"
            ),
            &[list.as_str().into()],
        )?,
        statement(db, &format!("UPDATE ratings SET comment = NULL WHERE {inside}"), &[list.as_str().into()])?,
        // Notifications still to be sent keep theirs: they are on their way.
        statement(
            db,
            &format!("UPDATE outbox SET payload = '{{}}' WHERE {inside} AND state IN ('{}', '{}', '{}')", Delivered.as_str(), Dead.as_str(), Skipped.as_str()),
            &[list.as_str().into()],
        )?,
        statement(db, &format!("DELETE FROM attachments WHERE {inside}"), &[list.as_str().into()])?,
    ])
}
