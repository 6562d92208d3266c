//! `console_sessions`: a signed-in creator's console session, by the hash of its cookie token.

use super::{changes, first, run};
use crate::db::creators::{hash_token, Creator};
use crate::platform::error::ApiResult;
use serde::Deserialize;
use worker::D1Database;

/// How a creator proved who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    EmailLink,
    ApiKey,
}

impl Via {
    fn as_str(self) -> &'static str {
        match self {
            Self::EmailLink => "email",
            Self::ApiKey => "api_key",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Session {
    pub creator_id: String,
    pub name: String,
    pub email: Option<String>,
    pub csrf: String,
}

impl Session {
    pub fn creator(&self) -> Creator {
        Creator { id: self.creator_id.clone(), name: self.name.clone(), email: self.email.clone() }
    }
}

pub struct NewSession<'a> {
    pub token: &'a str,
    pub creator_id: &'a str,
    pub csrf: &'a str,
    pub via: Via,
}

pub async fn start(db: &D1Database, s: &NewSession<'_>, now: i64, expires_at: i64) -> ApiResult<()> {
    run(
        db,
        "INSERT INTO console_sessions (token_hash, creator_id, csrf, via, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
        &[hash_token(s.token).as_str().into(), s.creator_id.into(), s.csrf.into(), s.via.as_str().into(), now.into(), expires_at.into()],
    )
    .await
}

/// The session behind a token, unless it is unknown, ended or expired.
pub async fn current(db: &D1Database, token: &str, now: i64) -> ApiResult<Option<Session>> {
    first(
        db,
        "SELECT s.creator_id, c.name, c.email, s.csrf FROM console_sessions s JOIN creators c ON c.id = s.creator_id
          WHERE s.token_hash = ? AND s.ended_at IS NULL AND s.expires_at > ?",
        &[hash_token(token).as_str().into(), now.into()],
    )
    .await
}

pub async fn end(db: &D1Database, token: &str, now: i64) -> ApiResult<()> {
    run(db, "UPDATE console_sessions SET ended_at = ? WHERE token_hash = ? AND ended_at IS NULL", &[now.into(), hash_token(token).as_str().into()]).await
}

/// Forgets sessions that expired or were ended before `before`.
pub async fn prune(db: &D1Database, before: i64) -> ApiResult<usize> {
    changes(db, "DELETE FROM console_sessions WHERE expires_at < ? OR ended_at < ?", &[before.into(), before.into()]).await
}
