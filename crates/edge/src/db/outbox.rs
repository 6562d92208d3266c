//! `outbox`, `delivery_attempts` and `target_refs`: each notification written with the state
//! change it reports, every attempt to deliver it, and what a destination made for a request
//! (a Trello card's id) so later deliveries update it instead of making another.

use super::destinations::DestinationRow;
use super::{all, changes, first, ids, run, statement};
use crate::platform::error::ApiResult;
use fanline_core::delivery::state::OutboxState::{self, Dead, Delivered, Pending, Sending, Skipped};
use fanline_core::manifest::DestinationKind;
use serde::Deserialize;
use serde_json::Value;
use worker::{D1Database, D1PreparedStatement};

fn unfinished() -> String {
    OutboxState::sql_list(&OutboxState::UNFINISHED)
}

fn replayable_states() -> String {
    OutboxState::sql_list(&OutboxState::REPLAYABLE)
}

/// One notification to write: its destination and the rendered payload.
pub struct OutboxEntry {
    pub id: String,
    pub event: String,
    pub destination: DestinationKind,
    pub payload: String,
    /// Pending, or Skipped when the creator has not set its destination up (known at intake).
    pub state: OutboxState,
}

/// Why a row was skipped for a destination the creator has not set up (or disabled).
pub const NOT_SET_UP: &str = "no destination configured";

/// One statement for all of a state change's rows, however many destinations it reaches:
/// every statement in a batch costs D1 a parse and a step, and intake writes up to a dozen rows.
pub fn insert_statements(db: &D1Database, request_id: &str, app_slug: &str, entries: &[OutboxEntry], now: i64) -> ApiResult<Vec<D1PreparedStatement>> {
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<[Option<&str>; 6]> = entries
        .iter()
        .map(|e| {
            let error = (e.state == Skipped).then_some(NOT_SET_UP);
            [Some(e.id.as_str()), Some(e.event.as_str()), Some(e.destination.as_str()), Some(e.payload.as_str()), Some(e.state.as_str()), error]
        })
        .collect();
    Ok(vec![statement(
        db,
        // A reminder's id is fixed per request, so two sweeps make one row.
        "INSERT INTO outbox (id, request_id, app_slug, event, destination, payload, state, last_error, created_at, updated_at)
         SELECT json_extract(value, '$[0]'), ?2, ?3, json_extract(value, '$[1]'), json_extract(value, '$[2]'), json_extract(value, '$[3]'),
                json_extract(value, '$[4]'), json_extract(value, '$[5]'), ?4, ?4
           FROM json_each(?1) WHERE true ON CONFLICT (id) DO NOTHING",
        &[serde_json::to_string(&rows)?.as_str().into(), request_id.into(), app_slug.into(), now.into()],
    )?])
}

#[derive(Debug, Clone, Deserialize)]
pub struct OutboxRow {
    pub id: String,
    pub request_id: String,
    pub app_slug: String,
    pub event: String,
    pub destination: String,
    pub payload: String,
    pub state: OutboxState,
    pub attempts: i64,
    pub created_at: i64,
}

/// A row to deliver with its app's settings for the row's destination (none when the creator
/// has not set it up).
pub type ForDelivery = (OutboxRow, Option<DestinationRow>);

/// What a queue batch delivers, read in one round trip: its rows, each with its destination's
/// settings, and their requests (the consumer renders the payload of a row intake wrote from
/// its request). A request with seven destinations has seven rows in the same batch, and is
/// read once instead of seven times.
pub struct DeliveryBatch {
    pub rows: std::collections::HashMap<String, ForDelivery>,
    pub requests: std::collections::HashMap<String, super::requests::RequestRow>,
}

