//! A connected Twitch channel at work: a user token that is fresh (refreshed, and the rotated
//! pair kept, when it lapses within a minute), and the channel's two actions, speaking in chat
//! and settling a redemption. Used by the hub's EventSub handler and its delivery of chat
//! replies.

use crate::db::{self, twitch::Channel};
use crate::platform::config::now_ms;
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::sealing::{self, Keys};
use crate::providers::twitch::{self as helix, Client};
use crate::providers::ProviderError;
use fanline_core::trust::sealed::Column;
use worker::D1Database;

/// Refreshed this long before Twitch says the token lapses.
const REFRESH_MARGIN_MS: i64 = 60_000;

/// The channel's user token, refreshed first if it is about to lapse. A refreshed pair is
/// stored sealed, which also seals a pair stored before sealing or under a rotated key, and
/// kept in `channel`: Twitch rotates the refresh token on use, so a second action on the old
/// pair would be refused.
pub async fn user_token(db: &D1Database, keys: Option<&Keys>, client: &Client, channel: &mut Channel) -> ApiResult<Result<String, ProviderError>> {
    let Some((access, refresh)) = sealing::open_tokens(keys, Column::TwitchTokens, &channel.app_slug, &channel.access_token, &channel.refresh_token).await?
    else {
        return Ok(Err(super::unreadable("twitch")));
    };
    if channel.token_expires_at - REFRESH_MARGIN_MS > now_ms() {
        return Ok(Ok(access));
    }
    // Checked before refreshing: Twitch rotates the refresh token on use, so a pair it gave
    // that could not be stored would end the connection.
    let keys = keys.ok_or_else(|| ApiError::Misconfigured("CREDENTIALS_KEY is not configured; a refreshed Twitch token cannot be stored".into()))?;
    match helix::refresh(client, &refresh).await {
        Ok(tokens) => {
            let expires_at = now_ms() + tokens.expires_in_secs * 1000;
            let (access, refresh) = sealing::seal_tokens(keys, Column::TwitchTokens, &channel.app_slug, &tokens.access, &tokens.refresh).await?;
            db::twitch::save_tokens(db, &channel.app_slug, &access, &refresh, expires_at).await?;
            (channel.access_token, channel.refresh_token, channel.token_expires_at) = (access, refresh, expires_at);
            Ok(Ok(tokens.access))
        }
        Err(e) => Ok(Err(e)),
    }
}

/// One action on a channel, as the delivery of a chat reply or a refusal needs it.
pub enum Action<'a> {
    Say(&'a str),
    Settle { reward_id: &'a str, redemption_id: &'a str, status: &'a str },
}

/// Performs the action with a fresh token. `Err(ProviderError)` is Twitch's answer (the caller
/// decides whether to retry); `ApiError` is ours.
pub async fn act(db: &D1Database, keys: Option<&Keys>, client: &Client, channel: &mut Channel, action: Action<'_>) -> ApiResult<Result<(), ProviderError>> {
    let token = match user_token(db, keys, client, channel).await? {
        Ok(token) => token,
        Err(e) => return Ok(Err(e)),
    };
    Ok(match action {
        Action::Say(message) => helix::send_chat(client, &token, &channel.broadcaster_id, message).await,
        Action::Settle { reward_id, redemption_id, status } => {
            let redemption = helix::RedemptionRef { broadcaster_id: &channel.broadcaster_id, reward_id, id: redemption_id };
            helix::settle_redemption(client, &token, &redemption, status).await
        }
    })
}

/// The channel an app is connected to, or a 404 the creator can act on.
pub async fn connected(db: &D1Database, app_slug: &str) -> ApiResult<Channel> {
    db::twitch::channel(db, app_slug).await?.ok_or(ApiError::NotFound("Twitch connection"))
}
