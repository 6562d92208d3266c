//! `requests` and what hangs off one request: its event history (`request_events`),
//! attachments, idempotency keys, refunds and disputes.

use super::{all, first, ids, statement, Arg};
use crate::platform::config::now_ms;
use crate::platform::error::{ApiError, ApiResult};
use fanline_core::lifecycle::{groups, sql_list, Status};
use fanline_core::money::PaymentProvider;
use fanline_core::trust::moderation::Decision;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use worker::{D1Database, D1PreparedStatement};

#[derive(Debug, Clone, Deserialize)]
pub struct RequestRow {
    pub id: String,
    pub app_slug: String,
    pub status: Status,
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
    pub provider: PaymentProvider,
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
    /// Moderation's decision at intake, as stored with the request.
    pub fn moderation_decision(&self) -> Decision {
        match serde_json::from_str::<Value>(&self.moderation).ok().as_ref().and_then(|v| v["decision"].as_str()) {
            Some("review") => Decision::Review,
            Some("block") => Decision::Block,
            _ => Decision::Allow,
        }
    }

    /// Where the request goes once paid: the queue, or review (see `intake::plan::after_payment`).
    pub fn after_payment(&self, held: bool) -> [Status; 2] {
        fanline_core::intake::plan::after_payment(self.moderation_decision(), held)
    }

    /// The fan's card is authorized but not yet charged.
    pub fn is_uncaptured_hold(&self) -> bool {
        self.hold_until.is_some() && self.captured_at.is_none()
    }

    /// Money was taken (a charge or a capture), so declining means refunding.
    pub fn is_charged(&self) -> bool {
        self.payment_intent_id.is_some() || self.paypal_capture_id.is_some()
    }
}

const COLUMNS: &str = "id, app_slug, status, version, fields, add_ons, amount, currency, price_lines, fan_email, checkout_session_id,
    checkout_url, payment_intent_id, amount_refunded, hold_until, captured_at, application_fee, provider, paypal_order_id,
    paypal_capture_id, credits_spent, fan_id, priority, auction_id, triage, identity, moderation, created_at, updated_at";

pub async fn get(db: &D1Database, id: &str) -> ApiResult<Option<RequestRow>> {
    first(db, &format!("SELECT {COLUMNS} FROM requests WHERE id = ?"), &[id.into()]).await
}

/// The requests of the given outbox rows (a JSON array of their ids), as a query for
/// `read_together`.
pub fn of_outbox_rows_query(db: &D1Database, outbox_ids_json: &str) -> ApiResult<D1PreparedStatement> {
    statement(
        db,
        &format!("SELECT {COLUMNS} FROM requests WHERE id IN (SELECT request_id FROM outbox WHERE id IN (SELECT value FROM json_each(?1)))"),
        &[outbox_ids_json.into()],
    )
}

/// `get` as a query for `read_together`; `first_of` reads its result.
pub fn get_query(db: &D1Database, id: &str) -> ApiResult<D1PreparedStatement> {
    statement(db, &format!("SELECT {COLUMNS} FROM requests WHERE id = ?"), &[id.into()])
}

pub async fn by_payment_intent(db: &D1Database, payment_intent: &str) -> ApiResult<Option<RequestRow>> {
    first(db, &format!("SELECT {COLUMNS} FROM requests WHERE payment_intent_id = ?"), &[payment_intent.into()]).await
}

pub async fn by_paypal_capture(db: &D1Database, capture_id: &str) -> ApiResult<Option<RequestRow>> {
    first(db, &format!("SELECT {COLUMNS} FROM requests WHERE paypal_capture_id = ?"), &[capture_id.into()]).await
}

/// Who sent a request, kept for the creator's dispute evidence and never shown to anyone else.
#[derive(Debug, Clone, Deserialize)]
pub struct ClientSignals {
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
}

/// A new request's row, with what intake knows about who sent it.
pub struct NewRequest<'a> {
    pub row: &'a RequestRow,
    pub client: &'a ClientSignals,
    pub fan_key: &'a str,
    /// Made through a draft app's preview link: left out of the KPIs.
    pub test: bool,
}