pub async fn for_delivery(db: &D1Database, ids: &[&str]) -> ApiResult<DeliveryBatch> {
    #[derive(Deserialize)]
    struct Joined {
        id: String,
        request_id: String,
        app_slug: String,
        event: String,
        destination: String,
        payload: String,
        state: OutboxState,
        attempts: i64,
        created_at: i64,
        settings: Option<String>,
        enabled: Option<i64>,
    }
    let ids = serde_json::to_string(ids)?;
    let rows = statement(
        db,
        "SELECT o.id, o.request_id, o.app_slug, o.event, o.destination, o.payload, o.state, o.attempts, o.created_at, d.settings, d.enabled
           FROM outbox o LEFT JOIN destinations d ON d.app_slug = o.app_slug AND d.kind = o.destination
          WHERE o.id IN (SELECT value FROM json_each(?1))",
        &[ids.as_str().into()],
    )?;
    let requests = super::requests::of_outbox_rows_query(db, &ids)?;
    let results = super::read_together(db, vec![rows, requests]).await?;
    let (Some(rows), Some(requests)) = (results.first(), results.get(1)) else {
        return Err(crate::platform::error::ApiError::Internal("D1 answered a delivery batch's read without its results".into()));
    };
    let rows = rows
        .results::<Joined>()?
        .into_iter()
        .map(|j| {
            let destination = match (j.settings, j.enabled) {
                (Some(settings), Some(enabled)) => Some(DestinationRow { kind: j.destination.clone(), settings, enabled }),
                _ => None,
            };
            let row = OutboxRow {
                id: j.id,
                request_id: j.request_id,
                app_slug: j.app_slug,
                event: j.event,
                destination: j.destination,
                payload: j.payload,
                state: j.state,
                attempts: j.attempts,
                created_at: j.created_at,
            };
            (row.id.clone(), (row, destination))
        })
        .collect();
    let requests = requests.results::<super::requests::RequestRow>()?.into_iter().map(|r| (r.id.clone(), r)).collect();
    Ok(DeliveryBatch { rows, requests })
}

/// Unfinished rows no consumer is working on, oldest touch first (see `cron::outbox::sweep`):
/// committed but never attempted since `lost_before` (their queue send was lost), claimed
/// before `lost_before` by a consumer that never finished, or left untouched since
/// `stale_before`, longer than any retry the queue can hold (the retry's message was dropped).
/// Parked rows are touched each time they park again, so rows that were really lost come first.
/// Only unfinished rows are read (the state index), however many were delivered.
pub async fn to_sweep(db: &D1Database, lost_before: i64, stale_before: i64) -> ApiResult<Vec<String>> {
    ids(
        db,
        &format!(
            "SELECT id FROM outbox
              WHERE state IN ('{pending}', '{sending}')
                AND ((state = '{pending}' AND attempts = 0 AND updated_at <= ?1)
                  OR (state = '{sending}' AND claimed_at <= ?1)
                  OR (state = '{pending}' AND updated_at <= ?2))
              ORDER BY updated_at LIMIT 200",
            pending = Pending.as_str(),
            sending = Sending.as_str()
        ),
        &[lost_before.into(), stale_before.into()],
    )
    .await
}

/// Dead rows of an app (or one dead or skipped row) the creator may queue again.
pub async fn replayable(db: &D1Database, app_slug: &str, only: Option<&str>) -> ApiResult<Vec<String>> {
    match only {
        Some(id) => {
            ids(db, &format!("SELECT id FROM outbox WHERE app_slug = ? AND id = ? AND state IN ({})", replayable_states()), &[app_slug.into(), id.into()]).await
        }
        None => ids(db, &format!("SELECT id FROM outbox WHERE app_slug = ? AND state = '{}' LIMIT 500", Dead.as_str()), &[app_slug.into()]).await,
    }
}

/// Puts a dead or skipped row back to pending; false when it was not (someone else did).
pub async fn reopen(db: &D1Database, id: &str, now: i64) -> ApiResult<bool> {
    Ok(changes(
        db,
        &format!("UPDATE outbox SET state = '{}', claimed_at = NULL, updated_at = ? WHERE id = ? AND state IN ({})", Pending.as_str(), replayable_states()),
        &[now.into(), id.into()],
    )
    .await?
        == 1)
}

/// Finishes (or parks) a row without an attempt, keeping its last error unless a new one is
/// given, if no consumer holds it (the claim's predicate): a duplicate message's late verdict
/// must not overwrite a delivery in flight or done. False when someone else holds it.
pub async fn set_state(db: &D1Database, id: &str, state: OutboxState, error: Option<&str>, now: i64) -> ApiResult<bool> {
    Ok(changes(
        db,
        &format!(
            "UPDATE outbox SET state = ?1, last_error = COALESCE(?2, last_error), updated_at = ?3
              WHERE id = ?4 AND (state = '{pending}' OR (state = '{sending}' AND claimed_at < ?5))",
            pending = Pending.as_str(),
            sending = Sending.as_str()
        ),
        &[state.as_str().into(), error.into(), now.into(), id.into(), (now - CLAIM_LEASE_MS).into()],
    )
    .await?
        == 1)
}

/// A consumer's claim on a row lapses after this, so a crash mid-send cannot strand it.
pub const CLAIM_LEASE_MS: i64 = 60_000;

