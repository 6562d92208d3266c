//! The YouTube Data API calls a connected live chat needs (`liveBroadcasts.list`,
//! `liveChatMessages.list` and `.insert`) and Google's OAuth token endpoint. Base URLs come from
//! configuration: `YOUTUBE_API_BASE` and `OAUTH_GOOGLE_*` (shared with Google sign-in). Answers
//! come back with their status, so the caller can read YouTube's error reasons (quota).

use super::{call, encode, As, Body, OAuthApp, ProviderError, ProviderResult};
use crate::platform::config::config;
use crate::platform::error::ApiResult;
use serde_json::Value;
use worker::{Env, Method};

const SERVICE: &str = "youtube";

/// The marketplace's Google application and where the YouTube Data API is.
pub struct Client {
    pub app: OAuthApp,
    api: String,
}

impl Client {
    pub fn from_env(env: &Env) -> ApiResult<Self> {
        Ok(Self {
            app: OAuthApp::from_env(env, "GOOGLE", "https://accounts.google.com/o/oauth2/v2/auth", "https://oauth2.googleapis.com/token")?,
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
    let form = c.app.grant_form("authorization_code", &[("code", code), ("redirect_uri", redirect_uri)]);
    tokens(send(Method::Post, &c.app.token_url, Body::Form(form), None).await?)
}

pub async fn refresh(c: &Client, refresh_token: &str) -> ProviderResult<Tokens> {
    let form = c.app.grant_form("refresh_token", &[("refresh_token", refresh_token)]);
    tokens(send(Method::Post, &c.app.token_url, Body::Form(form), None).await?)
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
    send(Method::Get, &format!("{}/liveBroadcasts?part=snippet&{filter}", c.api), Body::None, Some(token)).await
}

pub async fn messages(c: &Client, token: &str, live_chat_id: &str, page_token: Option<&str>) -> ProviderResult<Answer> {
    let mut url = format!("{}/liveChat/messages?part=snippet,authorDetails&maxResults=200&liveChatId={}", c.api, encode(live_chat_id));
    if let Some(page) = page_token {
        url.push_str(&format!("&pageToken={}", encode(page)));
    }
    send(Method::Get, &url, Body::None, Some(token)).await
}

pub async fn insert(c: &Client, token: &str, body: &Value) -> ProviderResult<Answer> {
    send(Method::Post, &format!("{}/liveChat/messages?part=snippet", c.api), Body::Json(body.clone()), Some(token)).await
}

/// A call whose answer the caller reads whatever its status (YouTube's error reasons matter);
/// a 5xx or no answer is `Unavailable`.
async fn send(method: Method, url: &str, body: Body, bearer: Option<&str>) -> ProviderResult<Answer> {
    let (status, body) = call(SERVICE, method, url, body, As { bearer, headers: &[] }).await?;
    if status >= 500 {
        return Err(ProviderError::unavailable(SERVICE, format!("answered {status}")));
    }
    Ok(Answer { status, body })
}
