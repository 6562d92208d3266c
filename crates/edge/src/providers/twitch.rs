//! Twitch: the OAuth token endpoint (client credentials, authorization code, refresh) and the
//! Helix calls a connected channel needs (who the broadcaster is, a channel-points reward,
//! EventSub subscriptions, settling a redemption, a chat message). Base URLs come from
//! configuration: `OAUTH_TWITCH_TOKEN_URL` (shared with sign-in) and `TWITCH_API_BASE`.

use super::{call, encode, As, Body, OAuthApp, ProviderError, ProviderResult};
use crate::platform::config::config;
use crate::platform::error::ApiResult;
use serde_json::{json, Value};
use worker::{Env, Method};

const SERVICE: &str = "twitch";

/// The marketplace's Twitch application and where Helix is.
pub struct Client {
    pub app: OAuthApp,
    api: String,
}

impl Client {
    pub fn from_env(env: &Env) -> ApiResult<Self> {
        Ok(Self {
            app: OAuthApp::from_env(env, "TWITCH", "https://id.twitch.tv/oauth2/authorize", "https://id.twitch.tv/oauth2/token")?,
            api: config(env, "TWITCH_API_BASE", "https://api.twitch.tv/helix").trim_end_matches('/').to_string(),
        })
    }
}

/// A user access token and what renews it.
pub struct UserTokens {
    pub access: String,
    pub refresh: String,
    pub expires_in_secs: i64,
}

impl UserTokens {
    fn read(body: &Value) -> ProviderResult<Self> {
        let text = |k: &str| body[k].as_str().map(str::to_string).ok_or_else(|| ProviderError::unavailable(SERVICE, format!("token answer lacks {k}")));
        Ok(Self { access: text("access_token")?, refresh: text("refresh_token")?, expires_in_secs: body["expires_in"].as_i64().unwrap_or(3600) })
    }
}

/// An app access token (client credentials), for EventSub subscriptions.
pub async fn app_token(c: &Client) -> ProviderResult<String> {
    let body = send(Method::Post, &c.app.token_url, Body::Form(c.app.grant_form("client_credentials", &[])), None, None).await?;
    body["access_token"].as_str().map(str::to_string).ok_or_else(|| ProviderError::unavailable(SERVICE, "token answer lacks access_token"))
}

pub async fn exchange_code(c: &Client, code: &str, redirect_uri: &str) -> ProviderResult<UserTokens> {
    let form = c.app.grant_form("authorization_code", &[("code", code), ("redirect_uri", redirect_uri)]);
    UserTokens::read(&send(Method::Post, &c.app.token_url, Body::Form(form), None, None).await?)
}

pub async fn refresh(c: &Client, refresh_token: &str) -> ProviderResult<UserTokens> {
    let form = c.app.grant_form("refresh_token", &[("refresh_token", refresh_token)]);
    UserTokens::read(&send(Method::Post, &c.app.token_url, Body::Form(form), None, None).await?)
}

/// The user a token belongs to: `(id, login)`.
pub async fn current_user(c: &Client, user_token: &str) -> ProviderResult<(String, String)> {
    let body = send(Method::Get, &format!("{}/users", c.api), Body::None, Some(user_token), Some(&c.app.client_id)).await?;
    let user = &body["data"][0];
    match (user["id"].as_str(), user["login"].as_str()) {
        (Some(id), Some(login)) => Ok((id.to_string(), login.to_string())),
        _ => Err(ProviderError::unavailable(SERVICE, "users answer lacks the user")),
    }
}

/// A channel-points reward to create on a channel.
pub struct NewReward<'a> {
    pub broadcaster_id: &'a str,
    pub title: &'a str,
    pub cost: u64,
    pub prompt: &'a str,
}

