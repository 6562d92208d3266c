//! Cloudflare Turnstile's siteverify (`TURNSTILE_API_BASE` points it at the local stand-in).

use super::{ProviderError, ProviderResult};
use crate::platform::config::{config, timeout_signal};
use worker::{Env, Fetch, Headers, Method};

const SERVICE: &str = "turnstile";

/// What siteverify says of a token: whether it is real, and where and for which action it was
/// solved (`fanline_core::trust::human_check` judges them).
pub struct Siteverify {
    pub success: bool,
    pub hostname: Option<String>,
    pub action: Option<String>,
}

/// What Turnstile says of `token`, sent from `ip`. The idempotency key lets a retried check of
/// the same submission ask again without the token counting as reused.
pub async fn verify(env: &Env, token: &str, ip: &str, idempotency_key: &str) -> ProviderResult<Siteverify> {
    let secret = config(env, "TURNSTILE_SECRET_KEY", "");
    if secret.is_empty() {
        return Err(ProviderError::NotConfigured("TURNSTILE_SECRET_KEY is not configured".into()));
    }
    let base = config(env, "TURNSTILE_API_BASE", "https://challenges.cloudflare.com");
    let timeout_ms = config(env, "TURNSTILE_TIMEOUT_MS", "5000").parse().unwrap_or(5000);
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("secret", &secret).append_pair("response", token).append_pair("remoteip", ip).append_pair("idempotency_key", idempotency_key);
    let headers = Headers::new();
    headers.set("Content-Type", "application/x-www-form-urlencoded")?;
    let request = super::outgoing(Method::Post, &format!("{}/turnstile/v0/siteverify", base.trim_end_matches('/')), &headers, Some(form.finish()), true)?;
    let mut response = Fetch::Request(request)
        .send_with_signal(&timeout_signal(timeout_ms))
        .await
        .map_err(|e| ProviderError::unavailable(SERVICE, format!("no answer: {e}")))?;
    if response.status_code() != 200 {
        return Err(ProviderError::unavailable(SERVICE, format!("answered {}", response.status_code())));
    }
    let body: serde_json::Value = response.json().await.map_err(|_| ProviderError::unavailable(SERVICE, "answer is not JSON"))?;
    let text = |key: &str| body[key].as_str().map(str::to_string);
    Ok(Siteverify { success: body["success"] == true, hostname: text("hostname"), action: text("action") })
}
