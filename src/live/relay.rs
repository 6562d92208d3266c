//! Submitting a viewer's chat request at an app, through the app's own intake (moderation,
//! block list, quotas and capacity apply as on the web form). The hub vouches for the viewer
//! with a sealed relay token (the app limits per viewer, not per platform address), and the
//! platform's message id is the Idempotency-Key, so a message redelivered or re-read makes one
//! request.

use crate::app_link;
use fanline_core::live::chat::{self, Refusal};
use fanline_core::manifest::ChatRules;
use fanline_core::trust::identity::{self, Identity};
use fanline_edge::platform::config::{now_ms, required_config};
use fanline_edge::platform::error::ApiResult;
use fanline_edge::trust::signin::RELAY_HEADER;
use serde_json::{json, Value};
use worker::{console_warn, Env, Headers, Method, Request, RequestInit};

/// What the app did with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Submitted {
    /// A request was made (or had been made for this message): its outbox tells the viewer.
    Taken,
    /// Refused, for a reason the viewer may be told.
    Refused(Refusal),
    /// The app could not answer: try the message again later.
    Retry,
}

/// The request body a command's text makes: the fields it fills, and, when the viewer's
/// sign-in is linked to a fan, the chat add-ons bought with that fan's credits.
pub fn body(rules: &ChatRules, text: &str, viewer_login: &str, linked: bool) -> Value {
    let paid = linked && !rules.add_ons.is_empty();
    json!({
        "fields": chat::fields(rules, text, viewer_login),
        "add_ons": if paid { rules.add_ons.clone() } else { Vec::new() },
        "pay_with": paid.then_some("credits"),
    })
}

/// One submission of a relayed request.
pub struct Relayed<'a> {
    pub env: &'a Env,
    /// The hub's public origin, for the request's links.
    pub origin: &'a str,
    pub app_slug: &'a str,
    pub who: &'a Identity,
    pub body: Value,
    /// `twitch:<message id>`, `youtube:<message id>`.
    pub idempotency_key: String,
}

pub async fn submit(r: Relayed<'_>) -> ApiResult<Submitted> {
    let secret = required_config(r.env, "SESSION_SECRET")?;
    let headers = Headers::new();
    headers.set("Content-Type", "application/json")?;
    headers.set(RELAY_HEADER, &identity::relay_token(secret.as_bytes(), r.app_slug, r.who, now_ms() / 1000))?;
    headers.set("Idempotency-Key", &r.idempotency_key)?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_headers(headers).with_body(Some(r.body.to_string().into()));
    let request = Request::new_with_init(&format!("{}/apps/{}/api/requests", r.origin, r.app_slug), &init)?;
    let mut answer = app_link::call(request, r.env, r.app_slug).await?;
    let status = answer.status_code();
    if (200..300).contains(&status) {
        return Ok(Submitted::Taken);
    }
    let error: Value = answer.json().await.unwrap_or(Value::Null);
    let refusal = Refusal::from_code(error["error"]["code"].as_str().unwrap_or_default());
    if refusal == Refusal::TryAgain && status >= 500 {
        console_warn!("chat relay to {}: the app answered {status}", r.app_slug);
        return Ok(Submitted::Retry);
    }
    Ok(Submitted::Refused(refusal))
}
