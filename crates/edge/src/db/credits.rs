//! Fans and their credits: `fans` (a fan token, stored as a hash), the append-only
//! `credit_ledger` (every entry has a unique reference, so nothing credits or spends twice)
//! and `credit_purchases` (packs bought through Checkout); `fan_links` ties a sign-in identity
//! (a Twitch viewer) to a fan.

use super::{all, creators::hash_token, first, statement, Arg};
use crate::platform::config::now_ms;
use crate::platform::error::ApiResult;
use fanline_core::money::purchase::PurchaseStatus::{self, AwaitingPayment, Expired, Paid, Refunded};
use serde::Deserialize;
use worker::{D1Database, D1PreparedStatement};

#[derive(Debug, Clone, Deserialize)]
pub struct Fan {
    pub id: String,
}

pub async fn fan_by_token(db: &D1Database, token: &str) -> ApiResult<Option<Fan>> {
    first(db, "SELECT id FROM fans WHERE token_hash = ?", &[hash_token(token).as_str().into()]).await
}

pub fn insert_fan(db: &D1Database, fan_id: &str, token: &str, email: Option<&str>) -> ApiResult<D1PreparedStatement> {
    statement(
        db,
        "INSERT INTO fans (id, token_hash, email, created_at) VALUES (?, ?, ?, ?)",
        &[fan_id.into(), hash_token(token).as_str().into(), email.into(), now_ms().into()],
    )
}

/// One change to a fan's balance at one app.
pub struct LedgerEntry<'a> {
    pub fan_id: &'a str,
    pub app_slug: &'a str,
    pub delta: i64,
    pub reason: &'a str,
    /// Unique: replaying the same purchase, spend or return changes nothing.
    pub reference: &'a str,
}

/// Its seq and balance come from the fan's latest entry inside the same statement, so
/// concurrent writers serialise in D1 and the CHECK keeps the balance >= 0.
pub fn ledger_entry(db: &D1Database, e: &LedgerEntry) -> ApiResult<D1PreparedStatement> {
    statement(
        db,
        "INSERT INTO credit_ledger (fan_id, app_slug, seq, delta, balance, reason, reference, at)
         SELECT ?1, ?2, COALESCE(MAX(seq), 0) + 1, ?3,
                COALESCE((SELECT balance FROM credit_ledger WHERE fan_id = ?1 AND app_slug = ?2 ORDER BY seq DESC LIMIT 1), 0) + ?3,
                ?4, ?5, ?6
         FROM credit_ledger WHERE fan_id = ?1 AND app_slug = ?2",
        &[e.fan_id.into(), e.app_slug.into(), Arg::Int(e.delta), e.reason.into(), e.reference.into(), now_ms().into()],
    )
}

pub async fn balance(db: &D1Database, fan_id: &str, app_slug: &str) -> ApiResult<i64> {
    #[derive(Deserialize)]
    struct Balance {
        balance: i64,
    }
    let latest = first::<Balance>(
        db,
        "SELECT balance FROM credit_ledger WHERE fan_id = ? AND app_slug = ? ORDER BY seq DESC LIMIT 1",
        &[fan_id.into(), app_slug.into()],
    )
    .await?;
    Ok(latest.map_or(0, |b| b.balance))
}

#[derive(Debug, Clone, Deserialize)]
pub struct LedgerRow {
    pub seq: i64,
    pub delta: i64,
    pub balance: i64,
    pub reason: String,
    pub reference: String,
    pub at: i64,
}

pub async fn ledger(db: &D1Database, fan_id: &str, app_slug: &str) -> ApiResult<Vec<LedgerRow>> {
    all(
        db,
        "SELECT seq, delta, balance, reason, reference, at FROM credit_ledger WHERE fan_id = ? AND app_slug = ? ORDER BY seq",
        &[fan_id.into(), app_slug.into()],
    )
    .await
}

#[derive(Debug, Clone, Deserialize)]
pub struct PurchaseRow {
    pub id: String,
    pub fan_id: String,
    pub app_slug: String,
    pub pack: String,
    pub credits: i64,
    pub amount: i64,
    pub currency: String,
    pub status: PurchaseStatus,
    pub checkout_session_id: Option<String>,
    pub created_at: i64,
}

const PURCHASE_COLUMNS: &str = "id, fan_id, app_slug, pack, credits, amount, currency, status, checkout_session_id, created_at";

