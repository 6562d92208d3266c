//! Fulfilment: outbox rows are written with the state change they report, their ids go on
//! the queue, and the hub's consumer delivers each to its destination. A row is delivered at
//! most once in effect: the consumer checks its state before sending and records success.

use crate::error::{ApiError, ApiResult};
use crate::platform::{config, now_ms, random, timeout_signal};
use crate::store::{self, Arg, RequestRow};
use fanline_core::delivery::{self, Verdict};
use fanline_core::manifest::{DestinationKind, Manifest, DEFAULT_REMINDER_HOURS, WAITING_EVENT};
use fanline_core::money::{Currency, Money};
use fanline_core::outbound::Policy;
use fanline_core::routing::{self, RequestSummary};
use fanline_core::state::Status;
use fanline_core::targets::{self, ApiBases, CallContext, HttpCall, MailAccount};
use fanline_core::ids;
use serde::{Deserialize, Serialize};
use worker::{console_log, console_warn, D1Database, D1PreparedStatement, Env, Fetch, Headers, Method, Request, RequestInit, RequestRedirect};

pub const QUEUE_BINDING: &str = "FULFILMENT";
/// How long a receiver may take to answer; `DELIVERY_TIMEOUT_MS` overrides it.
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

/// One outbox entry per route the manifest gives each newly entered state.
pub fn outbox_entries(manifest: &Manifest, row: &RequestRow, origin: &str, entered: &[Status]) -> Vec<OutboxEntry> {
    let mut out = Vec::new();
    for status in entered {
        let mut summary = summary(manifest, row, origin);
        summary.status = status.as_str().to_string();
        out.extend(entries_for_event(manifest, row, &summary, &status.event_name(), |_| ids::token("msg_", &random::<16>())));
    }
    out
}

fn entries_for_event(manifest: &Manifest, row: &RequestRow, summary: &RequestSummary, event: &str, id_for: impl Fn(usize) -> String) -> Vec<OutboxEntry> {
    manifest
        .routes_for(event)
        .iter()
        .enumerate()
        .filter_map(|(i, route)| {
            let payload = routing::payload(manifest, summary, event, route, row.fan_email.as_deref(), now_ms())?;
            Some(OutboxEntry { id: id_for(i), event: event.to_string(), destination: route.to, payload: payload.to_string() })
        })
        .collect()
}

/// Mail to the address a fan typed goes out only within that address's hourly budget
/// (`limits::FanMail::Notice`), and never when `blocked`: anyone can type someone else's
/// address. Drops the fan-mail entries otherwise; returns the statement that counts the mail.
pub async fn budget_fan_mail(db: &D1Database, row: &RequestRow, blocked: bool, entries: &mut Vec<OutboxEntry>, now: i64) -> ApiResult<Option<D1PreparedStatement>> {
    if !entries.iter().any(|e| e.destination.is_fan_email()) {
        return Ok(None);
    }
    let counted = match (&row.fan_email, blocked) {
        (Some(email), false) => crate::limits::mail_budget(db, email, crate::limits::FanMail::Notice, now).await?,
        _ => None,
    };
    if counted.is_none() {
        entries.retain(|e| !e.destination.is_fan_email());
    }
    Ok(counted)
}

