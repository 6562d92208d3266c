//! Fulfilment: outbox rows are written with the state change they report, their ids go on
//! the queue, and the hub's consumer delivers each to its destination. A row is delivered at
//! most once in effect: the consumer checks its state before sending and records success.

use crate::error::{ApiError, ApiResult};
use crate::platform::{now_ms, random, timeout_signal};
use crate::store::{self, Arg, RequestRow};
use fanline_core::manifest::{DestinationKind, Manifest};
use fanline_core::money::{Currency, Money};
use fanline_core::routing::{self, RequestSummary};

use fanline_core::state::Status;
use fanline_core::{ids, standard_webhooks};
use serde::{Deserialize, Serialize};
use worker::{console_log, console_warn, D1Database, D1PreparedStatement, Env, Fetch, Headers, Method, Request, RequestInit, RequestRedirect};

pub const QUEUE_BINDING: &str = "FULFILMENT";
const DELIVERY_TIMEOUT_MS: u32 = 10_000;
/// A consumer's claim on a row lapses after this, so a crash mid-send cannot strand it.
const CLAIM_LEASE_MS: i64 = 60_000;

/// What travels on the queue: only the outbox row's id, so nothing secret sits in a message.
#[derive(Debug, Serialize, Deserialize)]
pub struct Job {
    pub outbox_id: String,
}

pub struct OutboxEntry {
    pub id: String,
    pub event: String,
    pub destination: DestinationKind,
    pub payload: String,
}

pub fn summary(manifest: &Manifest, row: &RequestRow, origin: &str) -> RequestSummary {
    let fields = serde_json::from_str(&row.fields).unwrap_or_default();
    let add_on_ids: Vec<String> = serde_json::from_str(&row.add_ons).unwrap_or_default();
    let add_ons = add_on_ids.iter().map(|id| manifest.add_on(id).map_or(id.clone(), |a| a.label.clone())).collect();
    let currency = Currency::parse(&row.currency).unwrap_or_else(|_| manifest.pricing.currency.clone());
    RequestSummary {
        id: row.id.clone(),
        app: row.app_slug.clone(),
        app_title: manifest.title.clone(),
        status: row.status.clone(),
        fields,
        add_ons,
        price: Money::new(row.amount.max(0) as u64, currency),
        status_url: status_url(origin, &row.app_slug, &row.id),
        page_url: format!("{origin}/apps/{}/?request={}", row.app_slug, row.id),
        created_at: routing::rfc3339(row.created_at),
    }
}

pub fn status_url(origin: &str, app_slug: &str, request_id: &str) -> String {
    format!("{origin}/apps/{app_slug}/api/requests/{request_id}")
}

/// One outbox entry per destination the manifest routes each newly entered state to.
pub fn outbox_entries(manifest: &Manifest, row: &RequestRow, origin: &str, entered: &[Status]) -> Vec<OutboxEntry> {
    let mut out = Vec::new();
    for status in entered {
        let event = status.event_name();
        let mut summary = summary(manifest, row, origin);
        summary.status = status.as_str().to_string();
        for &destination in manifest.destinations_for(&event) {
            let payload = match destination {
                DestinationKind::Discord => routing::discord_message(manifest, &summary, &event),
                DestinationKind::Webhook => routing::webhook_event(&summary, &event, &routing::rfc3339(now_ms())),
                DestinationKind::Email => match row.fan_email.as_deref().and_then(|to| routing::fan_email(&summary, &event, to)) {
                    Some(mail) => serde_json::to_value(mail).unwrap_or_default(),
                    None => continue,
                },
            };
            out.push(OutboxEntry { id: ids::token("msg_", &random::<16>()), event: event.clone(), destination, payload: payload.to_string() });
        }
    }
    out
}

