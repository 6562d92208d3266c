//! An OAuth 2.0 provider's token and user-info endpoints (Twitch, Discord, Google, or the local
//! OAuth server in tests).

use super::{call, As, Body, ProviderError, ProviderResult};
use serde_json::Value;
use worker::Method;

const SERVICE: &str = "oauth provider";

/// Exchanges an authorization code (the form carries the PKCE verifier).
pub async fn token(url: &str, form: String) -> ProviderResult<Value> {
    send(Method::Post, url, Some(form), None).await
}

pub async fn userinfo(url: &str, access_token: &str) -> ProviderResult<Value> {
    send(Method::Get, url, None, Some(access_token)).await
}

async fn send(method: Method, url: &str, form: Option<String>, bearer: Option<&str>) -> ProviderResult<Value> {
    let body = form.map_or(Body::None, Body::Form);
    let (status, text) = call(SERVICE, method, url, body, As { bearer, headers: &[] }).await?;
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    match status {
        200..=299 => Ok(body),
        400..=499 => Err(ProviderError::Refused { service: SERVICE, status, message: body["error"].as_str().unwrap_or("refused").to_string() }),
        _ => Err(ProviderError::unavailable(SERVICE, format!("answered {status}"))),
    }
}
