//! `auctions`, and the bids on one (requests of the auction app whose payment is held).

use super::{all, changes, first, run, statement};
use crate::platform::error::ApiResult;
use fanline_core::lifecycle::{groups, sql_list, Status};
use fanline_core::money::auction::AuctionStatus::{Closed, Closing, Open};
use fanline_core::money::auction::{AuctionStatus, Bid};
use serde::Deserialize;
use worker::{D1Database, D1PreparedStatement};

#[derive(Debug, Clone, Deserialize)]
pub struct AuctionRow {
    pub id: String,
    pub app_slug: String,
    pub title: String,
    pub slots: i64,
    pub ends_at: i64,
    pub scheduled_end: Option<i64>,
    pub status: AuctionStatus,
}

impl AuctionRow {
    pub fn is_open(&self) -> bool {
        self.status == Open
    }
}

const COLUMNS: &str = "id, app_slug, title, slots, ends_at, scheduled_end, status";

pub async fn get(db: &D1Database, id: &str) -> ApiResult<Option<AuctionRow>> {
    first(db, &format!("SELECT {COLUMNS} FROM auctions WHERE id = ?"), &[id.into()]).await
}

pub async fn list(db: &D1Database, app_slug: &str) -> ApiResult<Vec<AuctionRow>> {
    all(db, &format!("SELECT {COLUMNS} FROM auctions WHERE app_slug = ? ORDER BY created_at DESC LIMIT 50"), &[app_slug.into()]).await
}

pub struct NewAuction<'a> {
    pub id: &'a str,
    pub app_slug: &'a str,
    pub title: &'a str,
    pub slots: i64,
    pub ends_at: i64,
}

pub async fn insert(db: &D1Database, a: &NewAuction<'_>, now: i64) -> ApiResult<()> {
    run(
        db,
        &format!(
            "INSERT INTO auctions (id, app_slug, title, slots, ends_at, scheduled_end, status, created_at) VALUES (?, ?, ?, ?, ?, ?, '{}', ?)",
            Open.as_str()
        ),
        &[a.id.into(), a.app_slug.into(), a.title.into(), a.slots.into(), a.ends_at.into(), a.ends_at.into(), now.into()],
    )
    .await
}

/// Moves an open auction's end back to `ends_at` (never forward).
pub fn extend(db: &D1Database, id: &str, ends_at: i64) -> ApiResult<D1PreparedStatement> {
    statement(db, &format!("UPDATE auctions SET ends_at = MAX(ends_at, ?) WHERE id = ? AND status = '{}'", Open.as_str()), &[ends_at.into(), id.into()])
}

/// How many bids the creator took on, against the auction's slots.
pub async fn taken_slots(db: &D1Database, id: &str) -> ApiResult<Option<(AuctionRow, i64)>> {
    let Some(row) = get(db, id).await? else { return Ok(None) };
    let taken =
        super::count(db, &format!("SELECT COUNT(*) AS n FROM requests WHERE auction_id = ? AND status IN ({})", sql_list(groups::TAKEN_ON)), &[id.into()])
            .await?;
    Ok(Some((row, taken)))
}

/// Auctions to close at `now`: open ones past their end, and closes left half-done by a
/// closer whose lease (claimed before `lease_start`) lapsed.
pub async fn due(db: &D1Database, now: i64, lease_start: i64) -> ApiResult<Vec<AuctionRow>> {
    all(
        db,
        &format!(
            "SELECT {COLUMNS} FROM auctions WHERE (status = '{open}' AND ends_at <= ?) OR (status = '{closing}' AND closed_at <= ?) LIMIT 20",
            open = Open.as_str(),
            closing = Closing.as_str()
        ),
        &[now.into(), lease_start.into()],
    )
    .await
}

/// One closer wins the claim (a conditional UPDATE).
pub async fn claim_close(db: &D1Database, id: &str, now: i64, lease_start: i64) -> ApiResult<bool> {
    Ok(changes(
        db,
        &format!("UPDATE auctions SET status = '{closing}', closed_at = ? WHERE id = ? AND ((status = '{open}' AND ends_at <= ?) OR (status = '{closing}' AND closed_at <= ?))", open = Open.as_str(), closing = Closing.as_str()),
        &[now.into(), id.into(), now.into(), lease_start.into()],
    )
    .await?
        == 1)
}

pub async fn closed(db: &D1Database, id: &str) -> ApiResult<()> {
    run(db, &format!("UPDATE auctions SET status = '{}' WHERE id = ?", Closed.as_str()), &[id.into()]).await
}

/// Bids whose payment is held (the only ones that count), in `statuses`.
pub async fn held_bids(db: &D1Database, auction_id: &str, statuses: &[Status]) -> ApiResult<Vec<Bid>> {
    #[derive(Deserialize)]
    struct Row {
        id: String,
        amount: i64,
        created_at: i64,
    }
    let sql =
        format!("SELECT id, amount, created_at FROM requests WHERE auction_id = ? AND payment_intent_id IS NOT NULL AND status IN ({})", sql_list(statuses));
    let rows: Vec<Row> = all(db, &sql, &[auction_id.into()]).await?;
    Ok(rows.into_iter().map(|r| Bid { id: r.id, amount: r.amount.max(0) as u64, placed_at: r.created_at }).collect())
}

/// Bids still at checkout: `(request id, Checkout Session id)`.
pub async fn unpaid_bids(db: &D1Database, auction_id: &str) -> ApiResult<Vec<(String, Option<String>)>> {
    #[derive(Deserialize)]
    struct Unpaid {
        id: String,
        checkout_session_id: Option<String>,
    }
    let rows: Vec<Unpaid> = all(
        db,
        "SELECT id, checkout_session_id FROM requests WHERE auction_id = ? AND status = ?",
        &[auction_id.into(), Status::AwaitingPayment.as_str().into()],
    )
    .await?;
    Ok(rows.into_iter().map(|u| (u.id, u.checkout_session_id)).collect())
}
