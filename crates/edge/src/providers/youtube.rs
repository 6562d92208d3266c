//! The YouTube Data API calls a connected live chat needs (`liveBroadcasts.list`,
//! `liveChatMessages.list` and `.insert`) and Google's OAuth token endpoint. Base URLs come from
//! configuration: `YOUTUBE_API_BASE` and `OAUTH_GOOGLE_*` (shared with Google sign-in). Answers
//! come back with their status, so the caller can read YouTube's error reasons (quota).

use super::{ProviderError, ProviderResult};
use crate::platform::config::{config, required_config, timeout_signal};
use crate::platform::error::ApiResult;
use serde_json::Value;
use worker::{Env, Fetch, Headers, Method, Request, RequestInit};

const SERVICE: &str = "youtube";

pub struct Client {
    pub client_id: String,
    client_secret: String,
    pub authorize_url: String,
    token_url: String,
    api: String,
}

impl Client {
    pub fn from_env(env: &Env) -> ApiResult<Self> {
        Ok(Self {
            client_id: required_config(env, "OAUTH_GOOGLE_CLIENT_ID")?,
            client_secret: required_config(env, "OAUTH_GOOGLE_CLIENT_SECRET")?,
            authorize_url: config(env, "OAUTH_GOOGLE_AUTHORIZE_URL", "https://accounts.google.com/o/oauth2/v2/auth"),
            token_url: config(env, "OAUTH_GOOGLE_TOKEN_URL", "https://oauth2.googleapis.com/token"),
            api: config(env, "YOUTUBE_API_BASE", "https://www.googleapis.com/youtube/v3").trim_end_matches('/').to_string(),
        })
    }
}

/// A status and a body, whatever the status.
pub struct Answer {
    pub status: u16,
    pub body: String,
}

pub struct Tokens {
    pub access: String,
    /// Google sends a refresh token on the first consent only; a refresh keeps the old one.
    pub refresh: Option<String>,
    pub expires_in_secs: i64,
}

pub async fn exchange_code(c: &Client, code: &str, redirect_uri: &str) -> ProviderResult<Tokens> {
    let form = form(&[
        ("client_id", &c.client_id),
        ("client_secret", &c.client_secret),
        ("code", code),
        ("grant_type", "authorization_code"),
        ("redirect_uri", redirect_uri),
    ]);
    tokens(call(Method::Post, &c.token_url, Some(form), None).await?)
}

pub async fn refresh(c: &Client, refresh_token: &str) -> ProviderResult<Tokens> {
    let form = form(&[("client_id", &c.client_id), ("client_secret", &c.client_secret), ("grant_type", "refresh_token"), ("refresh_token", refresh_token)]);
    tokens(call(Method::Post, &c.token_url, Some(form), None).await?)
}

fn tokens(answer: Answer) -> ProviderResult<Tokens> {
    let v: Value = serde_json::from_str(&answer.body).unwrap_or(Value::Null);
    if !(200..300).contains(&answer.status) {
        return Err(ProviderError::Refused { service: SERVICE, status: answer.status, message: v["error"].as_str().unwrap_or("refused").to_string() });
    }
    Ok(Tokens {
        access: v["access_token"].as_str().ok_or_else(|| ProviderError::unavailable(SERVICE, "token answer lacks access_token"))?.to_string(),
        refresh: v["refresh_token"].as_str().map(str::to_string),
        expires_in_secs: v["expires_in"].as_i64().unwrap_or(3600),
    })
}

/// The authorizing channel's active broadcasts, or one broadcast by id.
pub async fn broadcasts(c: &Client, token: &str, broadcast_id: Option<&str>) -> ProviderResult<Answer> {
    let filter = match broadcast_id {
        Some(id) => format!("id={}", encode(id)),
        None => "broadcastStatus=active&broadcastType=all".to_string(),
    };
    call(Method::Get, &format!("{}/liveBroadcasts?part=snippet&{filter}", c.api), None, Some(token)).await
}

pub async fn messages(c: &Client, token: &str, live_chat_id: &str, page_token: Option<&str>) -> ProviderResult<Answer> {
    let mut url = format!("{}/liveChat/messages?part=snippet,authorDetails&maxResults=200&liveChatId={}", c.api, encode(live_chat_id));
    if let Some(page) = page_token {
        url.push_str(&format!("&pageToken={}", encode(page)));
    }
    call(Method::Get, &url, None, Some(token)).await
}

pub async fn insert(c: &Client, token: &str, body: &Value) -> ProviderResult<Answer> {
    call(Method::Post, &format!("{}/liveChat/messages?part=snippet", c.api), Some(body.to_string()), Some(token)).await
}

fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}

fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// A body that is a form when there is no bearer token (the token endpoint), JSON otherwise.
async fn call(method: Method, url: &str, body: Option<String>, bearer: Option<&str>) -> ProviderResult<Answer> {
    let headers = Headers::new();
    headers.set("Accept", "application/json")?;
    if let Some(token) = bearer {
        headers.set("Authorization", &format!("Bearer {token}"))?;
    }
    let mut init = RequestInit::new();
    if let Some(body) = body {
        headers.set("Content-Type", if bearer.is_some() { "application/json" } else { "application/x-www-form-urlencoded" })?;
        init.with_body(Some(body.into()));
    }
    init.with_method(method).with_headers(headers);
    let mut response = Fetch::Request(Request::new_with_init(url, &init)?)
        .send_with_signal(&timeout_signal(10_000))
        .await
        .map_err(|e| ProviderError::unavailable(SERVICE, e.to_string()))?;
    let status = response.status_code();
    let body = response.text().await.unwrap_or_default();
    if status >= 500 {
        return Err(ProviderError::unavailable(SERVICE, format!("answered {status}")));
    }
    Ok(Answer { status, body })
}