pub fn insert(db: &D1Database, new: &NewRequest) -> ApiResult<D1PreparedStatement> {
    let row = new.row;
    statement(
        db,
        "INSERT INTO requests (id, app_slug, status, version, fields, add_ons, amount, currency, price_lines, fan_email, checkout_session_id,
                               checkout_url, moderation, client_ip, user_agent, application_fee, provider, paypal_order_id, credits_spent,
                               fan_id, priority, auction_id, fan_key, triage, identity, created_at, updated_at, test)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        &[
            row.id.as_str().into(),
            row.app_slug.as_str().into(),
            row.status.as_str().into(),
            row.version.into(),
            row.fields.as_str().into(),
            row.add_ons.as_str().into(),
            row.amount.into(),
            row.currency.as_str().into(),
            row.price_lines.as_str().into(),
            row.fan_email.as_deref().into(),
            row.checkout_session_id.as_deref().into(),
            row.checkout_url.as_deref().into(),
            row.moderation.as_str().into(),
            new.client.client_ip.as_deref().into(),
            new.client.user_agent.as_deref().into(),
            row.application_fee.into(),
            row.provider.as_str().into(),
            row.paypal_order_id.as_deref().into(),
            row.credits_spent.into(),
            row.fan_id.as_deref().into(),
            row.priority.into(),
            row.auction_id.as_deref().into(),
            new.fan_key.into(),
            row.triage.as_deref().into(),
            row.identity.as_deref().into(),
            row.created_at.into(),
            row.updated_at.into(),
            i64::from(new.test).into(),
        ],
    )
}

/// A walk of a request from `from_version` through `path`, made by `actor`.
pub struct Transition<'a> {
    pub request_id: &'a str,
    pub from_version: i64,
    pub path: &'a [Status],
    pub actor: &'a str,
    pub reason: Option<&'a str>,
    pub now: i64,
}

/// Event rows for the walk, plus the guarded update. `(request_id, seq)` is the key of the
/// history, so two writers racing from the same version cannot both commit: the loser's whole
/// batch is rolled back.
pub fn transition_statements(db: &D1Database, t: &Transition) -> ApiResult<Vec<D1PreparedStatement>> {
    let mut out = Vec::with_capacity(2);
    // One statement for the whole path (intake enters two or three states at once).
    let events: Vec<(i64, String, &str)> =
        t.path.iter().enumerate().map(|(i, status)| (t.from_version + 1 + i as i64, status.event_name(), status.as_str())).collect();
    if !events.is_empty() {
        out.push(statement(
            db,
            "INSERT INTO request_events (request_id, seq, type, status, actor, reason, at)
             SELECT ?1, json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), ?2, ?3, ?4 FROM json_each(?5)",
            &[t.request_id.into(), t.actor.into(), t.reason.into(), t.now.into(), serde_json::to_string(&events)?.as_str().into()],
        )?);
    }
    if t.from_version > 0 {
        let last = t.path.last().copied().ok_or_else(|| ApiError::Internal("empty transition".into()))?;
        out.push(statement(
            db,
            "UPDATE requests SET status = ?, version = ?, updated_at = ? WHERE id = ? AND version = ?",
            &[last.as_str().into(), (t.from_version + t.path.len() as i64).into(), t.now.into(), t.request_id.into(), t.from_version.into()],
        )?);
    }
    Ok(out)
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

const EVENTS: &str = "SELECT seq, type, status, actor, reason, at FROM request_events WHERE request_id = ? ORDER BY seq";

/// A request's history, oldest first, as a query for `read_together`.
pub fn events_query(db: &D1Database, request_id: &str) -> ApiResult<D1PreparedStatement> {
    statement(db, EVENTS, &[request_id.into()])
}

