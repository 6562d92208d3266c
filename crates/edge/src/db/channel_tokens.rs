//! The OAuth token columns (`access_token`, `refresh_token`) of `twitch_channels` and
//! `youtube_chats`, for re-sealing: both tables keep a channel's pair the same way.

use super::{all, changes};
use crate::platform::error::ApiResult;
use crate::platform::sealing::Keys;
use fanline_core::trust::sealed::{self, Column};
use serde::Deserialize;
use worker::D1Database;

/// A table that holds a channel's token pair.
#[derive(Debug, Clone, Copy)]
pub enum TokenTable {
    Twitch,
    Youtube,
}

impl TokenTable {
    pub const ALL: [Self; 2] = [Self::Twitch, Self::Youtube];

    fn name(self) -> &'static str {
        match self {
            Self::Twitch => "twitch_channels",
            Self::Youtube => "youtube_chats",
        }
    }

    /// What the table's sealed tokens are bound to.
    pub fn column(self) -> Column {
        match self {
            Self::Twitch => Column::TwitchTokens,
            Self::Youtube => Column::YoutubeTokens,
        }
    }
}

/// A channel's token pair as stored.
#[derive(Debug, Deserialize)]
pub struct StoredTokens {
    pub app_slug: String,
    pub access_token: String,
    pub refresh_token: String,
}

/// Rows whose pair is not wholly sealed under the current key.
pub async fn not_sealed_under(db: &D1Database, table: TokenTable, keys: &Keys, limit: u32) -> ApiResult<Vec<StoredTokens>> {
    let prefix = sealed::prefix_for(&keys.current);
    all(
        db,
        &format!(
            "SELECT app_slug, access_token, refresh_token FROM {} WHERE substr(access_token, 1, ?1) != ?2 OR substr(refresh_token, 1, ?1) != ?2 ORDER BY app_slug LIMIT ?3",
            table.name()
        ),
        &[(prefix.len() as i64).into(), prefix.as_str().into(), (limit as i64).into()],
    )
    .await
}

/// Stores a re-sealed pair, unless the row's tokens changed meanwhile (a refresh, a reconnect).
pub async fn reseal(db: &D1Database, table: TokenTable, row: &StoredTokens, access: &str, refresh: &str) -> ApiResult<bool> {
    let changed = changes(
        db,
        &format!("UPDATE {} SET access_token = ?, refresh_token = ? WHERE app_slug = ? AND access_token = ? AND refresh_token = ?", table.name()),
        &[access.into(), refresh.into(), row.app_slug.as_str().into(), row.access_token.as_str().into(), row.refresh_token.as_str().into()],
    )
    .await?;
    Ok(changed > 0)
}