pub fn outbox_statements(db: &D1Database, request_id: &str, app_slug: &str, entries: &[OutboxEntry], now: i64) -> ApiResult<Vec<D1PreparedStatement>> {
    entries
        .iter()
        .map(|e| {
            store::statement(
                db,
                "INSERT INTO outbox (id, request_id, app_slug, event, destination, payload, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                &[e.id.as_str().into(), request_id.into(), app_slug.into(), e.event.as_str().into(), e.destination.as_str().into(), e.payload.as_str().into(), now.into(), now.into()],
            )
        })
        .collect()
}

/// Puts committed outbox rows on the queue. A failed send leaves the row pending, where the
/// next sweep finds it, so it is logged rather than surfaced to the fan.
pub async fn enqueue(env: &Env, entries: &[OutboxEntry]) {
    enqueue_ids(env, entries.iter().map(|e| e.id.as_str())).await;
}

/// Sends outbox row ids to the queue. A lost send leaves the row pending for the sweeper.
pub async fn enqueue_ids<'a>(env: &Env, ids: impl IntoIterator<Item = &'a str>) {
    let Ok(queue) = env.queue(QUEUE_BINDING) else {
        console_warn!("no {QUEUE_BINDING} queue binding; outbox rows stay pending");
        return;
    };
    for id in ids {
        if let Err(e) = queue.send(Job { outbox_id: id.to_string() }).await {
            console_warn!("queue send for {id} failed: {e}");
        }
    }
}

/// Rows committed but never attempted this long after: their queue send was lost (a crash
/// between the commit and the send). The hub's cron sends them again; a duplicate message for
/// a row that is in fact queued is harmless (the claim and the state check make it one send).
const SWEEP_AFTER_MS: i64 = 2 * 60 * 1000;

pub async fn sweep(env: &Env, now: i64) -> ApiResult<usize> {
    let db = store::db(env)?;
    #[derive(Deserialize)]
    struct Stuck {
        id: String,
    }
    let stuck: Vec<Stuck> = store::all(&db, "SELECT id FROM outbox WHERE state = 'pending' AND attempts = 0 AND created_at <= ? ORDER BY created_at LIMIT 200", &[(now - SWEEP_AFTER_MS).into()]).await?;
    enqueue_ids(env, stuck.iter().map(|s| s.id.as_str())).await;
    Ok(stuck.len())
}

/// Puts dead or skipped rows back to pending and queues them again (the creator's replay).
/// The state change is conditional, so replaying twice at once queues each row once.
pub async fn replay(env: &Env, db: &D1Database, app_slug: &str, only: Option<&str>) -> ApiResult<Vec<String>> {
    #[derive(Deserialize)]
    struct Row {
        id: String,
    }
    let rows: Vec<Row> = match only {
        Some(id) => store::all(db, "SELECT id FROM outbox WHERE app_slug = ? AND id = ? AND state IN ('dead', 'skipped')", &[app_slug.into(), id.into()]).await?,
        None => store::all(db, "SELECT id FROM outbox WHERE app_slug = ? AND state = 'dead' LIMIT 500", &[app_slug.into()]).await?,
    };
    let mut replayed = Vec::new();
    for row in rows {
        let changed = store::changes(db, "UPDATE outbox SET state = 'pending', claimed_at = NULL, updated_at = ? WHERE id = ? AND state IN ('dead', 'skipped')", &[now_ms().into(), row.id.as_str().into()]).await?;
        if changed == 1 {
            replayed.push(row.id);
        }
    }
    enqueue_ids(env, replayed.iter().map(String::as_str)).await;
    Ok(replayed)
}

#[derive(Debug, Default, Deserialize)]
struct OutboxRow {
    id: String,
    app_slug: String,
    destination: String,
    payload: String,
    state: String,
    attempts: i64,
}

/// What the consumer should do with the message.
#[derive(Debug, PartialEq, Eq)]
pub enum Delivery {
    Done,
    RetryIn(u32),
}

/// Delivers one outbox row. Errors reaching D1 are retried like any failed delivery.
pub async fn deliver(env: &Env, outbox_id: &str) -> Delivery {
    match try_deliver(env, outbox_id).await {
        Ok(d) => d,
        Err(e) => {
            console_warn!("delivery of {outbox_id} could not run: {e:?}");
            Delivery::RetryIn(backoff_secs(env, 1))
        }
    }
}