pub fn outbox_statements(db: &D1Database, request_id: &str, app_slug: &str, entries: &[OutboxEntry], now: i64) -> ApiResult<Vec<D1PreparedStatement>> {
    entries
        .iter()
        .map(|e| {
            store::statement(
                db,
                // A reminder's id is fixed per request, so two sweeps make one row.
                "INSERT INTO outbox (id, request_id, app_slug, event, destination, payload, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
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

/// Raises `request.waiting` once for each request left queued (or held for review) longer than
/// its app's `reminder_after_hours`, for the apps that route that event.
pub async fn remind_waiting(env: &Env, now: i64, origin: &str) -> ApiResult<usize> {
    #[derive(Deserialize)]
    struct Id {
        id: String,
    }
    let db = store::db(env)?;
    let apps: Vec<store::AppRow> = store::all(&db, "SELECT slug, creator_id, title, description, manifest FROM apps", &[]).await?;
    let mut raised = 0;
    for app in apps {
        let Ok(manifest) = Manifest::parse(&app.manifest) else { continue };
        if manifest.routes_for(WAITING_EVENT).is_empty() {
            continue;
        }
        let hours = i64::from(manifest.reminder_after_hours.unwrap_or(DEFAULT_REMINDER_HOURS));
        let waiting: Vec<Id> = store::all(
            &db,
            "SELECT id FROM requests r WHERE app_slug = ? AND status IN ('queued', 'held_for_review') AND updated_at <= ?
               AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.request_id = r.id AND o.event = ?) ORDER BY updated_at LIMIT 100",
            &[app.slug.as_str().into(), (now - hours * 3_600_000).into(), WAITING_EVENT.into()],
        )
        .await?;
        for Id { id } in waiting {
            let Some(row) = store::request(&db, &id).await? else { continue };
            let entries = entries_for_event(&manifest, &row, &summary(&manifest, &row, origin), WAITING_EVENT, |i| format!("wait_{}_{i}", row.id));
            db.batch(outbox_statements(&db, &row.id, &row.app_slug, &entries, now)?).await?;
            enqueue(env, &entries).await;
            raised += 1;
        }
    }
    Ok(raised)
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
    request_id: String,
    app_slug: String,
    destination: String,
    payload: String,
    state: String,
    attempts: i64,
    created_at: i64,
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
            Delivery::RetryIn(retry_delay(env, 1))
        }
    }
}

/// Local development sends plain http to loopback; a deployment allows neither.
pub fn outbound_policy(env: &Env) -> Policy {
    if crate::platform::is_local_dev(env) {
        Policy::LOCAL_DEV
    } else {
        Policy::PRODUCTION
    }
}

fn api_bases(env: &Env) -> ApiBases {
    let defaults = ApiBases::default();
    ApiBases {
        trello: config(env, "TRELLO_API_BASE", &defaults.trello),
        twilio: config(env, "TWILIO_API_BASE", &defaults.twilio),
        notion: config(env, "NOTION_API_BASE", &defaults.notion),
        airtable: config(env, "AIRTABLE_API_BASE", &defaults.airtable),
        mail: config(env, "MAIL_API_BASE", &defaults.mail),
    }
}

/// The platform's SendGrid account; without `MAIL_API_KEY` emails are skipped.
fn mail_account(env: &Env) -> Option<MailAccount> {
    let api_key = config(env, "MAIL_API_KEY", "");
    (!api_key.is_empty()).then(|| MailAccount { api_key, from: config(env, "MAIL_FROM", "requests@fanline.example") })
}

async fn try_deliver(env: &Env, outbox_id: &str) -> ApiResult<Delivery> {
    let db = store::db(env)?;
    let Some(row) = store::first::<OutboxRow>(
        &db,
        "SELECT id, request_id, app_slug, destination, payload, state, attempts, created_at FROM outbox WHERE id = ?",
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
    let Some(kind) = DestinationKind::parse(&row.destination) else {
        set_state(&db, &row.id, "dead", Some("unknown destination kind"), now).await?;
        return Ok(Delivery::Done);
    };
    // Nothing to send to: the creator has not set this target up (or a 410 disabled it), or
    // the marketplace has no mail account. Kept as skipped, replayable once set up.
    let settings = match kind {
        DestinationKind::Email | DestinationKind::Feedback => None,
        _ => match store::destination(&db, &row.app_slug, kind).await? {
            Some((settings, true)) => Some(settings),
            _ => {
                set_state(&db, &row.id, "skipped", Some("no destination configured"), now).await?;
                return Ok(Delivery::Done);
            }
        },
    };
    let mail = mail_account(env);
    if mail.is_none() && matches!(kind, DestinationKind::Email | DestinationKind::Feedback | DestinationKind::CreatorEmail) {
        set_state(&db, &row.id, "skipped", Some("email is not configured"), now).await?;
        return Ok(Delivery::Done);
    }
    // A Trello card is made by the request's first Trello delivery; later ones update it, so
    // they wait until it exists rather than making a second card. The earlier row is looked at
    // first: its success commits together with the card's id, so the id is read after.
    if kind == DestinationKind::Trello && earlier_undelivered(&db, &row).await? {
        // Parked, not retried (waiting would use up the job's attempts): the card's creation
        // queues it again, and the sweeper looks at it meanwhile.
        set_state(&db, &row.id, "pending", Some("waiting for the request's Trello card"), now).await?;
        return Ok(Delivery::Done);
    }
    let card_id = match kind {
        DestinationKind::Trello => store::target_ref(&db, &row.request_id, kind).await?,
        _ => None,
    };
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
    let attempt = row.attempts + 1;
    let payload: serde_json::Value = serde_json::from_str(&row.payload).unwrap_or_default();
    let bases = api_bases(env);
    let ctx = CallContext { bases: &bases, policy: outbound_policy(env), message_id: &row.id, now_secs: now / 1000, card_id: card_id.as_deref(), mail: mail.as_ref() };
    // The last attempt got no answer, so it may have made the card or record: look before
    // making another.
    if row.attempts > 0 && last_attempt_unanswered(&db, &row.id).await? {
        if let Some(look) = targets::find_earlier_create(kind, settings.as_ref(), &payload, &ctx) {
            match send(look, delivery_timeout(env)).await {
                Ok(answer) if (200..300).contains(&answer.status) => {
                    if let Some(made) = targets::earlier_create_id(kind, &answer.body, &row.request_id) {
                        record_attempt(&db, &row.id, attempt, Some(answer.status), Some("found what the unanswered attempt made"), now).await?;
                        // Only a Trello card is updated later, so only its id is kept.
                        return finish_delivered(env, &db, &row, kind, attempt, (kind == DestinationKind::Trello).then_some(made), now).await;
                    }
                }
                // Could not look: making it again is worse than waiting for the next attempt.
                looked => {
                    let (status, error) = match looked {
                        Ok(answer) => (Some(answer.status), format!("HTTP {} looking for what the unanswered attempt made", answer.status)),
                        Err(e) => (None, e),
                    };
                    record_attempt(&db, &row.id, attempt, status, Some(&error), now).await?;
                    return retry_later(env, &db, &row, attempt, &error, None, now).await;
                }
            }
        }
    }
    let outcome = match targets::call(kind, settings.as_ref(), &payload, &ctx) {
        Ok(call) => send(call, delivery_timeout(env)).await,
        Err(refusal) => {
            // Unsafe or oversized: no retry can fix it. Recorded, dead, replayable once fixed.
            record_attempt(&db, &row.id, attempt, None, Some(&refusal), now).await?;
            store::run(&db, "UPDATE outbox SET state = 'dead', attempts = ?, last_error = ?, updated_at = ? WHERE id = ?", &[attempt.into(), refusal.as_str().into(), now.into(), row.id.as_str().into()]).await?;
            console_warn!("{} refused before sending: {refusal}", row.id);
            return Ok(Delivery::Done);
        }
    };
    let (status, retry_after, body) = match &outcome {
        Ok(answer) => (Some(answer.status), answer.retry_after.as_deref(), answer.body.as_str()),
        Err(_) => (None, None, ""),
    };
    let verdict = delivery::judge(status, retry_after);
    let error = match (&outcome, verdict) {
        (Err(e), _) => Some(e.clone()),
        (Ok(_), Verdict::Delivered) => None,
        (Ok(answer), _) => Some(format!("HTTP {}", answer.status)),
    };
    record_attempt(&db, &row.id, attempt, status, error.as_deref(), now).await?;
    match verdict {
        Verdict::Delivered => {
            let made = match (kind, &card_id) {
                (DestinationKind::Trello, None) => targets::created_id(body),
                _ => None,
            };
            finish_delivered(env, &db, &row, kind, attempt, made, now).await
        }
        // 410 Gone: the receiver says this endpoint is over. Stop sending there until the
        // creator sets it again, and keep the job visible (and replayable) as dead.
        Verdict::Gone => {
            if settings.is_some() {
                store::run(&db, "UPDATE destinations SET enabled = 0, updated_at = ? WHERE app_slug = ? AND kind = ?", &[now.into(), row.app_slug.as_str().into(), kind.as_str().into()]).await?;
            }
            store::run(&db, "UPDATE outbox SET state = 'dead', attempts = ?, last_error = ?, updated_at = ? WHERE id = ?", &[attempt.into(), "HTTP 410: destination disabled".into(), now.into(), row.id.as_str().into()]).await?;
            console_warn!("{} answered 410; {} destination disabled", row.id, row.destination);
            Ok(Delivery::Done)
        }
        Verdict::Retry { at_least } => retry_later(env, &db, &row, attempt, &error.unwrap_or_default(), at_least, now).await,
    }
}

/// Marks the row delivered, with what it made (a Trello card's id) in the same batch, then
/// queues the request's Trello rows that were waiting for that card.
async fn finish_delivered(env: &Env, db: &D1Database, row: &OutboxRow, kind: DestinationKind, attempt: i64, made: Option<String>, now: i64) -> ApiResult<Delivery> {
    let mut statements = vec![store::statement(
        db,
        "UPDATE outbox SET state = 'delivered', attempts = ?, last_error = NULL, delivered_at = ?, updated_at = ? WHERE id = ?",
        &[attempt.into(), now.into(), now.into(), row.id.as_str().into()],
    )?];
    if let Some(made) = &made {
        statements.push(store::statement(
            db,
            "INSERT INTO target_refs (request_id, kind, external_id, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            &[row.request_id.as_str().into(), kind.as_str().into(), made.as_str().into(), now.into()],
        )?);
    }
    db.batch(statements).await?;
    console_log!("delivered {} to {}", row.id, row.destination);
    if made.is_some() {
        queue_parked_trello_rows(env, db, &row.request_id).await?;
    }
    Ok(Delivery::Done)
}

/// Puts the row back to pending with its error and says when to try again: the schedule's
/// wait, or a receiver's Retry-After when that is longer.
async fn retry_later(env: &Env, db: &D1Database, row: &OutboxRow, attempt: i64, error: &str, at_least: Option<u32>, now: i64) -> ApiResult<Delivery> {
    store::run(db, "UPDATE outbox SET state = 'pending', attempts = ?, last_error = ?, updated_at = ? WHERE id = ?", &[attempt.into(), error.into(), now.into(), row.id.as_str().into()]).await?;
    Ok(Delivery::RetryIn(retry_delay(env, attempt).max(at_least.unwrap_or(0))))
}

async fn last_attempt_unanswered(db: &D1Database, outbox_id: &str) -> ApiResult<bool> {
    #[derive(Deserialize)]
    struct Last {
        status: Option<i64>,
    }
    let last: Option<Last> = store::first(db, "SELECT status FROM delivery_attempts WHERE outbox_id = ? ORDER BY attempt DESC LIMIT 1", &[outbox_id.into()]).await?;
    Ok(last.is_some_and(|l| l.status.is_none()))
}

/// Whether a Trello delivery for the same request was committed earlier and is not done yet.
async fn earlier_undelivered(db: &D1Database, row: &OutboxRow) -> ApiResult<bool> {
    let earlier: Option<serde_json::Value> = store::first(
        db,
        "SELECT id FROM outbox WHERE request_id = ? AND destination = ? AND id != ? AND state IN ('pending', 'sending') AND (created_at < ? OR (created_at = ? AND rowid < (SELECT rowid FROM outbox WHERE id = ?))) LIMIT 1",
        &[row.request_id.as_str().into(), row.destination.as_str().into(), row.id.as_str().into(), row.created_at.into(), row.created_at.into(), row.id.as_str().into()],
    )
    .await?;
    Ok(earlier.is_some())
}

/// Queues the Trello rows of a request that were parked until its card existed.
async fn queue_parked_trello_rows(env: &Env, db: &D1Database, request_id: &str) -> ApiResult<()> {
    #[derive(Deserialize)]
    struct Parked {
        id: String,
    }
    let parked: Vec<Parked> = store::all(db, "SELECT id FROM outbox WHERE request_id = ? AND destination = 'trello' AND state = 'pending' AND attempts = 0", &[request_id.into()]).await?;
    enqueue_ids(env, parked.iter().map(|p| p.id.as_str())).await;
    Ok(())
}

async fn record_attempt(db: &D1Database, outbox_id: &str, attempt: i64, status: Option<u16>, error: Option<&str>, now: i64) -> ApiResult<()> {
    store::run(
        db,
        "INSERT INTO delivery_attempts (outbox_id, attempt, status, error, at) VALUES (?, ?, ?, ?, ?)",
        &[outbox_id.into(), attempt.into(), status.map_or(Arg::Null, |s| Arg::Int(i64::from(s))), error.into(), now.into()],
    )
    .await
}

/// Sends one mail right away rather than through the outbox: for sign-in links, which the fan
/// is waiting for and asks again for if it does not come.
pub async fn send_mail_now(env: &Env, mail: &routing::Email) -> ApiResult<()> {
    let Some(account) = mail_account(env) else {
        return Err(ApiError::Unavailable("Email is not configured for this marketplace.".into()));
    };
    let bases = api_bases(env);
    let message_id = ids::token("mail_", &random::<12>());
    let ctx = CallContext { bases: &bases, policy: outbound_policy(env), message_id: &message_id, now_secs: now_ms() / 1000, card_id: None, mail: Some(&account) };
    let call = targets::call(DestinationKind::Email, None, &serde_json::to_value(mail)?, &ctx).map_err(|r| ApiError::Internal(format!("mail refused: {r}")))?;
    match send(call, delivery_timeout(env)).await {
        Ok(answer) if (200..300).contains(&answer.status) => Ok(()),
        Ok(answer) => Err(ApiError::Upstream(format!("mail API answered {}", answer.status))),
        Err(e) => Err(ApiError::Upstream(format!("mail API: {e}"))),
    }
}

struct Answer {
    status: u16,
    retry_after: Option<String>,
    /// Read only to learn what a create made (a Trello card's id) or find one; empty past
    /// `ANSWER_MAX_BYTES` rather than cut into invalid JSON.
    body: String,
}

const ANSWER_MAX_BYTES: usize = 512 * 1024;

/// Performs the call. Redirects are never followed; the error text never includes the URL
/// (it may carry a token, as Discord's do).
async fn send(call: HttpCall, timeout_ms: u32) -> Result<Answer, String> {
    let headers = Headers::new();
    for (name, value) in &call.headers {
        headers.set(name, value).map_err(|_| format!("could not set the {name} header"))?;
    }
    let method = match call.method {
        "GET" => Method::Get,
        "PUT" => Method::Put,
        _ => Method::Post,
    };
    let mut init = RequestInit::new();
    init.with_method(method).with_headers(headers).with_redirect(RequestRedirect::Manual);
    if !call.body.is_empty() {
        init.with_body(Some(call.body.into()));
    }
    let request = Request::new_with_init(&call.url, &init).map_err(|_| "the target URL was refused".to_string())?;
    let mut response = match Fetch::Request(request).send_with_signal(&timeout_signal(timeout_ms)).await {
        Ok(response) => response,
        Err(e) if e.to_string().to_ascii_lowercase().contains("abort") => return Err(format!("no answer within {timeout_ms} ms")),
        Err(_) => return Err("could not connect".to_string()),
    };
    let retry_after = response.headers().get("Retry-After").ok().flatten();
    let status = response.status_code();
    // Read as a stream that stops at the cap: a receiver answering hundreds of MB never
    // reaches the isolate's memory. Error bodies are not read at all.
    let mut body = Vec::new();
    if (200..300).contains(&status) {
        if let Ok(mut stream) = response.stream() {
            while let Some(Ok(chunk)) = futures_util::StreamExt::next(&mut stream).await {
                if body.len() + chunk.len() > ANSWER_MAX_BYTES {
                    body.clear();
                    break;
                }
                body.extend_from_slice(&chunk);
            }
        }
    }
    Ok(Answer { status, retry_after, body: String::from_utf8(body).unwrap_or_default() })
}

fn delivery_timeout(env: &Env) -> u32 {
    config(env, "DELIVERY_TIMEOUT_MS", "").parse().ok().filter(|ms| (100..=30_000).contains(ms)).unwrap_or(DELIVERY_TIMEOUT_MS)
}

/// The wait after `failed` failed attempts: Standard Webhooks' schedule with jitter, or the
/// `RETRY_SCHEDULE` configured (seconds, comma-separated; tests use short ones).
fn retry_delay(env: &Env, failed: i64) -> u32 {
    let schedule = delivery::parse_schedule(&config(env, "RETRY_SCHEDULE", "")).unwrap_or_else(|| delivery::STANDARD_SCHEDULE.to_vec());
    delivery::retry_delay(&schedule, failed.clamp(1, 100) as u32, random::<1>()[0])
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
    let mut entries = outbox_entries(manifest, &moved, origin, path);
    let mut statements = store::transition_statements(db, &row.id, row.version, path, actor, reason, now)?;
    statements.extend(budget_fan_mail(db, row, false, &mut entries, now).await?);
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
