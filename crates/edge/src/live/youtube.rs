//! A connected YouTube live chat at work: a fresh access token (refreshed when it lapses within
//! a minute), the marketplace's daily quota budget (`YOUTUBE_DAILY_QUOTA`, the project's units
//! a day), and answering in the chat, which the hub's consumer and poller both do.

use crate::db::{self, youtube::Chat};
use crate::platform::config::{config, now_ms};
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::sealing::{self, Keys};
use crate::providers::youtube::{self as api, Client};
use crate::providers::ProviderError;
use fanline_core::live::youtube::{self as yt, quota_day, DEFAULT_DAILY_QUOTA};
use fanline_core::trust::sealed::Column;
use worker::{D1Database, Env};

const REFRESH_MARGIN_MS: i64 = 60_000;

pub fn budget(env: &Env) -> u32 {
    config(env, "YOUTUBE_DAILY_QUOTA", "").parse().unwrap_or(DEFAULT_DAILY_QUOTA)
}

/// Spends `cost` units of today's budget; false when they do not fit (the call is not made).
pub async fn spend(env: &Env, db: &D1Database, cost: u32) -> ApiResult<bool> {
    db::youtube::spend_quota(db, &quota_day(now_ms()), cost, budget(env)).await
}

/// YouTube answered `quotaExceeded`: spend nothing more today.
pub async fn exhausted(env: &Env, db: &D1Database) -> ApiResult<()> {
    db::youtube::quota_exhausted(db, &quota_day(now_ms()), budget(env)).await
}

/// The chat's access token, refreshed first if it is about to lapse. A refreshed pair is
/// stored sealed (which also seals a pair stored before sealing or under a rotated key) and
/// kept in `chat`, so a later save of the chat does not put the old pair back.
pub async fn token(db: &D1Database, keys: Option<&Keys>, client: &Client, chat: &mut Chat) -> ApiResult<Result<String, ProviderError>> {
    let Some((access, refresh)) = sealing::open_tokens(keys, Column::YoutubeTokens, &chat.app_slug, &chat.access_token, &chat.refresh_token).await? else {
        return Ok(Err(super::unreadable("youtube")));
    };
    if chat.token_expires_at - REFRESH_MARGIN_MS > now_ms() {
        return Ok(Ok(access));
    }
    let keys = keys.ok_or_else(|| ApiError::Misconfigured("CREDENTIALS_KEY is not configured; a refreshed YouTube token cannot be stored".into()))?;
    match api::refresh(client, &refresh).await {
        Ok(tokens) => {
            // Google rotates the refresh token only sometimes; the one we have stays otherwise.
            let refresh = tokens.refresh.unwrap_or(refresh);
            let (access_token, refresh_token) = sealing::seal_tokens(keys, Column::YoutubeTokens, &chat.app_slug, &tokens.access, &refresh).await?;
            (chat.access_token, chat.refresh_token, chat.token_expires_at) = (access_token, refresh_token, now_ms() + tokens.expires_in_secs * 1000);
            db::youtube::save(db, chat).await?;
            Ok(Ok(tokens.access))
        }
        Err(e) => Ok(Err(e)),
    }
}

/// Why a message was not sent.
pub enum NotSent {
    /// Today's quota budget has no room for it.
    OverBudget,
    Provider(ProviderError),
}

/// Says `text` in the chat as the channel, within the quota budget.
pub async fn say(env: &Env, db: &D1Database, client: &Client, chat: &Chat, text: &str) -> ApiResult<Result<(), NotSent>> {
    let Some(live_chat_id) = chat.live_chat_id.as_deref() else {
        return Ok(Err(NotSent::Provider(ProviderError::Refused { service: "youtube", status: 404, message: "no live chat".into() })));
    };
    let token = match token(db, Keys::if_configured(env).as_ref(), client, &mut chat.clone()).await? {
        Ok(token) => token,
        Err(e) => return Ok(Err(NotSent::Provider(e))),
    };
    if !spend(env, db, yt::INSERT_COST).await? {
        return Ok(Err(NotSent::OverBudget));
    }
    match api::insert(client, &token, &yt::insert_body(live_chat_id, text)).await {
        Ok(answer) if (200..300).contains(&answer.status) => Ok(Ok(())),
        Ok(answer) => {
            let reason = yt::error_reason(&answer.body).unwrap_or_else(|| format!("HTTP {}", answer.status));
            if reason == "quotaExceeded" {
                exhausted(env, db).await?;
                return Ok(Err(NotSent::OverBudget));
            }
            Ok(Err(NotSent::Provider(ProviderError::Refused { service: "youtube", status: answer.status, message: reason })))
        }
        Err(e) => Ok(Err(NotSent::Provider(e))),
    }
}