async fn try_deliver(env: &Env, outbox_id: &str) -> ApiResult<Delivery> {
    let db = store::db(env)?;
    let Some(row) = store::first::<OutboxRow>(
        &db,
        "SELECT id, app_slug, destination, payload, state, attempts FROM outbox WHERE id = ?",
        &[outbox_id.into()],
    )
    .await?
    else {
        console_warn!("outbox row {outbox_id} does not exist; dropping the job");
        return Ok(Delivery::Done);
    };
    if !matches!(row.state.as_str(), "pending" | "sending") {
        // Queues deliver at least once: a duplicate of a finished job is acknowledged unsent.
        return Ok(Delivery::Done);
    }
    let now = now_ms();
    // Claim the row so a duplicate message handled at the same moment cannot send it too.
    let claimed = store::changes(
        &db,
        "UPDATE outbox SET state = 'sending', claimed_at = ? WHERE id = ? AND (state = 'pending' OR (state = 'sending' AND claimed_at < ?))",
        &[now.into(), row.id.as_str().into(), (now - CLAIM_LEASE_MS).into()],
    )
    .await?;
    if claimed == 0 {
        // Someone else holds it; look again after their lease could have lapsed.
        return Ok(Delivery::RetryIn((CLAIM_LEASE_MS / 1000) as u32));
    }
    let target = match row.destination.as_str() {
        "email" => mail_target(env, &row.payload),
        _ => store::destination(&db, &row.app_slug, &row.destination).await?.filter(|t| t.enabled == 1).map(Target::Creator),
    };
    let Some(target) = target else {
        set_state(&db, &row.id, "skipped", Some("no destination configured"), now).await?;
        return Ok(Delivery::Done);
    };
    let attempt = row.attempts + 1;
    let outcome = send(&row, &target, now).await;
    let (status, error, retry_after) = match &outcome {
        Ok((code, _)) if (200..300).contains(code) => (Some(*code), None, None),
        // 3xx included: a redirect is never followed, the creator must fix the URL.
        Ok((code, retry_after)) => (Some(*code), Some(format!("HTTP {code}")), *retry_after),
        Err(e) => (None, Some(e.clone()), None),
    };
    store::run(
        &db,
        "INSERT INTO delivery_attempts (outbox_id, attempt, status, error, at) VALUES (?, ?, ?, ?, ?)",
        &[row.id.as_str().into(), attempt.into(), status.map_or(Arg::Null, |s| Arg::Int(i64::from(s))), error.as_deref().into(), now.into()],
    )
    .await?;
    match error {
        None => {
            store::run(
                &db,
                "UPDATE outbox SET state = 'delivered', attempts = ?, last_error = NULL, delivered_at = ?, updated_at = ? WHERE id = ?",
                &[attempt.into(), now.into(), now.into(), row.id.as_str().into()],
            )
            .await?;
            console_log!("delivered {} to {}", row.id, row.destination);
            Ok(Delivery::Done)
        }
        // 410 Gone: the receiver says this endpoint is over. Stop sending there until the
        // creator sets it again, and keep the job visible (and replayable) as dead.
        Some(_) if status == Some(410) => {
            if let Target::Creator(d) = &target {
                store::run(&db, "UPDATE destinations SET enabled = 0, updated_at = ? WHERE app_slug = ? AND kind = ?", &[now.into(), row.app_slug.as_str().into(), d.kind.as_str().into()]).await?;
            }
            store::run(&db, "UPDATE outbox SET state = 'dead', attempts = ?, last_error = ?, updated_at = ? WHERE id = ?", &[attempt.into(), "HTTP 410: destination disabled".into(), now.into(), row.id.as_str().into()]).await?;
            console_warn!("{} answered 410; {} destination disabled", row.id, row.destination);
            Ok(Delivery::Done)
        }
        Some(error) => {
            store::run(&db, "UPDATE outbox SET state = 'pending', attempts = ?, last_error = ?, updated_at = ? WHERE id = ?", &[attempt.into(), error.as_str().into(), now.into(), row.id.as_str().into()]).await?;
            // 429 and 503 may say when to come back; never sooner than our own backoff.
            let wait = match (status, retry_after) {
                (Some(429 | 503), Some(secs)) => secs.clamp(1, 3600).max(backoff_secs(env, attempt)),
                _ => backoff_secs(env, attempt),
            };
            Ok(Delivery::RetryIn(wait))
        }
    }
}

