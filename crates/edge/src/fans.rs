//! Fans who come back: a fan token (shown once, kept by the fan or their browser) ties credit
//! packs and subscriber tiers to one person without an account. Only its hash is stored.

use crate::error::{ApiError, ApiResult};
use crate::http::header;
use crate::platform::{now_ms, random};
use crate::store::{self, Arg};
use fanline_core::ids;
use fanline_core::manifest::{Manifest, Tier};
use serde::Deserialize;
use worker::{D1Database, D1PreparedStatement, Request};

pub const TOKEN_HEADER: &str = "Fan-Token";

#[derive(Debug, Clone, Deserialize)]
pub struct Fan {
    pub id: String,
}

/// A fan made on first purchase, with the token to hand back exactly once.
pub struct NewFan {
    pub fan: Fan,
    pub token: String,
    pub insert: D1PreparedStatement,
}

/// The fan named by the `Fan-Token` header: `None` without one, an error with a wrong one
/// (a typo must not silently become "no discount").
pub async fn from_request(req: &Request, db: &D1Database) -> ApiResult<Option<Fan>> {
    let Some(token) = header(req, TOKEN_HEADER).map(|t| t.trim().to_string()).filter(|t| !t.is_empty()) else { return Ok(None) };
    let fan = store::first::<Fan>(db, "SELECT id FROM fans WHERE token_hash = ?", &[store::hash_api_key(&token).as_str().into()]).await?;
    fan.map(Some).ok_or_else(|| ApiError::FanTokenRequired("The Fan-Token is not known here; use the token you got with your first purchase.".into()))
}

pub async fn required(req: &Request, db: &D1Database, what: &str) -> ApiResult<Fan> {
    from_request(req, db).await?.ok_or_else(|| ApiError::FanTokenRequired(format!("{what} needs your Fan-Token header (you got it with your first credit pack or tier).")))
}

/// The caller's fan, or a new one whose row commits with the purchase that made it.
pub async fn existing_or_new(req: &Request, db: &D1Database, email: Option<&str>) -> ApiResult<(Fan, Option<NewFan>)> {
    if let Some(fan) = from_request(req, db).await? {
        return Ok((fan, None));
    }
    let fan = Fan { id: ids::token("fan_", &random::<12>()) };
    let token = ids::token("ft_", &random::<24>());
    let insert = store::statement(
        db,
        "INSERT INTO fans (id, token_hash, email, created_at) VALUES (?, ?, ?, ?)",
        &[fan.id.as_str().into(), store::hash_api_key(&token).as_str().into(), email.into(), now_ms().into()],
    )?;
    Ok((fan.clone(), Some(NewFan { fan, token, insert })))
}

/// The tier the fan's live subscription at this app grants now, if any.
pub async fn active_tier<'m>(db: &D1Database, manifest: &'m Manifest, fan: &Fan) -> ApiResult<Option<&'m Tier>> {
    #[derive(Deserialize)]
    struct Live {
        tier: String,
    }
    let live = store::all::<Live>(
        db,
        "SELECT tier FROM subscriptions WHERE fan_id = ? AND app_slug = ? AND status IN ('active', 'trialing') AND current_period_end > ? ORDER BY current_period_end DESC",
        &[fan.id.as_str().into(), manifest.slug.as_str().into(), (now_ms() / 1000).into()],
    )
    .await?;
    Ok(live.iter().find_map(|l| manifest.tier(&l.tier)))
}

/// One ledger entry. Its seq and balance come from the fan's latest entry inside the same
/// statement, so concurrent writers serialise in D1 and the CHECK keeps the balance >= 0.
/// `reference` is unique: replaying the same purchase, spend or return changes nothing.
pub fn ledger_entry(db: &D1Database, fan_id: &str, app_slug: &str, delta: i64, reason: &str, reference: &str) -> ApiResult<D1PreparedStatement> {
    store::statement(
        db,
        "INSERT INTO credit_ledger (fan_id, app_slug, seq, delta, balance, reason, reference, at)
         SELECT ?1, ?2, COALESCE(MAX(seq), 0) + 1, ?3,
                COALESCE((SELECT balance FROM credit_ledger WHERE fan_id = ?1 AND app_slug = ?2 ORDER BY seq DESC LIMIT 1), 0) + ?3,
                ?4, ?5, ?6
         FROM credit_ledger WHERE fan_id = ?1 AND app_slug = ?2",
        &[fan_id.into(), app_slug.into(), Arg::Int(delta), reason.into(), reference.into(), now_ms().into()],
    )
}

pub async fn balance(db: &D1Database, fan_id: &str, app_slug: &str) -> ApiResult<i64> {
    #[derive(Deserialize)]
    struct Balance {
        balance: i64,
    }
    let latest = store::first::<Balance>(db, "SELECT balance FROM credit_ledger WHERE fan_id = ? AND app_slug = ? ORDER BY seq DESC LIMIT 1", &[fan_id.into(), app_slug.into()]).await?;
    Ok(latest.map_or(0, |b| b.balance))
}