/// The state a request was in when its latest dispute opened.
pub async fn status_before_dispute(db: &D1Database, request_id: &str) -> ApiResult<Status> {
    #[derive(Deserialize)]
    struct Before {
        status: Status,
    }
    let before = first::<Before>(
        db,
        &format!(
            "SELECT status FROM request_events WHERE request_id = ?1 AND seq < (SELECT MAX(seq) FROM request_events WHERE request_id = ?1 AND status = '{}') ORDER BY seq DESC LIMIT 1",
            Status::Disputed.as_str()
        ),
        &[request_id.into()],
    )
    .await?;
    Ok(before.map_or(Status::Closed, |b| b.status))
}

// Payment facts, each written in the batch of the state change they go with.

pub fn set_payment_intent(db: &D1Database, id: &str, payment_intent: Option<&str>) -> ApiResult<D1PreparedStatement> {
    statement(db, "UPDATE requests SET payment_intent_id = ? WHERE id = ?", &[payment_intent.into(), id.into()])
}

pub fn set_hold_until(db: &D1Database, id: &str, until: i64) -> ApiResult<D1PreparedStatement> {
    statement(db, "UPDATE requests SET hold_until = ? WHERE id = ?", &[until.into(), id.into()])
}

pub fn set_captured(db: &D1Database, id: &str, at: i64) -> ApiResult<D1PreparedStatement> {
    statement(db, "UPDATE requests SET captured_at = ? WHERE id = ?", &[at.into(), id.into()])
}

/// The hold was released: the request no longer holds the fan's card.
pub fn clear_hold(db: &D1Database, id: &str) -> ApiResult<D1PreparedStatement> {
    statement(db, "UPDATE requests SET hold_until = NULL WHERE id = ?", &[id.into()])
}

pub fn set_paypal_capture(db: &D1Database, id: &str, capture_id: &str) -> ApiResult<D1PreparedStatement> {
    statement(db, "UPDATE requests SET paypal_capture_id = ? WHERE id = ?", &[capture_id.into(), id.into()])
}

/// Raises the refunded total to what the provider reports (never lowers it).
pub fn raise_amount_refunded(db: &D1Database, id: &str, amount: u64) -> ApiResult<D1PreparedStatement> {
    statement(db, "UPDATE requests SET amount_refunded = MAX(amount_refunded, ?) WHERE id = ?", &[(amount as i64).into(), id.into()])
}

/// A refund, as recorded once by its provider id.
pub struct RefundRecord<'a> {
    pub id: &'a str,
    pub request_id: &'a str,
    pub amount: u64,
    pub reason: Option<&'a str>,
    pub actor: &'a str,
    /// The key of the API call that made it, when it came through our API.
    pub idempotency_key: Option<&'a str>,
    /// The provider's refunded total for the payment right after this refund, when it tells:
    /// it counts refunds made outside Fanline (Stripe's dashboard) that `refunds` never sees.
    pub provider_total: Option<u64>,
}

/// Records a refund once by its provider id and raises the request's running total to the sum
/// of its recorded refunds or the provider's total, whichever is more (never adds onto it: a
/// webhook may have counted the same refund).
pub fn refund_statements(db: &D1Database, r: &RefundRecord) -> ApiResult<Vec<D1PreparedStatement>> {
    let mut out = vec![
        statement(
            db,
            "INSERT INTO refunds (id, request_id, amount, reason, actor, created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
            &[r.id.into(), r.request_id.into(), (r.amount as i64).into(), r.reason.into(), r.actor.into(), now_ms().into()],
        )?,
        statement(
            db,
            "UPDATE requests SET amount_refunded = MAX(amount_refunded, COALESCE(?3, 0), (SELECT COALESCE(SUM(amount), 0) FROM refunds WHERE request_id = ?1)) WHERE id = ?2",
            &[r.request_id.into(), r.request_id.into(), r.provider_total.map(|t| t as i64).into()],
        )?,
    ];
    if let Some(key) = r.idempotency_key {
        out.push(statement(db, "UPDATE refunds SET idempotency_key = ? WHERE id = ? AND idempotency_key IS NULL", &[key.into(), r.id.into()])?);
    }
    Ok(out)
}