/// Creates a channel-points reward that asks the viewer for text; its id.
pub async fn create_reward(c: &Client, user_token: &str, reward: &NewReward<'_>) -> ProviderResult<String> {
    let url = format!("{}/channel_points/custom_rewards?broadcaster_id={}", c.api, encode(reward.broadcaster_id));
    let body = json!({"title": reward.title, "cost": reward.cost, "prompt": reward.prompt, "is_user_input_required": true});
    let answer = send(Method::Post, &url, Body::Json(body), Some(user_token), Some(&c.app.client_id)).await?;
    answer["data"][0]["id"].as_str().map(str::to_string).ok_or_else(|| ProviderError::unavailable(SERVICE, "reward answer lacks its id"))
}

/// `(id, status)` of the subscription made.
pub async fn subscribe(c: &Client, app_token: &str, request: Value) -> ProviderResult<(String, String)> {
    let answer = send(Method::Post, &format!("{}/eventsub/subscriptions", c.api), Body::Json(request), Some(app_token), Some(&c.app.client_id)).await?;
    let sub = &answer["data"][0];
    match (sub["id"].as_str(), sub["status"].as_str()) {
        (Some(id), Some(status)) => Ok((id.to_string(), status.to_string())),
        _ => Err(ProviderError::unavailable(SERVICE, "subscription answer lacks its id")),
    }
}

pub async fn unsubscribe(c: &Client, app_token: &str, id: &str) -> ProviderResult<()> {
    let url = format!("{}/eventsub/subscriptions?id={}", c.api, encode(id));
    send(Method::Delete, &url, Body::None, Some(app_token), Some(&c.app.client_id)).await.map(|_| ())
}

/// One redemption of a reward on a channel.
pub struct RedemptionRef<'a> {
    pub broadcaster_id: &'a str,
    pub reward_id: &'a str,
    pub id: &'a str,
}

/// Marks a redemption `FULFILLED` or `CANCELED` (which gives the viewer their points back).
pub async fn settle_redemption(c: &Client, user_token: &str, r: &RedemptionRef<'_>, status: &str) -> ProviderResult<()> {
    let url = format!(
        "{}/channel_points/custom_rewards/redemptions?broadcaster_id={}&reward_id={}&id={}",
        c.api,
        encode(r.broadcaster_id),
        encode(r.reward_id),
        encode(r.id)
    );
    send(Method::Patch, &url, Body::Json(json!({"status": status})), Some(user_token), Some(&c.app.client_id)).await.map(|_| ())
}

/// Says `message` in the broadcaster's chat, as the broadcaster. Twitch can drop a message
/// (AutoMod, a slow mode): that comes back as `Refused` with its reason.
pub async fn send_chat(c: &Client, user_token: &str, broadcaster_id: &str, message: &str) -> ProviderResult<()> {
    let body = json!({"broadcaster_id": broadcaster_id, "sender_id": broadcaster_id, "message": message});
    let answer = send(Method::Post, &format!("{}/chat/messages", c.api), Body::Json(body), Some(user_token), Some(&c.app.client_id)).await?;
    let sent = &answer["data"][0];
    if sent["is_sent"].as_bool() == Some(false) {
        let reason = sent["drop_reason"]["message"].as_str().unwrap_or("dropped").to_string();
        return Err(ProviderError::Refused { service: SERVICE, status: 200, message: reason });
    }
    Ok(())
}

/// A Helix or token-endpoint call: the JSON answer (or `null` for a 204) on a 2xx, `Refused`
/// with Twitch's message on a 4xx, `Unavailable` otherwise.
async fn send(method: Method, url: &str, body: Body, bearer: Option<&str>, client_id: Option<&str>) -> ProviderResult<Value> {
    let extra: Vec<(&str, &str)> = client_id.map(|id| ("Client-Id", id)).into_iter().collect();
    let (status, text) = call(SERVICE, method, url, body, As { bearer, headers: &extra }).await?;
    let value: Value = if text.trim().is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::Null) };
    match status {
        200..=299 => Ok(value),
        400..=499 => Err(ProviderError::Refused { service: SERVICE, status, message: value["message"].as_str().unwrap_or("refused").to_string() }),
        _ => Err(ProviderError::unavailable(SERVICE, format!("answered {status}"))),
    }
}