/// Where a row goes: a creator's destination, or the fan through the platform's mail API.
enum Target {
    Creator(store::Destination),
    Mail { url: String, api_key: String, body: String },
}

/// Mail goes through SendGrid's v3 API (base URL configurable); without a key it is skipped.
fn mail_target(env: &Env, payload: &str) -> Option<Target> {
    let api_key = crate::platform::config(env, "MAIL_API_KEY", "");
    let mail: routing::FanEmail = serde_json::from_str(payload).ok()?;
    if api_key.is_empty() {
        return None;
    }
    let from = crate::platform::config(env, "MAIL_FROM", "requests@fanline.example");
    let base = crate::platform::config(env, "MAIL_API_BASE", "https://api.sendgrid.com");
    let body = routing::sendgrid_mail(&mail, &from, "Fanline").to_string();
    Some(Target::Mail { url: format!("{}/v3/mail/send", base.trim_end_matches('/')), api_key, body })
}

/// Sends one mail right away rather than through the outbox: for sign-in links, which the fan
/// is waiting for and asks again for if it does not come.
pub async fn send_mail_now(env: &Env, mail: &routing::FanEmail) -> ApiResult<()> {
    let payload = serde_json::to_string(mail)?;
    let Some(target) = mail_target(env, &payload) else {
        return Err(ApiError::Unavailable("Email is not configured for this marketplace.".into()));
    };
    let row = OutboxRow { id: ids::token("mail_", &random::<12>()), payload, ..OutboxRow::default() };
    match send(&row, &target, now_ms()).await {
        Ok((200..=299, _)) => Ok(()),
        Ok((status, _)) => Err(ApiError::Upstream(format!("mail API answered {status}"))),
        Err(e) => Err(ApiError::Upstream(format!("mail API: {e}"))),
    }
}

/// Posts the payload. Redirects are failures, never followed: a moved endpoint is a
/// configuration problem the creator must see.
async fn send(row: &OutboxRow, target: &Target, now: i64) -> Result<(u16, Option<u32>), String> {
    let headers = Headers::new();
    let map = |e: worker::Error| e.to_string();
    headers.set("Content-Type", "application/json").map_err(map)?;
    headers.set("User-Agent", "Fanline-Webhooks/1.0").map_err(map)?;
    let (url, body) = match target {
        Target::Mail { url, api_key, body } => {
            headers.set("Authorization", &format!("Bearer {api_key}")).map_err(map)?;
            (url.clone(), body.as_str())
        }
        Target::Creator(d) if d.kind == "discord" => (with_wait(&d.url), row.payload.as_str()),
        Target::Creator(d) => {
            let key = d.secret.as_deref().and_then(standard_webhooks::secret_key).ok_or("webhook secret missing")?;
            let ts = now / 1000;
            headers.set("webhook-id", &row.id).map_err(map)?;
            headers.set("webhook-timestamp", &ts.to_string()).map_err(map)?;
            headers.set("webhook-signature", &standard_webhooks::sign(&key, &row.id, ts, row.payload.as_bytes())).map_err(map)?;
            (d.url.clone(), row.payload.as_str())
        }
    };
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_headers(headers).with_redirect(RequestRedirect::Manual).with_body(Some(body.into()));
    let request = Request::new_with_init(&url, &init).map_err(map)?;
    let response = Fetch::Request(request).send_with_signal(&timeout_signal(DELIVERY_TIMEOUT_MS)).await.map_err(|e| format!("request failed: {e}"))?;
    let retry_after = response.headers().get("Retry-After").ok().flatten().and_then(|v| v.trim().parse::<u32>().ok());
    Ok((response.status_code(), retry_after))
}