/// Claims a row for sending, so a duplicate message handled at the same moment cannot send it
/// too; a claim older than `CLAIM_LEASE_MS` has lapsed (its consumer died). With `rendered`, a row
/// that still holds the deferred payload `(held, rendered)` names stores `rendered` in the same
/// statement (see `payload::Deferred`). The payload the claimed row holds, which this attempt
/// sends; `None` when someone else holds the row.
pub async fn claim(db: &D1Database, id: &str, now: i64, rendered: Option<(&str, &str)>) -> ApiResult<Option<String>> {
    #[derive(Deserialize)]
    struct Claimed {
        payload: String,
    }
    let (held, rendered) = rendered.unzip();
    let claimed: Option<Claimed> = first(
        db,
        &format!(
            "UPDATE outbox SET state = '{sending}', claimed_at = ?1, payload = CASE WHEN ?4 IS NOT NULL AND payload = ?4 THEN ?5 ELSE payload END
              WHERE id = ?2 AND (state = '{pending}' OR (state = '{sending}' AND claimed_at < ?3)) RETURNING payload",
            sending = Sending.as_str(),
            pending = Pending.as_str()
        ),
        &[now.into(), id.into(), (now - CLAIM_LEASE_MS).into(), held.into(), rendered.into()],
    )
    .await?;
    Ok(claimed.map(|c| c.payload))
}

/// After an attempt: the row's new state, with the attempt's number and error. Written only
/// by the claim's holder (claimed at `a.at`): a consumer whose lease lapsed and was taken over
/// leaves the row to the one that took it.
pub fn after_attempt(db: &D1Database, a: &Attempt<'_>, state: OutboxState) -> ApiResult<D1PreparedStatement> {
    statement(
        db,
        &format!(
            "UPDATE outbox SET state = ?1, attempts = ?2, last_error = ?3, updated_at = ?4 WHERE id = ?5 AND state = '{}' AND claimed_at = ?4",
            Sending.as_str()
        ),
        &[state.as_str().into(), a.attempt.into(), a.error.into(), a.at.into(), a.outbox_id.into()],
    )
}

/// Delivered, by the holder of the claim made at `now` (as `after_attempt`).
pub fn delivered(db: &D1Database, id: &str, attempts: i64, now: i64) -> ApiResult<D1PreparedStatement> {
    statement(
        db,
        &format!(
            "UPDATE outbox SET state = '{}', attempts = ?1, last_error = NULL, delivered_at = ?2, updated_at = ?2 WHERE id = ?3 AND state = '{}' AND claimed_at = ?2",
            Delivered.as_str(),
            Sending.as_str()
        ),
        &[attempts.into(), now.into(), id.into()],
    )
}

/// A job that reached the dead-letter queue: its row is dead unless it finished meanwhile.
pub async fn mark_dead(db: &D1Database, id: &str, now: i64) -> ApiResult<()> {
    run(db, &format!("UPDATE outbox SET state = '{}', updated_at = ? WHERE id = ? AND state IN ({})", Dead.as_str(), unfinished()), &[now.into(), id.into()])
        .await
}

/// One attempt to deliver a row, as the delivery log shows it.
#[derive(Clone, Copy)]
pub struct Attempt<'a> {
    pub outbox_id: &'a str,
    pub attempt: i64,
    pub status: Option<u16>,
    pub error: Option<&'a str>,
    pub at: i64,
}

pub fn record_attempt(db: &D1Database, a: &Attempt<'_>) -> ApiResult<D1PreparedStatement> {
    statement(
        db,
        "INSERT INTO delivery_attempts (outbox_id, attempt, status, error, at) VALUES (?, ?, ?, ?, ?)",
        &[a.outbox_id.into(), a.attempt.into(), a.status.map(i64::from).into(), a.error.into(), a.at.into()],
    )
}

/// Whether the row's last attempt got no answer (so it may have made something).
pub async fn last_attempt_unanswered(db: &D1Database, outbox_id: &str) -> ApiResult<bool> {
    #[derive(Deserialize)]
    struct Last {
        status: Option<i64>,
    }
    let last: Option<Last> = first(db, "SELECT status FROM delivery_attempts WHERE outbox_id = ? ORDER BY attempt DESC LIMIT 1", &[outbox_id.into()]).await?;
    Ok(last.is_some_and(|l| l.status.is_none()))
}

