//! Clients of outside services. Each only speaks HTTP (base URLs from configuration, so tests
//! point them at local servers that speak the same wire format) and returns `ProviderError`;
//! what a refusal means for a request is decided by the rules that call them.

pub mod http;
pub mod mail;
pub mod oauth;
pub mod paypal;
pub mod stripe;
pub mod turnstile;
pub mod twitch;
pub mod youtube;

use crate::platform::error::ApiError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderError {
    /// The service refused the call (a 4xx): sending it again gets the same answer.
    Refused { service: &'static str, status: u16, message: String },
    /// No usable answer (unreachable, a timeout, a 5xx, not JSON): it may work later.
    Unavailable { service: &'static str, detail: String },
    /// The platform lacks what the call needs (a key, a base URL).
    NotConfigured(String),
}

pub type ProviderResult<T> = Result<T, ProviderError>;

impl ProviderError {
    pub(crate) fn unavailable(service: &'static str, detail: impl Into<String>) -> Self {
        Self::Unavailable { service, detail: detail.into() }
    }
}

/// Sends a JSON API call and reads its answer: the body on a 2xx, `Refused` with the message
/// the service gave (found by `message`) on a 4xx, `Unavailable` otherwise. Payment calls wait
/// up to 15 s.
pub(crate) async fn json_call(
    service: &'static str,
    request: worker::Request,
    message: impl Fn(&serde_json::Value) -> Option<&str>,
) -> ProviderResult<serde_json::Value> {
    let signal = crate::platform::config::timeout_signal(15_000);
    let mut response = worker::Fetch::Request(request).send_with_signal(&signal).await.map_err(|e| ProviderError::unavailable(service, e.to_string()))?;
    let status = response.status_code();
    let text = response.text().await.unwrap_or_default();
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| ProviderError::unavailable(service, format!("answered {status} with non-JSON: {e}")))?;
    match status {
        200..=299 => Ok(value),
        400..=499 => {
            let message = message(&value).unwrap_or("the request was refused").to_string();
            Err(ProviderError::Refused { service, status, message })
        }
        _ => Err(ProviderError::unavailable(service, format!("answered {status}: {text}"))),
    }
}

impl std::fmt::Display for ProviderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Refused { service, status, message } => write!(f, "{service} refused ({status}): {message}"),
            Self::Unavailable { service, detail } => write!(f, "{service} unavailable: {detail}"),
            Self::NotConfigured(what) => write!(f, "not configured: {what}"),
        }
    }
}

/// Where a provider's answer reaches the API unchanged: a refusal is the caller's to fix (a
/// refund larger than the charge), anything else is a 502 or 503 with the detail logged.
impl From<ProviderError> for ApiError {
    fn from(e: ProviderError) -> Self {
        match e {
            ProviderError::Refused { message, .. } => ApiError::bad_request("payment_provider_refused", message),
            ProviderError::Unavailable { service, detail } => ApiError::Upstream(format!("{service}: {detail}")),
            ProviderError::NotConfigured(what) => ApiError::Misconfigured(what),
        }
    }
}

impl From<worker::Error> for ProviderError {
    fn from(e: worker::Error) -> Self {
        Self::Unavailable { service: "fetch", detail: e.to_string() }
    }
}