/// `?wait=true` makes Discord answer only once the message exists, so a 2xx means delivered.
fn with_wait(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            u.query_pairs_mut().append_pair("wait", "true");
            u.to_string()
        }
        Err(_) => url.to_string(),
    }
}

/// Doubling from `RETRY_BASE_SECS` (5 s: 5, 10, 20 ...), capped at an hour.
fn backoff_secs(env: &Env, attempt: i64) -> u32 {
    let base: u32 = crate::platform::config(env, "RETRY_BASE_SECS", "5").parse().unwrap_or(5).max(1);
    let exp = attempt.clamp(1, 10) as u32 - 1;
    base.saturating_mul(1 << exp).min(3600)
}

async fn set_state(db: &D1Database, id: &str, state: &str, error: Option<&str>, now: i64) -> ApiResult<()> {
    store::run(db, "UPDATE outbox SET state = ?, last_error = COALESCE(?, last_error), updated_at = ? WHERE id = ?", &[state.into(), error.into(), now.into(), id.into()]).await
}

/// Called for jobs that exhausted their retries and reached the dead-letter queue.
pub async fn mark_dead(env: &Env, outbox_id: &str) -> ApiResult<()> {
    let db = store::db(env)?;
    store::run(&db, "UPDATE outbox SET state = 'dead', updated_at = ? WHERE id = ? AND state IN ('pending', 'sending')", &[now_ms().into(), outbox_id.into()]).await
}

/// A state change plus its outbox rows in one batch, then the queue. `Ok(false)` means the
/// request moved under us (another writer won) and nothing was written.
pub async fn advance(env: &Env, db: &D1Database, manifest: &Manifest, row: &RequestRow, path: &[Status], actor: &str, reason: Option<&str>, origin: &str, mut extra: Vec<D1PreparedStatement>) -> ApiResult<bool> {
    let current = row.status()?;
    current.walk(path).map_err(|e| ApiError::Conflict { code: "invalid_transition", message: e.to_string() })?;
    let now = now_ms();
    let mut moved = row.clone();
    moved.status = path.last().map_or(row.status.clone(), |s| s.as_str().to_string());
    let entries = outbox_entries(manifest, &moved, origin, path);
    let mut statements = store::transition_statements(db, &row.id, row.version, path, actor, reason, now)?;
    statements.append(&mut extra);
    statements.extend(outbox_statements(db, &row.id, &row.app_slug, &entries, now)?);
    match store::commit(db, statements).await? {
        store::BatchOutcome::Committed => {
            enqueue(env, &entries).await;
            Ok(true)
        }
        store::BatchOutcome::Conflict(_) => Ok(false),
        store::BatchOutcome::Refused(detail) => Err(ApiError::Internal(format!("a state change was refused: {detail}"))),
    }
}

/// The queue consumer: each message is acknowledged or retried on its own, and the handler
/// itself never fails (a failing queue handler would fail the whole batch).
pub async fn consume(batch: worker::MessageBatch<serde_json::Value>, env: &Env, dead_letter_queue: &str) {
    use worker::MessageExt;
    let from_dead_letters = batch.queue() == dead_letter_queue;
    for message in batch.raw_iter() {
        let job: Result<Job, _> = worker::serde_wasm_bindgen::from_value(message.body());
        let Ok(job) = job else {
            console_warn!("dropping malformed fulfilment message {}", message.id());
            message.ack();
            continue;
        };
        if from_dead_letters {
            match mark_dead(env, &job.outbox_id).await {
                Ok(()) => message.ack(),
                Err(_) => message.retry(),
            }
            continue;
        }
        match deliver(env, &job.outbox_id).await {
            Delivery::Done => message.ack(),
            Delivery::RetryIn(secs) => message.retry_with_options(&worker::QueueRetryOptionsBuilder::new().with_delay_seconds(secs).build()),
        }
    }
}
