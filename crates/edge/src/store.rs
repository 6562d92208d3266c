//! D1: requests and their event history, apps, creators, destinations, the outbox and
//! idempotency records. Writes that belong together go through one `batch` (one transaction).

use crate::error::{ApiError, ApiResult};
use fanline_core::manifest::DestinationKind;
use fanline_core::state::Status;
use fanline_core::targets::Settings;
use serde::{Deserialize, Serialize};
use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement, Env};

pub fn db(env: &Env) -> ApiResult<D1Database> {
    Ok(env.d1("DB")?)
}

/// A value bound into SQL. Integers go through f64, exact for every value we store (< 2^53).
pub enum Arg<'a> {
    Text(&'a str),
    Int(i64),
    Null,
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(s: &'a str) -> Self {
        Arg::Text(s)
    }
}
impl<'a> From<&'a String> for Arg<'a> {
    fn from(s: &'a String) -> Self {
        Arg::Text(s)
    }
}
impl From<i64> for Arg<'_> {
    fn from(n: i64) -> Self {
        Arg::Int(n)
    }
}
impl<'a> From<Option<&'a str>> for Arg<'a> {
    fn from(s: Option<&'a str>) -> Self {
        s.map_or(Arg::Null, Arg::Text)
    }
}

pub fn statement(db: &D1Database, sql: &str, args: &[Arg]) -> ApiResult<D1PreparedStatement> {
    let values: Vec<JsValue> = args
        .iter()
        .map(|a| match a {
            Arg::Text(s) => JsValue::from_str(s),
            Arg::Int(n) => JsValue::from_f64(*n as f64),
            Arg::Null => JsValue::NULL,
        })
        .collect();
    Ok(db.prepare(sql).bind(&values)?)
}