/// Whether an API call with this provider idempotency key already refunded the request.
pub async fn refunded_with_key(db: &D1Database, request_id: &str, key: &str) -> ApiResult<bool> {
    Ok(first::<Value>(db, "SELECT id FROM refunds WHERE request_id = ? AND idempotency_key = ?", &[request_id.into(), key.into()]).await?.is_some())
}

/// What was refunded on a request besides `refund_id`.
pub async fn refunded_besides(db: &D1Database, request_id: &str, refund_id: &str) -> ApiResult<i64> {
    super::count(db, "SELECT COALESCE(SUM(amount), 0) AS n FROM refunds WHERE request_id = ? AND id != ?", &[request_id.into(), refund_id.into()]).await
}

pub fn open_dispute(db: &D1Database, request_id: &str, dispute_id: &str, amount: u64, reason: &str) -> ApiResult<D1PreparedStatement> {
    statement(
        db,
        "INSERT INTO disputes (id, request_id, amount, reason, status, opened_at) VALUES (?, ?, ?, ?, 'open', ?) ON CONFLICT (id) DO NOTHING",
        &[dispute_id.into(), request_id.into(), (amount as i64).into(), reason.into(), now_ms().into()],
    )
}

pub fn close_dispute(db: &D1Database, dispute_id: &str, status: &str) -> ApiResult<D1PreparedStatement> {
    statement(db, "UPDATE disputes SET status = ?, closed_at = ? WHERE id = ?", &[status.into(), now_ms().into(), dispute_id.into()])
}

/// Refunds and disputes of a request, as the creator's view and evidence show them.
pub async fn refunds(db: &D1Database, request_id: &str) -> ApiResult<Vec<Value>> {
    all(db, "SELECT id, amount, reason, actor, created_at FROM refunds WHERE request_id = ? ORDER BY created_at, rowid", &[request_id.into()]).await
}

pub async fn disputes(db: &D1Database, request_id: &str) -> ApiResult<Vec<Value>> {
    all(db, "SELECT id, amount, reason, status, opened_at, closed_at FROM disputes WHERE request_id = ? ORDER BY opened_at", &[request_id.into()]).await
}

pub async fn client_signals(db: &D1Database, request_id: &str) -> ApiResult<Option<ClientSignals>> {
    first(db, "SELECT client_ip, user_agent FROM requests WHERE id = ?", &[request_id.into()]).await
}

#[derive(Debug, Clone, Deserialize)]
pub struct AttachmentRow {
    pub field: String,
    pub object_key: String,
    pub media_type: String,
    pub size: i64,
}

pub fn insert_attachment(db: &D1Database, request_id: &str, a: &AttachmentRow) -> ApiResult<D1PreparedStatement> {
    statement(
        db,
        "INSERT INTO attachments (request_id, field, object_key, media_type, size) VALUES (?, ?, ?, ?, ?)",
        &[request_id.into(), a.field.as_str().into(), a.object_key.as_str().into(), a.media_type.as_str().into(), a.size.into()],
    )
}

pub async fn attachments(db: &D1Database, request_id: &str) -> ApiResult<Vec<AttachmentRow>> {
    all(db, "SELECT field, object_key, media_type, size FROM attachments WHERE request_id = ?", &[request_id.into()]).await
}

pub async fn attachment(db: &D1Database, request_id: &str, field: &str) -> ApiResult<Option<AttachmentRow>> {
    first(db, "SELECT field, object_key, media_type, size FROM attachments WHERE request_id = ? AND field = ?", &[request_id.into(), field.into()]).await
}

/// What the answer to a submission shows, read back to replay it. Only these columns: the
/// whole row's deserializer would cost every app 2 KB of wasm for a replay.
#[derive(Debug, Clone, Deserialize)]
pub struct Created {
    pub id: String,
    pub app_slug: String,
    pub status: Status,
    pub amount: i64,
    pub currency: String,
    pub price_lines: String,
    pub amount_refunded: i64,
    pub checkout_url: Option<String>,
    pub checkout_session_id: Option<String>,
}