/// A pack purchase waiting for its Checkout Session to be paid.
pub struct NewPurchase<'a> {
    pub id: &'a str,
    pub fan_id: &'a str,
    pub app_slug: &'a str,
    pub pack: &'a str,
    pub credits: u32,
    pub amount: u64,
    pub currency: &'a str,
    pub checkout_session_id: &'a str,
    pub checkout_url: &'a str,
}

pub fn insert_purchase(db: &D1Database, p: &NewPurchase, now: i64) -> ApiResult<D1PreparedStatement> {
    statement(
        db,
        &format!(
            "INSERT INTO credit_purchases (id, fan_id, app_slug, pack, credits, amount, currency, status, checkout_session_id, checkout_url, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, '{}', ?, ?, ?, ?)",
            AwaitingPayment.as_str()
        ),
        &[
            p.id.into(),
            p.fan_id.into(),
            p.app_slug.into(),
            p.pack.into(),
            i64::from(p.credits).into(),
            (p.amount as i64).into(),
            p.currency.into(),
            p.checkout_session_id.into(),
            p.checkout_url.into(),
            now.into(),
            now.into(),
        ],
    )
}

pub async fn purchase(db: &D1Database, id: &str) -> ApiResult<Option<PurchaseRow>> {
    first(db, &format!("SELECT {PURCHASE_COLUMNS} FROM credit_purchases WHERE id = ?"), &[id.into()]).await
}

pub async fn purchase_by_payment_intent(db: &D1Database, payment_intent: &str) -> ApiResult<Option<PurchaseRow>> {
    first(db, &format!("SELECT {PURCHASE_COLUMNS} FROM credit_purchases WHERE payment_intent_id = ?"), &[payment_intent.into()]).await
}

pub async fn purchases(db: &D1Database, fan_id: &str, app_slug: &str) -> ApiResult<Vec<PurchaseRow>> {
    all(
        db,
        &format!("SELECT {PURCHASE_COLUMNS} FROM credit_purchases WHERE fan_id = ? AND app_slug = ? ORDER BY created_at"),
        &[fan_id.into(), app_slug.into()],
    )
    .await
}

pub fn purchase_expired(db: &D1Database, id: &str, now: i64) -> ApiResult<D1PreparedStatement> {
    statement(
        db,
        &format!("UPDATE credit_purchases SET status = '{}', updated_at = ? WHERE id = ? AND status = '{}'", Expired.as_str(), AwaitingPayment.as_str()),
        &[now.into(), id.into()],
    )
}

pub fn purchase_paid(db: &D1Database, id: &str, payment_intent: Option<&str>, now: i64) -> ApiResult<D1PreparedStatement> {
    statement(
        db,
        &format!(
            "UPDATE credit_purchases SET status = '{}', payment_intent_id = ?, updated_at = ? WHERE id = ? AND status = '{}'",
            Paid.as_str(),
            AwaitingPayment.as_str()
        ),
        &[payment_intent.into(), now.into(), id.into()],
    )
}

pub fn purchase_refunded(db: &D1Database, id: &str, now: i64) -> ApiResult<D1PreparedStatement> {
    statement(db, &format!("UPDATE credit_purchases SET status = '{}', updated_at = ? WHERE id = ?", Refunded.as_str()), &[now.into(), id.into()])
}

/// The fan a sign-in identity (`twitch:<id>`) is linked to, if any.
pub async fn linked_fan(db: &D1Database, identity_key: &str) -> ApiResult<Option<Fan>> {
    first(db, "SELECT fan_id AS id FROM fan_links WHERE identity_key = ?", &[identity_key.into()]).await
}

/// Links the identity to the fan (a later link moves it to the newer fan).
pub async fn link_fan(db: &D1Database, identity_key: &str, fan_id: &str, now: i64) -> ApiResult<()> {
    super::run(
        db,
        "INSERT INTO fan_links (identity_key, fan_id, linked_at) VALUES (?, ?, ?) ON CONFLICT (identity_key) DO UPDATE SET fan_id = excluded.fan_id, linked_at = excluded.linked_at",
        &[identity_key.into(), fan_id.into(), now.into()],
    )
    .await
}

pub async fn unlink_fan(db: &D1Database, identity_key: &str, fan_id: &str) -> ApiResult<bool> {
    Ok(super::changes(db, "DELETE FROM fan_links WHERE identity_key = ? AND fan_id = ?", &[identity_key.into(), fan_id.into()]).await? > 0)
}

/// Every link to the fan goes (erasing the fan's data).
pub async fn forget_links(db: &D1Database, fan_id: &str) -> ApiResult<()> {
    super::run(db, "DELETE FROM fan_links WHERE fan_id = ?", &[fan_id.into()]).await
}
