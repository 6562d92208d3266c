//! D1, and all of Fanline's SQL: one module per table or aggregate, each with its row types.
//! Writes that belong together go through one `commit` (one D1 batch, one transaction); a
//! refusal comes back typed by the constraint that made it, a unique-key conflict as a
//! `Conflict` the caller answers from what is there.

pub mod api_keys;
pub mod app_lifecycle;
pub mod apps;
pub mod auctions;
pub mod channel_tokens;
pub mod console_sessions;
pub mod creators;
pub mod credits;
pub mod destinations;
pub mod export;
pub mod intake;
pub mod kpis;
pub mod limits;
pub mod logins;
pub mod memberships;
pub mod outbox;
pub mod overlay_tokens;
pub mod provider_events;
pub mod ratings;
pub mod requests;
pub mod subscriptions;
pub mod twitch;
pub mod youtube;

use crate::platform::error::{ApiError, ApiResult};
use crate::platform::meter;
use serde::Deserialize;
use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement, D1Result, Env};

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
impl From<Option<i64>> for Arg<'_> {
    fn from(n: Option<i64>) -> Self {
        n.map_or(Arg::Null, Arg::Int)
    }
}

pub(crate) fn statement(db: &D1Database, sql: &str, args: &[Arg]) -> ApiResult<D1PreparedStatement> {
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

pub(crate) async fn first<T: for<'de> Deserialize<'de>>(db: &D1Database, sql: &str, args: &[Arg<'_>]) -> ApiResult<Option<T>> {
    meter::d1_round_trip();
    Ok(statement(db, sql, args)?.first::<T>(None).await?)
}

/// Several reads in one round trip (a D1 batch of queries), their results in order; each
/// query's module reads its own result back.
pub async fn read_together(db: &D1Database, queries: Vec<D1PreparedStatement>) -> ApiResult<Vec<D1Result>> {
    if queries.is_empty() {
        return Ok(Vec::new());
    }
    meter::d1_round_trip();
    Ok(db.batch(queries).await?)
}

/// The first row of one result of `read_together`.
pub fn first_of<T: for<'de> Deserialize<'de>>(result: &D1Result) -> ApiResult<Option<T>> {
    Ok(result.results::<T>()?.into_iter().next())
}

pub(crate) async fn all<T: for<'de> Deserialize<'de>>(db: &D1Database, sql: &str, args: &[Arg<'_>]) -> ApiResult<Vec<T>> {
    meter::d1_round_trip();
    Ok(statement(db, sql, args)?.all().await?.results::<T>()?)
}

pub(crate) async fn run(db: &D1Database, sql: &str, args: &[Arg<'_>]) -> ApiResult<()> {
    changes(db, sql, args).await.map(|_| ())
}

/// Runs a write and returns how many rows it changed.
pub(crate) async fn changes(db: &D1Database, sql: &str, args: &[Arg<'_>]) -> ApiResult<usize> {
    meter::d1_round_trip();
    let result = statement(db, sql, args)?.run().await?;
    Ok(result.meta()?.and_then(|m| m.changes).unwrap_or(0))
}

#[derive(Deserialize)]
struct Count {
    n: i64,
}

/// `SELECT COUNT(*) AS n ...`
pub(crate) async fn count(db: &D1Database, sql: &str, args: &[Arg<'_>]) -> ApiResult<i64> {
    Ok(first::<Count>(db, sql, args).await?.map_or(0, |c| c.n))
}

/// The `n` of one `SELECT COUNT(*) AS n ...` result of `read_together`.
pub fn count_of(result: &D1Result) -> ApiResult<i64> {
    Ok(first_of::<Count>(result)?.map_or(0, |c| c.n))
}

/// Just the ids a query finds.
pub(crate) async fn ids(db: &D1Database, sql: &str, args: &[Arg<'_>]) -> ApiResult<Vec<String>> {
    #[derive(Deserialize)]
    struct Id {
        id: String,
    }
    Ok(all::<Id>(db, sql, args).await?.into_iter().map(|r| r.id).collect())
}

/// The CHECK constraint that refused a batch, by its name in schema.sql.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Constraint {
    /// `intake_guards.app_context`: the app context intake planned on changed meanwhile.
    AppContext,
    /// `intake_guards.open_quota`: the fan has as many open requests as the app allows.
    OpenQuota,
    /// `intake_guards.daily_quota`: the fan sent as many requests today as the app allows.
    DailyQuota,
    /// `intake_guards.capacity`: the creator's queue is full.
    Capacity,
    /// `credit_ledger.balance >= 0`: not enough credits.
    CreditBalance,
    Other(String),
}

impl Constraint {
    fn from_message(message: &str) -> Self {
        let name = message.split("CHECK constraint failed: ").nth(1).unwrap_or("");
        let name = name.split([':', ')', '\n']).next().unwrap_or("").trim();
        match name {
            "app_context" => Self::AppContext,
            "open_quota" => Self::OpenQuota,
            "daily_quota" => Self::DailyQuota,
            "capacity" => Self::Capacity,
            "balance >= 0" => Self::CreditBalance,
            _ => Self::Other(message.to_string()),
        }
    }
}

/// How a batch ended. A unique-key conflict means someone else wrote first (a duplicate
/// webhook, a retried submission, a concurrent state change): callers re-read and answer
/// from what is there.
#[derive(Debug)]
pub enum BatchOutcome {
    Committed,
    Conflict(String),
    Refused(Constraint),
}

pub async fn commit(db: &D1Database, statements: Vec<D1PreparedStatement>) -> ApiResult<BatchOutcome> {
    // D1 refuses an empty batch ("No SQL statements detected"); nothing to write is written.
    if statements.is_empty() {
        return Ok(BatchOutcome::Committed);
    }
    meter::d1_round_trip();
    match db.batch(statements).await {
        Ok(_) => Ok(BatchOutcome::Committed),
        Err(e) => {
            let message = e.to_string();
            if message.contains("UNIQUE constraint failed") || message.contains("PRIMARY KEY") {
                Ok(BatchOutcome::Conflict(message))
            } else if message.contains("CHECK constraint failed") {
                Ok(BatchOutcome::Refused(Constraint::from_message(&message)))
            } else {
                Err(ApiError::Internal(format!("D1 batch: {message}")))
            }
        }
    }
}

/// A batch that only records or updates: a conflict or refusal there is a bug, not a race.
pub async fn commit_all(db: &D1Database, statements: Vec<D1PreparedStatement>) -> ApiResult<()> {
    match commit(db, statements).await? {
        BatchOutcome::Committed => Ok(()),
        other => Err(ApiError::Internal(format!("a batch that cannot conflict did: {other:?}"))),
    }
}
