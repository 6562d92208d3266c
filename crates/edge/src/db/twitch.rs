//! `twitch_channels`, `twitch_subscriptions` and `twitch_connects`: the Twitch channel each app
//! is connected to, its EventSub subscriptions, and connections waiting for authorization.

use super::{all, changes, first, run, statement};
use crate::platform::error::ApiResult;
use serde::{Deserialize, Serialize};
use worker::{D1Database, D1PreparedStatement};

/// A connected channel, with the broadcaster's tokens (never shown).
#[derive(Debug, Clone, Deserialize)]
pub struct Channel {
    pub app_slug: String,
    pub creator_id: String,
    pub broadcaster_id: String,
    pub broadcaster_login: String,
    pub reward_id: Option<String>,
    pub access_token: String,
    pub refresh_token: String,
    pub token_expires_at: i64,
    pub connected_at: i64,
}

const CHANNEL_COLUMNS: &str = "app_slug, creator_id, broadcaster_id, broadcaster_login, reward_id, access_token, refresh_token, token_expires_at, connected_at";

pub async fn channel(db: &D1Database, app_slug: &str) -> ApiResult<Option<Channel>> {
    first(db, &format!("SELECT {CHANNEL_COLUMNS} FROM twitch_channels WHERE app_slug = ?"), &[app_slug.into()]).await
}

/// Every app connected to a broadcaster's channel (one channel may serve several apps).
pub async fn channels_of(db: &D1Database, broadcaster_id: &str) -> ApiResult<Vec<Channel>> {
    all(db, &format!("SELECT {CHANNEL_COLUMNS} FROM twitch_channels WHERE broadcaster_id = ? ORDER BY app_slug"), &[broadcaster_id.into()]).await
}

/// Connects (or reconnects) the app; its earlier subscriptions are forgotten with it.
pub fn save_channel(db: &D1Database, c: &Channel) -> ApiResult<Vec<D1PreparedStatement>> {
    Ok(vec![
        statement(db, "DELETE FROM twitch_subscriptions WHERE app_slug = ?", &[c.app_slug.as_str().into()])?,
        statement(
            db,
            &format!(
                "INSERT INTO twitch_channels ({CHANNEL_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (app_slug) DO UPDATE SET \
                 creator_id = excluded.creator_id, broadcaster_id = excluded.broadcaster_id, broadcaster_login = excluded.broadcaster_login, \
                 reward_id = excluded.reward_id, access_token = excluded.access_token, refresh_token = excluded.refresh_token, \
                 token_expires_at = excluded.token_expires_at, connected_at = excluded.connected_at"
            ),
            &[
                c.app_slug.as_str().into(),
                c.creator_id.as_str().into(),
                c.broadcaster_id.as_str().into(),
                c.broadcaster_login.as_str().into(),
                c.reward_id.as_deref().into(),
                c.access_token.as_str().into(),
                c.refresh_token.as_str().into(),
                c.token_expires_at.into(),
                c.connected_at.into(),
            ],
        )?,
    ])
}

/// Keeps a refreshed token pair (Twitch's refresh tokens are rotated on use).
pub async fn save_tokens(db: &D1Database, app_slug: &str, access: &str, refresh: &str, expires_at: i64) -> ApiResult<()> {
    run(
        db,
        "UPDATE twitch_channels SET access_token = ?, refresh_token = ?, token_expires_at = ? WHERE app_slug = ?",
        &[access.into(), refresh.into(), expires_at.into(), app_slug.into()],
    )
    .await
}

pub async fn disconnect(db: &D1Database, app_slug: &str) -> ApiResult<bool> {
    run(db, "DELETE FROM twitch_subscriptions WHERE app_slug = ?", &[app_slug.into()]).await?;
    Ok(changes(db, "DELETE FROM twitch_channels WHERE app_slug = ?", &[app_slug.into()]).await? > 0)
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Subscription {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub status: String,
    #[serde(skip_serializing)]
    pub updated_at: i64,
}

pub async fn subscriptions(db: &D1Database, app_slug: &str) -> ApiResult<Vec<Subscription>> {
    all(db, "SELECT id, type, status, updated_at FROM twitch_subscriptions WHERE app_slug = ? ORDER BY type", &[app_slug.into()]).await
}

/// Records a subscription just made. Its challenge may have come back before this row (see
/// `verified`): an `enabled` already written stays.
pub fn insert_subscription(db: &D1Database, app_slug: &str, s: &Subscription) -> ApiResult<D1PreparedStatement> {
    statement(
        db,
        "INSERT INTO twitch_subscriptions (id, app_slug, type, status, updated_at) VALUES (?, ?, ?, ?, ?) \
         ON CONFLICT (id) DO UPDATE SET app_slug = excluded.app_slug, type = excluded.type, \
         status = CASE WHEN twitch_subscriptions.status = 'enabled' THEN 'enabled' ELSE excluded.status END",
        &[s.id.as_str().into(), app_slug.into(), s.kind.as_str().into(), s.status.as_str().into(), s.updated_at.into()],
    )
}

/// A subscription's challenge was answered, so Twitch enables it. Written even before the row
/// of the call that made it (Twitch may challenge before that call's answer is handled).
pub async fn verified(db: &D1Database, id: &str, kind: &str, now: i64) -> ApiResult<()> {
    run(
        db,
        "INSERT INTO twitch_subscriptions (id, app_slug, type, status, updated_at) VALUES (?, '', ?, 'enabled', ?) \
         ON CONFLICT (id) DO UPDATE SET status = 'enabled', updated_at = excluded.updated_at",
        &[id.into(), kind.into(), now.into()],
    )
    .await
}

/// Records the status Twitch gives a subscription (enabled once verified, or why revoked);
/// false when Fanline does not know it.
pub async fn set_subscription_status(db: &D1Database, id: &str, status: &str, now: i64) -> ApiResult<bool> {
    Ok(changes(db, "UPDATE twitch_subscriptions SET status = ?, updated_at = ? WHERE id = ?", &[status.into(), now.into(), id.into()]).await? > 0)
}

/// A connection waiting for the broadcaster's authorization.
#[derive(Debug, Deserialize)]
pub struct Connect {
    pub app_slug: String,
    pub creator_id: String,
    /// The reward to create, as JSON (`{"title", "cost"}`), when one was asked for.
    pub reward: Option<String>,
    pub created_at: i64,
}

pub async fn start_connect(db: &D1Database, state: &str, c: &Connect) -> ApiResult<()> {
    run(
        db,
        "INSERT INTO twitch_connects (state, app_slug, creator_id, reward, created_at) VALUES (?, ?, ?, ?, ?)",
        &[state.into(), c.app_slug.as_str().into(), c.creator_id.as_str().into(), c.reward.as_deref().into(), c.created_at.into()],
    )
    .await
}

/// Takes a waiting connection by its state, once: a second callback with it finds nothing.
pub async fn take_connect(db: &D1Database, state: &str, not_before: i64) -> ApiResult<Option<Connect>> {
    first(
        db,
        "DELETE FROM twitch_connects WHERE state = ? AND created_at >= ? RETURNING app_slug, creator_id, reward, created_at",
        &[state.into(), not_before.into()],
    )
    .await
}

/// Forgets channel connections that were started before `before` and never authorized.
pub async fn prune_connects(db: &D1Database, before: i64) -> ApiResult<usize> {
    changes(db, "DELETE FROM twitch_connects WHERE created_at < ?", &[before.into()]).await
}
