//! `oauth_logins`: one row per sign-in under way (its state and PKCE verifier), used once; an
//! email link's or a popup hand-off token's hash is recorded here as a used sign-in so it
//! works once.

use super::{changes, count, first, statement};
use crate::platform::error::ApiResult;
use serde::Deserialize;
use worker::{D1Database, D1PreparedStatement};

pub struct NewLogin<'a> {
    pub state: &'a str,
    pub app_slug: &'a str,
    pub provider: &'a str,
    pub verifier: &'a str,
    pub return_to: &'a str,
}

pub async fn start(db: &D1Database, l: &NewLogin<'_>, now: i64) -> ApiResult<()> {
    super::run(
        db,
        "INSERT INTO oauth_logins (state, app_slug, provider, verifier, return_to, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        &[l.state.into(), l.app_slug.into(), l.provider.into(), l.verifier.into(), l.return_to.into(), now.into()],
    )
    .await
}

#[derive(Debug, Clone, Deserialize)]
pub struct Login {
    pub app_slug: String,
    pub verifier: String,
    pub return_to: String,
}

/// Which login a callback claims.
pub struct LoginKey<'a> {
    pub state: &'a str,
    pub provider: &'a str,
}

/// Uses the login's state once: `None` when it is unknown, used, expired (older than
/// `created_after`) or of another provider.
pub async fn take(db: &D1Database, key: &LoginKey<'_>, now: i64, created_after: i64) -> ApiResult<Option<Login>> {
    first(
        db,
        "UPDATE oauth_logins SET used_at = ? WHERE state = ? AND provider = ? AND used_at IS NULL AND created_at > ?
         RETURNING app_slug, verifier, return_to",
        &[now.into(), key.state.into(), key.provider.into(), created_after.into()],
    )
    .await
}

/// An email link's row is keyed by its token's hash, so the table never holds a usable link.
fn link_key(token: &str) -> String {
    super::creators::hash_token(token)
}

/// An email link used once: its hash is the row's key, so a second use conflicts.
pub fn used_email_link(db: &D1Database, token: &str, app_slug: &str, return_to: &str, now: i64) -> ApiResult<D1PreparedStatement> {
    let key = link_key(token);
    statement(
        db,
        "INSERT INTO oauth_logins (state, app_slug, provider, verifier, return_to, created_at, used_at) VALUES (?, ?, 'email', '', ?, ?, ?)",
        &[key.as_str().into(), app_slug.into(), return_to.into(), now.into(), now.into()],
    )
}

/// Whether this email link was used already (its page then says so instead of offering it).
pub async fn email_link_used(db: &D1Database, token: &str) -> ApiResult<bool> {
    let key = link_key(token);
    Ok(count(db, "SELECT COUNT(*) AS n FROM oauth_logins WHERE state = ? AND provider = 'email'", &[key.as_str().into()]).await? > 0)
}

/// A popup's hand-off token traded for a session: its hash is the row's key, so a second
/// trade conflicts.
pub fn used_handoff(db: &D1Database, token_hash: &str, app_slug: &str, now: i64) -> ApiResult<D1PreparedStatement> {
    statement(
        db,
        "INSERT INTO oauth_logins (state, app_slug, provider, verifier, return_to, created_at, used_at) VALUES (?, ?, 'handoff', '', '', ?, ?)",
        &[token_hash.into(), app_slug.into(), now.into(), now.into()],
    )
}

/// Forgets sign-ins started before `before`: every state, link and hand-off expires within
/// minutes, so an old row can neither be claimed nor matter for single use.
pub async fn prune(db: &D1Database, before: i64) -> ApiResult<usize> {
    changes(db, "DELETE FROM oauth_logins WHERE created_at < ?", &[before.into()]).await
}
