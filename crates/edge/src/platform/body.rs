//! Reading request bodies: always as a bounded stream (a chunked upload without
//! `Content-Length` stops at the cap instead of filling the isolate's memory), and JSON always
//! through serde_json into types that refuse unknown keys. workers-rs's `Request::json()` goes
//! through serde_wasm_bindgen, which ignores `deny_unknown_fields`, so it is never used.

use super::error::{ApiError, ApiResult};
use super::http::header;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use worker::Request;

/// Webhook bodies (Stripe, PayPal, moderation) are small JSON events; 1 MiB is generous.
pub const WEBHOOK_MAX: usize = 1024 * 1024;
/// A creator or fan action's JSON body.
pub const ACTION_MAX: usize = 64 * 1024;

/// The whole body, refused with 413 as soon as it passes `max` bytes, declared or not.
pub async fn read_capped(req: &mut Request, max: usize) -> ApiResult<Vec<u8>> {
    let too_large = || ApiError::PayloadTooLarge(format!("The request body is larger than {max} bytes."));
    if header(req, "Content-Length").and_then(|l| l.parse::<u64>().ok()).is_some_and(|l| l > max as u64) {
        return Err(too_large());
    }
    // A request without a body has no stream at all.
    let Ok(mut stream) = req.stream() else { return Ok(Vec::new()) };
    let mut body = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| ApiError::bad_request("unreadable_body", "Could not read the body."))?;
        if body.len() + chunk.len() > max {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Whether a body may be read from a fan's browser as JSON: only `application/json`, which a
/// cross-site page cannot send without a CORS preflight (unlike `text/plain`).
pub fn require_json_content_type(req: &Request) -> ApiResult<()> {
    let content_type = header(req, "Content-Type").unwrap_or_default().to_ascii_lowercase();
    if content_type.split(';').next().is_some_and(|t| t.trim() == "application/json") {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType("Send the body as JSON with Content-Type: application/json.".into()))
    }
}

/// A JSON body parsed strictly into `T`: not JSON, not an object, a wrong type or an unknown
/// key is a 400 that names the problem, with `example` showing the expected shape. An empty
/// body reads as `{}` when `optional` (actions whose every key is optional).
pub async fn strict_json<T: DeserializeOwned>(req: &mut Request, example: &str, optional: bool) -> ApiResult<T> {
    let bytes = read_capped(req, ACTION_MAX).await?;
    parse_strict(&bytes, example, optional)
}

fn parse_strict<T: DeserializeOwned>(bytes: &[u8], example: &str, optional: bool) -> ApiResult<T> {
    let text =
        std::str::from_utf8(bytes).map_err(|_| ApiError::bad_request("invalid_json", format!("The body is not UTF-8 text; send JSON like {example}.")))?;
    let text = if text.trim().is_empty() && optional { "{}" } else { text };
    if !text.trim_start().starts_with('{') {
        return Err(ApiError::bad_request("invalid_json", format!("The body must be a JSON object, e.g. {example}.")));
    }
    serde_json::from_str(text).map_err(|e| ApiError::bad_request("invalid_json", format!("{}; send JSON like {example}.", describe(&e))))
}

/// serde_json's message without its line/column suffix, which means nothing to an API user.
fn describe(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}
