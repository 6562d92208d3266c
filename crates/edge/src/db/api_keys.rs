//! `api_keys`: a creator's named keys, stored as hashes with their last 4 characters.

use super::{all, changes, first, run};
use crate::db::creators::{hash_token, Creator};
use crate::platform::error::ApiResult;
use serde::{Deserialize, Serialize};
use worker::D1Database;

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ApiKey {
    pub id: String,
    pub name: String,
    pub last4: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

/// The creator a key belongs to, unless it is unknown or revoked.
pub async fn creator(db: &D1Database, key: &str) -> ApiResult<Option<Creator>> {
    first(
        db,
        "SELECT c.id, c.name, c.email FROM api_keys k JOIN creators c ON c.id = k.creator_id WHERE k.key_hash = ? AND k.revoked_at IS NULL",
        &[hash_token(key).as_str().into()],
    )
    .await
}

pub async fn list(db: &D1Database, creator_id: &str) -> ApiResult<Vec<ApiKey>> {
    all(db, "SELECT id, name, last4, created_at, revoked_at FROM api_keys WHERE creator_id = ? ORDER BY created_at, id", &[creator_id.into()]).await
}

#[derive(Clone, Copy)]
pub struct NewKey<'a> {
    pub id: &'a str,
    pub creator_id: &'a str,
    pub name: &'a str,
    /// The whole key: only its hash and last 4 characters are stored.
    pub key: &'a str,
}

pub async fn create(db: &D1Database, new: &NewKey<'_>, now: i64) -> ApiResult<()> {
    let NewKey { id, creator_id, name, key } = *new;
    let last4: String = key.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect();
    run(
        db,
        "INSERT INTO api_keys (id, creator_id, name, key_hash, last4, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        &[id.into(), creator_id.into(), name.into(), hash_token(key).as_str().into(), last4.as_str().into(), now.into()],
    )
    .await
}

/// Revokes one of the creator's keys; false when it is not theirs or already revoked.
pub async fn revoke(db: &D1Database, creator_id: &str, id: &str, now: i64) -> ApiResult<bool> {
    Ok(changes(db, "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND creator_id = ? AND revoked_at IS NULL", &[now.into(), id.into(), creator_id.into()])
        .await?
        == 1)
}
