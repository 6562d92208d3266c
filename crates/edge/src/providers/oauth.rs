//! An OAuth 2.0 provider's token and user-info endpoints (Twitch, Discord, Google, or the local
//! OAuth server in tests).

use super::{ProviderError, ProviderResult};
use crate::platform::config::timeout_signal;
use serde_json::Value;
use worker::{Fetch, Headers, Method, Request, RequestInit};

const SERVICE: &str = "oauth provider";

/// Exchanges an authorization code (the form carries the PKCE verifier).
pub async fn token(url: &str, form: String) -> ProviderResult<Value> {
    send(Method::Post, url, Some(form), None).await
}

pub async fn userinfo(url: &str, access_token: &str) -> ProviderResult<Value> {
    send(Method::Get, url, None, Some(access_token)).await
}

async fn send(method: Method, url: &str, form: Option<String>, bearer: Option<&str>) -> ProviderResult<Value> {
    let headers = Headers::new();
    headers.set("Accept", "application/json")?;
    if let Some(token) = bearer {
        headers.set("Authorization", &format!("Bearer {token}"))?;
    }
    let mut init = RequestInit::new();
    if let Some(form) = form {
        headers.set("Content-Type", "application/x-www-form-urlencoded")?;
        init.with_body(Some(form.into()));
    }
    init.with_method(method).with_headers(headers);
    let mut response = Fetch::Request(Request::new_with_init(url, &init)?)
        .send_with_signal(&timeout_signal(10_000))
        .await
        .map_err(|e| ProviderError::unavailable(SERVICE, e.to_string()))?;
    let status = response.status_code();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    match status {
        200..=299 => Ok(body),
        400..=499 => Err(ProviderError::Refused { service: SERVICE, status, message: body["error"].as_str().unwrap_or("refused").to_string() }),
        _ => Err(ProviderError::unavailable(SERVICE, format!("answered {status}"))),
    }
}
