//! Cloudflare Turnstile at intake: the token is checked with siteverify (base URL from
//! configuration). Fails closed: no answer from the verifier means no request.

use crate::error::{ApiError, ApiResult};
use crate::platform::{config, required_config, timeout_signal};
use worker::{Env, Fetch, Headers, Method, Request, RequestInit};

pub async fn verify(env: &Env, token: Option<&str>, ip: &str, idempotency_key: &str) -> ApiResult<()> {
    let Some(token) = token.map(str::trim).filter(|t| !t.is_empty() && t.len() <= 2048) else {
        return Err(ApiError::Forbidden { code: "turnstile_required", message: "Complete the human check (Turnstile) and send its token as turnstile_token.".into() });
    };
    let secret = required_config(env, "TURNSTILE_SECRET_KEY")?;
    let base = config(env, "TURNSTILE_API_BASE", "https://challenges.cloudflare.com");
    let timeout_ms = config(env, "TURNSTILE_TIMEOUT_MS", "5000").parse().unwrap_or(5000);
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("secret", &secret).append_pair("response", token).append_pair("remoteip", ip).append_pair("idempotency_key", idempotency_key);
    let headers = Headers::new();
    headers.set("Content-Type", "application/x-www-form-urlencoded")?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_headers(headers).with_body(Some(form.finish().into()));
    let request = Request::new_with_init(&format!("{}/turnstile/v0/siteverify", base.trim_end_matches('/')), &init)?;
    let unavailable = || ApiError::Unavailable("The human check could not be verified right now; please try again.".into());
    let mut response = Fetch::Request(request).send_with_signal(&timeout_signal(timeout_ms)).await.map_err(|e| {
        worker::console_warn!("turnstile siteverify did not answer: {e}");
        unavailable()
    })?;
    if response.status_code() != 200 {
        worker::console_warn!("turnstile siteverify answered {}", response.status_code());
        return Err(unavailable());
    }
    let body: serde_json::Value = response.json().await.map_err(|_| unavailable())?;
    if body["success"] == true {
        Ok(())
    } else {
        Err(ApiError::Forbidden { code: "turnstile_failed", message: "The human check failed; please try it again.".into() })
    }
}
