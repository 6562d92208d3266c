//! Performs an `HttpCall` that `fanline_core::delivery::destination` built for a destination
//! (Discord, a webhook, Trello, Twilio, Notion, Airtable, SendGrid). Redirects are never
//! followed; the error text never includes the URL (it may carry a token, as Discord's do).

use crate::platform::config::timeout_signal;
use fanline_core::delivery::destination::HttpCall;
use worker::{Fetch, Headers, Method};

pub struct Answer {
    pub status: u16,
    pub retry_after: Option<String>,
    /// Read only to learn what a create made (a Trello card's id) or find one; empty past
    /// `ANSWER_MAX_BYTES` rather than cut into invalid JSON.
    pub body: String,
}

impl Answer {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

const ANSWER_MAX_BYTES: usize = 512 * 1024;

/// The answer, or why there was none (unreachable, or no answer within `timeout_ms`).
pub async fn send(call: HttpCall, timeout_ms: u32) -> Result<Answer, String> {
    let headers = Headers::new();
    for (name, value) in &call.headers {
        headers.set(name, value).map_err(|_| format!("could not set the {name} header"))?;
    }
    let method = match call.method {
        "GET" => Method::Get,
        "PUT" => Method::Put,
        _ => Method::Post,
    };
    let body = (!call.body.is_empty()).then_some(call.body);
    let request = super::outgoing(method, &call.url, &headers, body, false).map_err(|_| "the target URL was refused".to_string())?;
    let mut response = match Fetch::Request(request).send_with_signal(&timeout_signal(timeout_ms)).await {
        Ok(response) => response,
        Err(e) if e.to_string().to_ascii_lowercase().contains("abort") => return Err(format!("no answer within {timeout_ms} ms")),
        Err(_) => return Err("could not connect".to_string()),
    };
    let retry_after = response.headers().get("Retry-After").ok().flatten();
    let status = response.status_code();
    // Read as a stream that stops at the cap: a receiver answering hundreds of MB never
    // reaches the isolate's memory. Error bodies are not read at all.
    let mut body = Vec::new();
    if (200..300).contains(&status) {
        if let Ok(mut stream) = response.stream() {
            while let Some(Ok(chunk)) = futures_util::StreamExt::next(&mut stream).await {
                if body.len() + chunk.len() > ANSWER_MAX_BYTES {
                    body.clear();
                    break;
                }
                body.extend_from_slice(&chunk);
            }
        }
    }
    Ok(Answer { status, retry_after, body: String::from_utf8(body).unwrap_or_default() })
}