pub async fn first<T: for<'de> Deserialize<'de>>(db: &D1Database, sql: &str, args: &[Arg<'_>]) -> ApiResult<Option<T>> {
    Ok(statement(db, sql, args)?.first::<T>(None).await?)
}

pub async fn all<T: for<'de> Deserialize<'de>>(db: &D1Database, sql: &str, args: &[Arg<'_>]) -> ApiResult<Vec<T>> {
    Ok(statement(db, sql, args)?.all().await?.results::<T>()?)
}

pub async fn run(db: &D1Database, sql: &str, args: &[Arg<'_>]) -> ApiResult<()> {
    changes(db, sql, args).await.map(|_| ())
}

/// Runs a write and returns how many rows it changed.
pub async fn changes(db: &D1Database, sql: &str, args: &[Arg<'_>]) -> ApiResult<usize> {
    let result = statement(db, sql, args)?.run().await?;
    Ok(result.meta()?.and_then(|m| m.changes).unwrap_or(0))
}

/// How a batch ended. A unique-key conflict means someone else wrote first (a duplicate
/// webhook, a retried submission, a concurrent state change): callers re-read and answer
/// from what is there.
pub enum BatchOutcome {
    Committed,
    Conflict(String),
    /// A CHECK constraint refused the batch (e.g. a credit balance would go negative).
    Refused(String),
}

pub async fn commit(db: &D1Database, statements: Vec<D1PreparedStatement>) -> ApiResult<BatchOutcome> {
    match db.batch(statements).await {
        Ok(_) => Ok(BatchOutcome::Committed),
        Err(e) => {
            let message = e.to_string();
            if message.contains("UNIQUE constraint failed") || message.contains("PRIMARY KEY") {
                Ok(BatchOutcome::Conflict(message))
            } else if message.contains("CHECK constraint failed") {
                Ok(BatchOutcome::Refused(message))
            } else {
                Err(ApiError::Internal(format!("D1 batch: {message}")))
            }
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct AppRow {
    pub slug: String,
    pub creator_id: String,
    pub title: String,
    pub description: String,
    pub manifest: String,
}

pub async fn app(db: &D1Database, slug: &str) -> ApiResult<Option<AppRow>> {
    first(db, "SELECT slug, creator_id, title, description, manifest FROM apps WHERE slug = ?", &[slug.into()]).await
}

#[derive(Debug, Clone, Deserialize)]
pub struct RequestRow {
    pub id: String,
    pub app_slug: String,
    pub status: String,
    pub version: i64,
    pub fields: String,
    pub add_ons: String,
    pub amount: i64,
    pub currency: String,
    pub price_lines: String,
    pub fan_email: Option<String>,
    pub checkout_session_id: Option<String>,
    pub checkout_url: Option<String>,
    pub payment_intent_id: Option<String>,
    pub amount_refunded: i64,
    /// Set while the payment is an uncaptured hold: when it must be accepted by.
    pub hold_until: Option<i64>,
    pub captured_at: Option<i64>,
    /// The marketplace's Connect application fee on this payment, when there is one.
    pub application_fee: Option<i64>,
    /// `stripe`, `paypal`, `credits` or `none`.
    pub provider: String,
    pub paypal_order_id: Option<String>,
    pub paypal_capture_id: Option<String>,
    pub credits_spent: i64,
    pub fan_id: Option<String>,
    pub priority: i64,
    pub auction_id: Option<String>,
    /// The classifier's tags and the signed-in identity, as stored JSON.
    pub triage: Option<String>,
    pub identity: Option<String>,
    pub moderation: String,
    pub created_at: i64,
    pub updated_at: i64,
}

impl RequestRow {
    pub fn status(&self) -> ApiResult<Status> {
        Status::parse(&self.status).ok_or_else(|| ApiError::Internal(format!("unknown status {}", self.status)))
    }

    /// Moderation's decision at intake, as stored with the request.
    pub fn moderation_decision(&self) -> fanline_core::moderation::Decision {
        use fanline_core::moderation::Decision;
        match serde_json::from_str::<serde_json::Value>(&self.moderation).ok().as_ref().and_then(|v| v["decision"].as_str()) {
            Some("review") => Decision::Review,
            Some("block") => Decision::Block,
            _ => Decision::Allow,
        }
    }

    /// Where the request goes once paid: the queue, or review (see `state::after_payment`).
    pub fn after_payment(&self, held: bool) -> [Status; 2] {
        fanline_core::state::after_payment(self.moderation_decision(), held)
    }

    /// The fan's card is authorized but not yet charged.
    pub fn is_uncaptured_hold(&self) -> bool {
        self.hold_until.is_some() && self.captured_at.is_none()
    }
}

pub async fn request(db: &D1Database, id: &str) -> ApiResult<Option<RequestRow>> {
    first(
        db,
        "SELECT id, app_slug, status, version, fields, add_ons, amount, currency, price_lines, fan_email, checkout_session_id,
                checkout_url, payment_intent_id, amount_refunded, hold_until, captured_at, application_fee, provider, paypal_order_id,
                paypal_capture_id, credits_spent, fan_id, priority, auction_id, triage, identity, moderation, created_at, updated_at FROM requests WHERE id = ?",
        &[id.into()],
    )
    .await
}

pub async fn request_by_payment_intent(db: &D1Database, payment_intent: &str) -> ApiResult<Option<RequestRow>> {
    #[derive(Deserialize)]
    struct Id {
        id: String,
    }
    match first::<Id>(db, "SELECT id FROM requests WHERE payment_intent_id = ?", &[payment_intent.into()]).await? {
        Some(found) => request(db, &found.id).await,
        None => Ok(None),
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EventRow {
    pub seq: i64,
    #[serde(rename = "type")]
    pub kind: String,
    pub status: String,
    pub actor: String,
    pub reason: Option<String>,
    pub at: i64,
}

pub async fn events(db: &D1Database, request_id: &str) -> ApiResult<Vec<EventRow>> {
    all(db, "SELECT seq, type, status, actor, reason, at FROM request_events WHERE request_id = ? ORDER BY seq", &[request_id.into()]).await
}

/// Event rows for walking a request from `version` through `path`, plus the guarded update.
/// `(request_id, seq)` is the key of the history, so two writers racing from the same version
/// cannot both commit: the loser's whole batch is rolled back.
pub fn transition_statements(
    db: &D1Database,
    request_id: &str,
    version: i64,
    path: &[Status],
    actor: &str,
    reason: Option<&str>,
    now: i64,
) -> ApiResult<Vec<D1PreparedStatement>> {
    let mut out = Vec::with_capacity(path.len() + 1);
    for (i, status) in path.iter().enumerate() {
        out.push(statement(
            db,
            "INSERT INTO request_events (request_id, seq, type, status, actor, reason, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            &[
                request_id.into(),
                (version + 1 + i as i64).into(),
                status.event_name().as_str().into(),
                status.as_str().into(),
                actor.into(),
                reason.into(),
                now.into(),
            ],
        )?);
    }
    if version > 0 {
        let last = path.last().copied().ok_or_else(|| ApiError::Internal("empty transition".into()))?;
        out.push(statement(
            db,
            "UPDATE requests SET status = ?, version = ?, updated_at = ? WHERE id = ? AND version = ?",
            &[last.as_str().into(), (version + path.len() as i64).into(), now.into(), request_id.into(), version.into()],
        )?);
    }
    Ok(out)
}

#[derive(Debug, Clone, Deserialize)]
pub struct Creator {
    pub id: String,
    pub name: String,
}

/// API keys are long random tokens, so a plain SHA-256 is a sound way to store them.
pub fn hash_api_key(key: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// The creator's connected Stripe account (`acct_...`), if they connected one.
pub async fn creator_stripe_account(db: &D1Database, creator_id: &str) -> ApiResult<Option<String>> {
    #[derive(Deserialize)]
    struct Account {
        stripe_account: Option<String>,
    }
    Ok(first::<Account>(db, "SELECT stripe_account FROM creators WHERE id = ?", &[creator_id.into()]).await?.and_then(|a| a.stripe_account))
}

pub async fn creator_by_key(db: &D1Database, key: &str) -> ApiResult<Option<Creator>> {
    first(db, "SELECT id, name FROM creators WHERE api_key_hash = ?", &[hash_api_key(key).as_str().into()]).await
}

#[derive(Debug, Clone, Deserialize)]
pub struct DestinationRow {
    pub kind: String,
    pub settings: String,
    pub enabled: i64,
}

impl DestinationRow {
    /// The settings as saved; `None` for a row whose JSON no longer reads as its kind.
    pub fn settings(&self) -> Option<(DestinationKind, Settings)> {
        let kind = DestinationKind::parse(&self.kind)?;
        Some((kind, Settings::load(kind, &self.settings)?))
    }
}

/// An app's settings for one target kind, and whether it is enabled.
pub async fn destination(db: &D1Database, app_slug: &str, kind: DestinationKind) -> ApiResult<Option<(Settings, bool)>> {
    let row: Option<DestinationRow> = first(db, "SELECT kind, settings, enabled FROM destinations WHERE app_slug = ? AND kind = ?", &[app_slug.into(), kind.as_str().into()]).await?;
    Ok(row.and_then(|r| Some((r.settings()?.1, r.enabled == 1))))
}

/// What a target made for a request (a Trello card's id), if it made one.
pub async fn target_ref(db: &D1Database, request_id: &str, kind: DestinationKind) -> ApiResult<Option<String>> {
    #[derive(Deserialize)]
    struct Ref {
        external_id: String,
    }
    let found: Option<Ref> = first(db, "SELECT external_id FROM target_refs WHERE request_id = ? AND kind = ?", &[request_id.into(), kind.as_str().into()]).await?;
    Ok(found.map(|r| r.external_id))
}

/// Whether a provider's event (Stripe, PayPal, a moderation service) was already acted on.
pub async fn event_seen(db: &D1Database, provider: &str, event_id: &str) -> ApiResult<bool> {
    Ok(first::<serde_json::Value>(db, "SELECT outcome FROM payment_events WHERE provider = ? AND event_id = ?", &[provider.into(), event_id.into()]).await?.is_some())
}

/// The row that marks a provider's event as acted on. Its key is the event id, so in a batch
/// with the change it causes, a concurrent delivery of the same event makes the batch conflict.
pub fn event_row(db: &D1Database, provider: &str, event_id: &str, kind: &str, request_id: Option<&str>, outcome: &str) -> ApiResult<D1PreparedStatement> {
    statement(
        db,
        "INSERT INTO payment_events (provider, event_id, type, request_id, outcome, received_at) VALUES (?, ?, ?, ?, ?, ?)",
        &[provider.into(), event_id.into(), kind.into(), request_id.into(), outcome.into(), crate::platform::now_ms().into()],
    )
}

/// Records a refund once by its provider id and raises the request's running total to the sum
/// of its recorded refunds (never adds onto it: a webhook may have counted the same refund).
pub fn refund_statements(db: &D1Database, refund_id: &str, request_id: &str, amount: u64, reason: Option<&str>, actor: &str) -> ApiResult<Vec<D1PreparedStatement>> {
    Ok(vec![
        statement(
            db,
            "INSERT INTO refunds (id, request_id, amount, reason, actor, created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
            &[refund_id.into(), request_id.into(), (amount as i64).into(), reason.into(), actor.into(), crate::platform::now_ms().into()],
        )?,
        statement(db, "UPDATE requests SET amount_refunded = MAX(amount_refunded, (SELECT COALESCE(SUM(amount), 0) FROM refunds WHERE request_id = ?)) WHERE id = ?", &[request_id.into(), request_id.into()])?,
    ])
}

/// Whether an API call with this provider idempotency key already refunded the request.
pub async fn refunded_with_key(db: &D1Database, request_id: &str, key: &str) -> ApiResult<bool> {
    Ok(first::<serde_json::Value>(db, "SELECT id FROM refunds WHERE request_id = ? AND idempotency_key = ?", &[request_id.into(), key.into()]).await?.is_some())
}

/// The state a request was in when its latest dispute opened.
pub async fn status_before_dispute(db: &D1Database, request_id: &str) -> ApiResult<Status> {
    #[derive(Deserialize)]
    struct Before {
        status: String,
    }
    let before = first::<Before>(
        db,
        "SELECT status FROM request_events WHERE request_id = ?1 AND seq < (SELECT MAX(seq) FROM request_events WHERE request_id = ?1 AND status = 'disputed') ORDER BY seq DESC LIMIT 1",
        &[request_id.into()],
    )
    .await?;
    Ok(before.and_then(|b| Status::parse(&b.status)).unwrap_or(Status::Closed))
}
