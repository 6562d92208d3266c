//! Twitch: the OAuth token endpoint (client credentials, authorization code, refresh) and the
//! Helix calls a connected channel needs (who the broadcaster is, a channel-points reward,
//! EventSub subscriptions, settling a redemption, a chat message). Base URLs come from
//! configuration: `OAUTH_TWITCH_TOKEN_URL` (shared with sign-in) and `TWITCH_API_BASE`.

use super::{ProviderError, ProviderResult};
use crate::platform::config::{config, timeout_signal};
use crate::platform::error::ApiResult;
use serde_json::{json, Value};
use worker::{Env, Fetch, Headers, Method, Request, RequestInit};

const SERVICE: &str = "twitch";

/// The marketplace's Twitch application.
pub struct Client {
    pub client_id: String,
    client_secret: String,
    pub authorize_url: String,
    token_url: String,
    api: String,
}

impl Client {
    pub fn from_env(env: &Env) -> ApiResult<Self> {
        let required = |name: &str| crate::platform::config::required_config(env, name);
        Ok(Self {
            client_id: required("OAUTH_TWITCH_CLIENT_ID")?,
            client_secret: required("OAUTH_TWITCH_CLIENT_SECRET")?,
            authorize_url: config(env, "OAUTH_TWITCH_AUTHORIZE_URL", "https://id.twitch.tv/oauth2/authorize"),
            token_url: config(env, "OAUTH_TWITCH_TOKEN_URL", "https://id.twitch.tv/oauth2/token"),
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
    let form = form(&[("client_id", &c.client_id), ("client_secret", &c.client_secret), ("grant_type", "client_credentials")]);
    let body = send(Method::Post, &c.token_url, Body::Form(form), None, None).await?;
    body["access_token"].as_str().map(str::to_string).ok_or_else(|| ProviderError::unavailable(SERVICE, "token answer lacks access_token"))
}

pub async fn exchange_code(c: &Client, code: &str, redirect_uri: &str) -> ProviderResult<UserTokens> {
    let form = form(&[
        ("client_id", &c.client_id),
        ("client_secret", &c.client_secret),
        ("code", code),
        ("grant_type", "authorization_code"),
        ("redirect_uri", redirect_uri),
    ]);
    UserTokens::read(&send(Method::Post, &c.token_url, Body::Form(form), None, None).await?)
}

pub async fn refresh(c: &Client, refresh_token: &str) -> ProviderResult<UserTokens> {
    let form = form(&[("client_id", &c.client_id), ("client_secret", &c.client_secret), ("grant_type", "refresh_token"), ("refresh_token", refresh_token)]);
    UserTokens::read(&send(Method::Post, &c.token_url, Body::Form(form), None, None).await?)
}

/// The user a token belongs to: `(id, login)`.
pub async fn current_user(c: &Client, user_token: &str) -> ProviderResult<(String, String)> {
    let body = send(Method::Get, &format!("{}/users", c.api), Body::None, Some(user_token), Some(&c.client_id)).await?;
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
    let answer = send(Method::Post, &url, Body::Json(body), Some(user_token), Some(&c.client_id)).await?;
    answer["data"][0]["id"].as_str().map(str::to_string).ok_or_else(|| ProviderError::unavailable(SERVICE, "reward answer lacks its id"))
}

/// `(id, status)` of the subscription made.
pub async fn subscribe(c: &Client, app_token: &str, request: Value) -> ProviderResult<(String, String)> {
    let answer = send(Method::Post, &format!("{}/eventsub/subscriptions", c.api), Body::Json(request), Some(app_token), Some(&c.client_id)).await?;
    let sub = &answer["data"][0];
    match (sub["id"].as_str(), sub["status"].as_str()) {
        (Some(id), Some(status)) => Ok((id.to_string(), status.to_string())),
        _ => Err(ProviderError::unavailable(SERVICE, "subscription answer lacks its id")),
    }
}

pub async fn unsubscribe(c: &Client, app_token: &str, id: &str) -> ProviderResult<()> {
    let url = format!("{}/eventsub/subscriptions?id={}", c.api, encode(id));
    send(Method::Delete, &url, Body::None, Some(app_token), Some(&c.client_id)).await.map(|_| ())
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
    send(Method::Patch, &url, Body::Json(json!({"status": status})), Some(user_token), Some(&c.client_id)).await.map(|_| ())
}

/// Says `message` in the broadcaster's chat, as the broadcaster. Twitch can drop a message
/// (AutoMod, a slow mode): that comes back as `Refused` with its reason.
pub async fn send_chat(c: &Client, user_token: &str, broadcaster_id: &str, message: &str) -> ProviderResult<()> {
    let body = json!({"broadcaster_id": broadcaster_id, "sender_id": broadcaster_id, "message": message});
    let answer = send(Method::Post, &format!("{}/chat/messages", c.api), Body::Json(body), Some(user_token), Some(&c.client_id)).await?;
    let sent = &answer["data"][0];
    if sent["is_sent"].as_bool() == Some(false) {
        let reason = sent["drop_reason"]["message"].as_str().unwrap_or("dropped").to_string();
        return Err(ProviderError::Refused { service: SERVICE, status: 200, message: reason });
    }
    Ok(())
}

fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}

fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

enum Body {
    None,
    Form(String),
    Json(Value),
}

/// One call: the JSON answer (or `null` for a 204) on a 2xx, `Refused` with Twitch's message on
/// a 4xx, `Unavailable` otherwise.
async fn send(method: Method, url: &str, body: Body, bearer: Option<&str>, client_id: Option<&str>) -> ProviderResult<Value> {
    let headers = Headers::new();
    headers.set("Accept", "application/json")?;
    if let Some(token) = bearer {
        headers.set("Authorization", &format!("Bearer {token}"))?;
    }
    if let Some(id) = client_id {
        headers.set("Client-Id", id)?;
    }
    let mut init = RequestInit::new();
    match body {
        Body::None => {}
        Body::Form(form) => {
            headers.set("Content-Type", "application/x-www-form-urlencoded")?;
            init.with_body(Some(form.into()));
        }
        Body::Json(value) => {
            headers.set("Content-Type", "application/json")?;
            init.with_body(Some(value.to_string().into()));
        }
    }
    init.with_method(method).with_headers(headers);
    let mut response = Fetch::Request(Request::new_with_init(url, &init)?)
        .send_with_signal(&timeout_signal(10_000))
        .await
        .map_err(|e| ProviderError::unavailable(SERVICE, e.to_string()))?;
    let status = response.status_code();
    let text = response.text().await.unwrap_or_default();
    let value: Value = if text.trim().is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::Null) };
    match status {
        200..=299 => Ok(value),
        400..=499 => Err(ProviderError::Refused { service: SERVICE, status, message: value["message"].as_str().unwrap_or("refused").to_string() }),
        _ => Err(ProviderError::unavailable(SERVICE, format!("answered {status}"))),
    }
}