/// Whether a delivery to the same destination for the same request was committed earlier and
/// is not done yet.
pub async fn earlier_unfinished(db: &D1Database, row: &OutboxRow) -> ApiResult<bool> {
    let earlier: Option<Value> = first(
        db,
        &format!("SELECT id FROM outbox WHERE request_id = ? AND destination = ? AND id != ? AND state IN ({}) AND (created_at < ? OR (created_at = ? AND rowid < (SELECT rowid FROM outbox WHERE id = ?))) LIMIT 1", unfinished()),
        &[row.request_id.as_str().into(), row.destination.as_str().into(), row.id.as_str().into(), row.created_at.into(), row.created_at.into(), row.id.as_str().into()],
    )
    .await?;
    Ok(earlier.is_some())
}

/// A request's rows for `destination` that were parked before their first attempt.
pub async fn parked(db: &D1Database, request_id: &str, destination: DestinationKind) -> ApiResult<Vec<String>> {
    ids(
        db,
        &format!("SELECT id FROM outbox WHERE request_id = ? AND destination = ? AND state = '{}' AND attempts = 0", Pending.as_str()),
        &[request_id.into(), destination.as_str().into()],
    )
    .await
}

/// What a destination made for a request (a Trello card's id), if it made one.
pub async fn target_ref(db: &D1Database, request_id: &str, kind: DestinationKind) -> ApiResult<Option<String>> {
    #[derive(Deserialize)]
    struct Ref {
        external_id: String,
    }
    let found: Option<Ref> =
        first(db, "SELECT external_id FROM target_refs WHERE request_id = ? AND kind = ?", &[request_id.into(), kind.as_str().into()]).await?;
    Ok(found.map(|r| r.external_id))
}

pub fn insert_target_ref(db: &D1Database, request_id: &str, kind: DestinationKind, external_id: &str, now: i64) -> ApiResult<D1PreparedStatement> {
    statement(
        db,
        "INSERT INTO target_refs (request_id, kind, external_id, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
        &[request_id.into(), kind.as_str().into(), external_id.into(), now.into()],
    )
}

/// A delivery as the creator's log shows it.
#[derive(Debug, Clone, Deserialize)]
pub struct DeliveryRow {
    pub id: String,
    pub request_id: String,
    pub event: String,
    pub destination: String,
    pub state: OutboxState,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub delivered_at: Option<i64>,
}

const DELIVERY_COLUMNS: &str = "id, request_id, event, destination, state, attempts, last_error, created_at, updated_at, delivered_at";

/// Which deliveries the creator's log lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryFilter {
    All,
    In(OutboxState),
    /// Still being retried after a failed attempt.
    Failing,
}

pub async fn deliveries(db: &D1Database, app_slug: &str, filter: DeliveryFilter) -> ApiResult<Vec<DeliveryRow>> {
    let select = format!("SELECT {DELIVERY_COLUMNS} FROM outbox WHERE app_slug = ?");
    const ORDER: &str = "ORDER BY created_at DESC, rowid DESC LIMIT 200";
    match filter {
        DeliveryFilter::All => all(db, &format!("{select} {ORDER}"), &[app_slug.into()]).await,
        DeliveryFilter::In(state) => all(db, &format!("{select} AND state = ? {ORDER}"), &[app_slug.into(), state.as_str().into()]).await,
        DeliveryFilter::Failing => all(db, &format!("{select} AND state IN ({}) AND attempts > 0 {ORDER}", unfinished()), &[app_slug.into()]).await,
    }
}

pub async fn delivery(db: &D1Database, app_slug: &str, id: &str) -> ApiResult<Option<DeliveryRow>> {
    first(db, &format!("SELECT {DELIVERY_COLUMNS} FROM outbox WHERE app_slug = ? AND id = ?"), &[app_slug.into(), id.into()]).await
}

#[derive(Debug, Clone, Deserialize)]
pub struct AttemptRow {
    pub attempt: i64,
    pub status: Option<i64>,
    pub error: Option<String>,
    pub at: i64,
}

pub async fn attempts(db: &D1Database, outbox_id: &str) -> ApiResult<Vec<AttemptRow>> {
    all(db, "SELECT attempt, status, error, at FROM delivery_attempts WHERE outbox_id = ? ORDER BY attempt", &[outbox_id.into()]).await
}

/// A request's deliveries, for its dispute evidence.
pub async fn for_request(db: &D1Database, request_id: &str) -> ApiResult<Vec<Value>> {
    all(db, "SELECT o.id, o.destination, o.event, o.state, o.attempts, o.delivered_at, o.created_at FROM outbox o WHERE o.request_id = ? ORDER BY o.created_at, o.rowid", &[request_id.into()]).await
}