impl From<RequestRow> for Created {
    fn from(row: RequestRow) -> Self {
        Self {
            id: row.id,
            app_slug: row.app_slug,
            status: row.status,
            amount: row.amount,
            currency: row.currency,
            price_lines: row.price_lines,
            amount_refunded: row.amount_refunded,
            checkout_url: row.checkout_url,
            checkout_session_id: row.checkout_session_id,
        }
    }
}

async fn created(db: &D1Database, id: &str) -> ApiResult<Option<Created>> {
    first(
        db,
        "SELECT id, app_slug, status, amount, currency, price_lines, amount_refunded, checkout_url, checkout_session_id FROM requests WHERE id = ?",
        &[id.into()],
    )
    .await
}

/// An Idempotency-Key sent with a submission, bound to what was sent (`fingerprint`).
pub struct IdempotencyKey<'a> {
    pub app_slug: &'a str,
    pub key: &'a str,
    pub fingerprint: &'a str,
}

impl IdempotencyKey<'_> {
    pub fn insert(&self, db: &D1Database, request_id: &str, now: i64) -> ApiResult<D1PreparedStatement> {
        statement(
            db,
            "INSERT INTO idempotency_keys (app_slug, key, request_id, created_at, fingerprint) VALUES (?, ?, ?, ?, ?)",
            &[self.app_slug.into(), self.key.into(), request_id.into(), now.into(), self.fingerprint.into()],
        )
    }

    /// The request first made with this key, when its fingerprint matches; `Err` with the
    /// other fingerprint's existence when the key was used for something else.
    pub async fn original(&self, db: &D1Database) -> ApiResult<Option<Result<Created, ()>>> {
        #[derive(Deserialize)]
        struct Original {
            request_id: String,
            fingerprint: Option<String>,
        }
        match first::<Original>(
            db,
            "SELECT request_id, fingerprint FROM idempotency_keys WHERE app_slug = ? AND key = ?",
            &[self.app_slug.into(), self.key.into()],
        )
        .await?
        {
            Some(o) if o.fingerprint.as_deref() == Some(self.fingerprint) => Ok(created(db, &o.request_id).await?.map(Ok)),
            Some(_) => Ok(Some(Err(()))),
            None => Ok(None),
        }
    }
}

/// One line of the creator's queue.
#[derive(Debug, Clone, Deserialize)]
pub struct QueueRow {
    pub id: String,
    pub app_slug: String,
    pub status: String,
    pub amount: i64,
    pub currency: String,
    pub amount_refunded: i64,
    pub fields: String,
    pub add_ons: String,
    pub price_lines: String,
    pub priority: i64,
    pub provider: String,
    pub moderation: String,
    pub triage: Option<String>,
    pub identity: Option<String>,
    pub fan_email: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    /// Made through a draft's preview link.
    pub test: i64,
}

/// Which requests a creator is looking at.
pub struct QueueFilter<'a> {
    pub apps: &'a [String],
    /// One status, or every status in the group.
    pub statuses: &'a [Status],
    /// Text the fields, add-ons or fan's email contain (case-insensitive).
    pub text: Option<&'a str>,
    pub limit: u32,
}

