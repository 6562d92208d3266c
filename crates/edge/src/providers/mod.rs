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

/// An outgoing call, built on the runtime's own `Request`: `worker::Request::new_with_init`
/// also converts Cloudflare's `cf` options, which no call here sets, at about 6 KB of wasm in
/// every app. Redirects are followed unless `follow_redirects` is false.
pub(crate) fn outgoing(
    method: worker::Method,
    url: &str,
    headers: &worker::Headers,
    body: Option<String>,
    follow_redirects: bool,
) -> worker::Result<worker::Request> {
    use worker::web_sys;
    let init = web_sys::RequestInit::new();
    init.set_method(method.as_ref());
    init.set_headers(headers.as_ref());
    if let Some(body) = body {
        init.set_body(&body.into());
    }
    if !follow_redirects {
        init.set_redirect(web_sys::RequestRedirect::Manual);
    }
    web_sys::Request::new_with_str_and_init(url, &init)
        .map(worker::Request::from)
        .map_err(|_| worker::Error::RustError("invalid URL or options for an outgoing request".into()))
}

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

/// The marketplace's own OAuth application at a provider (Twitch for channels, Google for
/// YouTube): its credentials, from `OAUTH_<NAME>_CLIENT_ID` / `_CLIENT_SECRET`, and its
/// endpoints, from `OAUTH_<NAME>_AUTHORIZE_URL` / `_TOKEN_URL` or the provider's own.
pub struct OAuthApp {
    pub client_id: String,
    client_secret: String,
    pub authorize_url: String,
    pub token_url: String,
}

impl OAuthApp {
    pub fn from_env(env: &worker::Env, name: &str, authorize: &str, token: &str) -> Result<Self, ApiError> {
        use crate::platform::config::{config, required_config};
        Ok(Self {
            client_id: required_config(env, &format!("OAUTH_{name}_CLIENT_ID"))?,
            client_secret: required_config(env, &format!("OAUTH_{name}_CLIENT_SECRET"))?,
            authorize_url: config(env, &format!("OAUTH_{name}_AUTHORIZE_URL"), authorize),
            token_url: config(env, &format!("OAUTH_{name}_TOKEN_URL"), token),
        })
    }

    /// The token endpoint's form for a grant (`client_credentials`, `authorization_code` with
    /// `code` and `redirect_uri`, `refresh_token` with `refresh_token`).
    pub(crate) fn grant_form(&self, grant_type: &str, extra: &[(&str, &str)]) -> String {
        let mut pairs = vec![("client_id", self.client_id.as_str()), ("client_secret", self.client_secret.as_str()), ("grant_type", grant_type)];
        pairs.extend_from_slice(extra);
        form(&pairs)
    }
}

/// A call's body.
pub(crate) enum Body {
    None,
    Form(String),
    Json(serde_json::Value),
}

/// Who a call is made as: a bearer token and extra headers (Twitch's `Client-Id`), both optional.
#[derive(Default)]
pub(crate) struct As<'a> {
    pub bearer: Option<&'a str>,
    pub headers: &'a [(&'a str, &'a str)],
}

/// One call to an OAuth or API endpoint, within 10 s: its status and text, whatever the
/// status. Only no answer at all is an error.
pub(crate) async fn call(service: &'static str, method: worker::Method, url: &str, body: Body, who: As<'_>) -> ProviderResult<(u16, String)> {
    let headers = worker::Headers::new();
    headers.set("Accept", "application/json")?;
    if let Some(token) = who.bearer {
        headers.set("Authorization", &format!("Bearer {token}"))?;
    }
    for (name, value) in who.headers {
        headers.set(name, value)?;
    }
    let body = match body {
        Body::None => None,
        Body::Form(form) => {
            headers.set("Content-Type", "application/x-www-form-urlencoded")?;
            Some(form)
        }
        Body::Json(value) => {
            headers.set("Content-Type", "application/json")?;
            Some(value.to_string())
        }
    };
    let mut response = worker::Fetch::Request(outgoing(method, url, &headers, body, true)?)
        .send_with_signal(&crate::platform::config::timeout_signal(10_000))
        .await
        .map_err(|e| ProviderError::unavailable(service, e.to_string()))?;
    let status = response.status_code();
    Ok((status, response.text().await.unwrap_or_default()))
}

/// An `application/x-www-form-urlencoded` body.
pub(crate) fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}

/// One value for a URL's query.
pub(crate) fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

impl From<worker::Error> for ProviderError {
    fn from(e: worker::Error) -> Self {
        Self::Unavailable { service: "fetch", detail: e.to_string() }
    }
}
