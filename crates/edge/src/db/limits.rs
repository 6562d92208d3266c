//! Intake limits kept in D1: `app_limits` (the creator's own), the `intake_guards` row whose
//! named CHECKs refuse an intake batch past a quota or planned on a stale app context, the creator's `blocklist`, and `mail_log`
//! (mail to addresses fans typed, counted per address).

use super::{all, changes, count, first, first_of, run, statement, Arg};
use crate::platform::error::ApiResult;
use fanline_core::lifecycle::{groups, sql_list, Status};
use fanline_core::manifest::Limits;
use fanline_core::trust::client::BlockKind;
use serde::Deserialize;
use worker::{D1Database, D1PreparedStatement, D1Result};

/// Requests a fan still waits on (the one `?` is the start of the payment window).
fn open_requests() -> String {
    format!("(status IN ({}) OR (status = '{}' AND created_at > ?))", sql_list(groups::OPEN), Status::AwaitingPayment.as_str())
}

/// Requests in the creator's queue or reserving a place in it while their payment is under
/// way, which the capacity bounds (`?` as above).
pub(crate) fn in_queue() -> String {
    format!("(status IN ({}) OR (status = '{}' AND created_at > ?))", sql_list(groups::IN_QUEUE), Status::AwaitingPayment.as_str())
}

/// The creator's limits, when set.
pub async fn app_limits(db: &D1Database, app_slug: &str) -> ApiResult<Option<Limits>> {
    Ok(first::<LimitsRow>(db, "SELECT max_open_per_fan, max_per_fan_per_day, capacity FROM app_limits WHERE app_slug = ?", &[app_slug.into()])
        .await?
        .map(LimitsRow::limits))
}

/// The creator's limits on the app a request was made at, as a query for `read_together`;
/// `app_limits_of` reads its result.
pub fn app_limits_of_request_query(db: &D1Database, request_id: &str) -> ApiResult<D1PreparedStatement> {
    statement(
        db,
        "SELECT max_open_per_fan, max_per_fan_per_day, capacity FROM app_limits WHERE app_slug = (SELECT app_slug FROM requests WHERE id = ?)",
        &[request_id.into()],
    )
}

pub fn app_limits_of(result: &D1Result) -> ApiResult<Option<Limits>> {
    Ok(first_of::<LimitsRow>(result)?.map(LimitsRow::limits))
}

#[derive(Deserialize)]
struct LimitsRow {
    max_open_per_fan: Option<i64>,
    max_per_fan_per_day: Option<i64>,
    capacity: Option<i64>,
}

impl LimitsRow {
    fn limits(self) -> Limits {
        let n = |v: Option<i64>| v.map(|v| v.clamp(0, i64::from(u32::MAX)) as u32);
        Limits { max_open_per_fan: n(self.max_open_per_fan), max_per_fan_per_day: n(self.max_per_fan_per_day), capacity: n(self.capacity) }
    }
}

pub async fn set_app_limits(db: &D1Database, app_slug: &str, limits: &Limits, now: i64) -> ApiResult<()> {
    let n = |v: Option<u32>| v.map_or(Arg::Null, |v| Arg::Int(i64::from(v)));
    run(
        db,
        "INSERT INTO app_limits (app_slug, max_open_per_fan, max_per_fan_per_day, capacity, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (app_slug) DO UPDATE SET max_open_per_fan = excluded.max_open_per_fan, max_per_fan_per_day = excluded.max_per_fan_per_day,
           capacity = excluded.capacity, updated_at = excluded.updated_at",
        &[app_slug.into(), n(limits.max_open_per_fan), n(limits.max_per_fan_per_day), n(limits.capacity), now.into()],
    )
    .await
}

pub async fn reset_app_limits(db: &D1Database, app_slug: &str) -> ApiResult<()> {
    run(db, "DELETE FROM app_limits WHERE app_slug = ?", &[app_slug.into()]).await
}

/// What the intake guards count for one submission.
pub struct GuardScope<'a> {
    pub app_slug: &'a str,
    pub fan_key: &'a str,
    /// Unpaid requests older than this no longer hold a place.
    pub payment_window_start: i64,
    pub day_start: i64,
}

/// A guard's verdict as an SQL expression (1: the batch may go on), its `?` bound in order.
pub struct Verdict<'a> {
    pub sql: String,
    pub args: Vec<Arg<'a>>,
}