/// Requests in the order the creator works them: paid priority first, then oldest.
pub async fn queue(db: &D1Database, f: &QueueFilter<'_>) -> ApiResult<Vec<QueueRow>> {
    if f.apps.is_empty() {
        return Ok(Vec::new());
    }
    let apps = (0..f.apps.len()).map(|i| format!("?{}", i + 2)).collect::<Vec<_>>().join(", ");
    let mut sql = format!(
        "SELECT id, app_slug, status, amount, currency, amount_refunded, fields, add_ons, price_lines, priority, provider, moderation, triage, identity,
                fan_email, created_at, updated_at, test
           FROM requests WHERE app_slug IN ({apps})"
    );
    if !f.statuses.is_empty() {
        sql.push_str(&format!(" AND status IN ({})", sql_list(f.statuses)));
    }
    // ?1 is the search text, matched as a plain substring without regard to ASCII case. Not
    // LIKE: D1 refuses LIKE patterns over 50 bytes, which a few emoji reach.
    let text = f.text.map(str::trim).filter(|t| !t.is_empty()).map(str::to_ascii_lowercase);
    if text.is_some() {
        sql.push_str(
            " AND (instr(lower(fields), ?1) > 0 OR instr(lower(add_ons), ?1) > 0 OR instr(lower(COALESCE(fan_email, '')), ?1) > 0 OR instr(id, ?1) > 0)",
        );
    }
    sql.push_str(&format!(" ORDER BY priority DESC, created_at, rowid LIMIT {}", f.limit.min(1000)));
    let mut args: Vec<Arg> = vec![text.as_deref().into()];
    args.extend(f.apps.iter().map(Arg::from));
    all(db, &sql, &args).await
}

/// How many requests of the app the creator will work before this one (same order as the
/// queue: priority first, then oldest), counting only those waiting on the creator.
/// How many requests of the app are ahead of request `id` in its queue (`{"n": ...}`). The
/// query reads the request's own priority and time itself, so it needs no earlier read of the
/// row and can go in a `read_together` batch (`ahead_in_queue_query`).
fn ahead_in_queue_sql() -> String {
    format!(
        "WITH me AS (SELECT rowid AS r, priority AS p, created_at AS c FROM requests WHERE id = ?2)
         SELECT COUNT(*) AS n FROM requests, me WHERE app_slug = ?1 AND status IN ({}) AND id != ?2
           AND (priority > me.p OR (priority = me.p AND (created_at < me.c OR (created_at = me.c AND requests.rowid < me.r))))",
        sql_list(groups::IN_QUEUE)
    )
}

pub fn ahead_in_queue_query(db: &D1Database, app_slug: &str, id: &str) -> ApiResult<D1PreparedStatement> {
    statement(db, &ahead_in_queue_sql(), &[app_slug.into(), id.into()])
}

pub async fn ahead_in_queue(db: &D1Database, row: &RequestRow) -> ApiResult<i64> {
    super::count(db, &ahead_in_queue_sql(), &[row.app_slug.as_str().into(), row.id.as_str().into()]).await
}

/// Held payments whose acceptance window has passed at `now`. Bids of an auction that is still
/// open are settled by its close, never here.
pub async fn lapsed_holds(db: &D1Database, now: i64) -> ApiResult<Vec<String>> {
    ids(
        db,
        &format!(
            "SELECT id FROM requests WHERE hold_until IS NOT NULL AND captured_at IS NULL AND hold_until <= ? AND status IN ({})
               AND (auction_id IS NULL OR auction_id IN (SELECT id FROM auctions WHERE status = '{}')) ORDER BY hold_until LIMIT 100",
            sql_list(groups::WAITING_ON_CREATOR),
            fanline_core::money::auction::AuctionStatus::Closed.as_str()
        ),
        &[now.into()],
    )
    .await
}

/// Requests of an app waiting on the creator since before `since`, not yet reminded of.
pub async fn waiting_unreminded(db: &D1Database, app_slug: &str, since: i64, event: &str) -> ApiResult<Vec<String>> {
    ids(
        db,
        &format!(
            "SELECT id FROM requests r WHERE app_slug = ? AND status IN ({}) AND updated_at <= ?
               AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.request_id = r.id AND o.event = ?) ORDER BY updated_at LIMIT 100",
            sql_list(groups::WAITING_ON_CREATOR)
        ),
        &[app_slug.into(), since.into(), event.into()],
    )
    .await
}

/// Forgets Idempotency-Keys made before `before` (kept a day, as Stripe keeps its keys).
pub async fn prune_idempotency_keys(db: &D1Database, before: i64) -> ApiResult<usize> {
    super::changes(db, "DELETE FROM idempotency_keys WHERE created_at < ?", &[before.into()]).await
}