/// The one statement that refuses the intake batch when a limit would be passed or `context`
/// (the app context intake planned on) is no longer current; it goes before the request's
/// INSERT, so counts exclude it. None when nothing needs guarding.
pub fn guards<'a>(db: &D1Database, scope: &GuardScope<'a>, limits: &Limits, context: Option<Verdict<'a>>) -> ApiResult<Option<D1PreparedStatement>> {
    let (mut columns, mut values, mut args) = (Vec::new(), Vec::new(), Vec::new());
    if let Some(v) = context {
        columns.push("app_context");
        values.push(v.sql);
        args.extend(v.args);
    }
    if let Some(max) = limits.max_open_per_fan {
        columns.push("open_quota");
        values.push(format!("(SELECT COUNT(*) FROM requests WHERE app_slug = ? AND fan_key = ? AND {}) < ?", open_requests()));
        args.extend([scope.app_slug.into(), scope.fan_key.into(), scope.payment_window_start.into(), i64::from(max).into()]);
    }
    if let Some(max) = limits.max_per_fan_per_day {
        columns.push("daily_quota");
        values.push("(SELECT COUNT(*) FROM requests WHERE app_slug = ? AND fan_key = ? AND created_at >= ?) < ?".to_string());
        args.extend([scope.app_slug.into(), scope.fan_key.into(), scope.day_start.into(), i64::from(max).into()]);
    }
    if let Some(max) = limits.capacity {
        columns.push("capacity");
        values.push(format!("(SELECT COUNT(*) FROM requests WHERE app_slug = ? AND {}) < ?", in_queue()));
        args.extend([scope.app_slug.into(), scope.payment_window_start.into(), i64::from(max).into()]);
    }
    if columns.is_empty() {
        return Ok(None);
    }
    let sql = format!("INSERT INTO intake_guards (slot, {}) SELECT 1, {} WHERE true ON CONFLICT (slot) DO NOTHING", columns.join(", "), values.join(", "));
    Ok(Some(statement(db, &sql, &args)?))
}

/// Requests in the queue or holding a place in it, besides `except` (the same count the
/// capacity guard makes).
pub async fn in_queue_count(db: &D1Database, app_slug: &str, payment_window_start: i64, except: Option<&str>) -> ApiResult<i64> {
    count(
        db,
        &format!("SELECT COUNT(*) AS n FROM requests WHERE app_slug = ? AND id != ? AND {}", in_queue()),
        &[app_slug.into(), except.unwrap_or("").into(), payment_window_start.into()],
    )
    .await
}

/// Who a submission comes from, as block-list entries name them.
pub struct Sender<'a> {
    pub ip: &'a str,
    /// The address's /64 for IPv6 (the client owns all of it).
    pub ip_key: &'a str,
    pub email: Option<&'a str>,
    pub fan_id: Option<&'a str>,
    /// The signed-in (or relayed) identity's key, `twitch:<id>`: a `fan` entry may name it.
    pub identity: Option<&'a str>,
}

/// One entry of a creator's block list, its value already canonical.
pub struct BlockEntry<'a> {
    pub kind: BlockKind,
    pub value: &'a str,
    pub reason: Option<&'a str>,
}

/// Adds or re-reasons an entry; answers when it was first blocked.
pub async fn block(db: &D1Database, creator_id: &str, e: &BlockEntry<'_>, now: i64) -> ApiResult<i64> {
    #[derive(Deserialize)]
    struct Since {
        created_at: i64,
    }
    let since = first::<Since>(
        db,
        "INSERT INTO blocklist (creator_id, kind, value, reason, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (creator_id, kind, value) DO UPDATE SET reason = excluded.reason RETURNING created_at",
        &[creator_id.into(), e.kind.as_str().into(), e.value.into(), e.reason.into(), now.into()],
    )
    .await?;
    Ok(since.map_or(now, |s| s.created_at))
}

/// Removes an entry; false when there was none.
pub async fn unblock(db: &D1Database, creator_id: &str, e: &BlockEntry<'_>) -> ApiResult<bool> {
    Ok(changes(db, "DELETE FROM blocklist WHERE creator_id = ? AND kind = ? AND value = ?", &[creator_id.into(), e.kind.as_str().into(), e.value.into()])
        .await?
        > 0)
}

/// An entry of the creator's block list as stored.
#[derive(Deserialize)]
pub struct BlockedRow {
    pub kind: String,
    pub value: String,
    pub reason: Option<String>,
    pub created_at: i64,
}

pub async fn blocklist(db: &D1Database, creator_id: &str) -> ApiResult<Vec<BlockedRow>> {
    all(db, "SELECT kind, value, reason, created_at FROM blocklist WHERE creator_id = ? ORDER BY created_at", &[creator_id.into()]).await
}

/// Mail of `kind` sent to `address` since `since`.
pub async fn mail_sent(db: &D1Database, address: &str, kind: &str, since: i64) -> ApiResult<i64> {
    count(db, "SELECT COUNT(*) AS n FROM mail_log WHERE address = ? AND kind = ? AND at > ?", &[address.into(), kind.into(), since.into()]).await
}

pub fn log_mail(db: &D1Database, address: &str, kind: &str, now: i64) -> ApiResult<D1PreparedStatement> {
    statement(db, "INSERT INTO mail_log (address, kind, at) VALUES (?, ?, ?)", &[address.into(), kind.into(), now.into()])
}

/// Forgets mail sent before `before`; budgets only look back an hour.
pub async fn prune_mail_log(db: &D1Database, before: i64) -> ApiResult<usize> {
    changes(db, "DELETE FROM mail_log WHERE at < ?", &[before.into()]).await
}
