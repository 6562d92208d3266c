//! The hub's own copies, in this isolate's memory, of the answers every fan gets alike: an
//! app's form page, embed page, embed script and public manifest (from the app's Worker), and
//! the catalog. Each is kept for as long as its `Cache-Control` lets a shared cache keep it
//! (`public`, `max-age`), exactly what Cloudflare's edge and browsers may already do with it.
//! Every isolate keeps its own copies; the version an isolate serves is at most one lifetime old.
//!
//! This module decides what is kept and for how long, and drops a copy whose content changed.
//! The copies themselves live in the hub's JavaScript entry (`src/entry.mjs`, its store in
//! `src/kept_copies.mjs`), which answers a fresh one, or its 304, before the request reaches
//! this module at all: entering the wasm module costs a cached GET more than the rest of its
//! answer (docs/performance.md). A hub run without that entry keeps nothing and answers every
//! GET itself.

use fanline_core::util::cache_control::shared_lifetime;
use fanline_edge::platform::config::now_ms;
use fanline_edge::platform::error::ApiResult;
use fanline_edge::platform::http::NOSNIFF;
use wasm_bindgen::prelude::*;
use worker::{Request, Response};

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(catch, js_namespace = fanlineKeptCopies, js_name = keep)]
    fn keep_in_entry(
        url: &str,
        headers: &worker::web_sys::Headers,
        body: &[u8],
        etag: Option<String>,
        cache_control: &str,
        stored_at: f64,
        fresh_until: f64,
    ) -> Result<(), JsValue>;
    #[wasm_bindgen(catch, js_namespace = fanlineKeptCopies, js_name = forget)]
    fn forget_in_entry(url: &str) -> Result<(), JsValue>;
}

/// What a copy is kept under: the request's URL as the runtime has it (not parsed again).
pub fn key(req: &Request) -> String {
    req.inner().url()
}

/// Keeps a copy of `response` under `key` when a shared cache may keep it (a `200`, `public`
/// with a lifetime, no cookie set, not varying by anything but its encoding) and hands back
/// the same answer.
pub async fn keep(key: &str, mut response: Response) -> ApiResult<Response> {
    // A copy (mutable, unlike the headers of an app's answer) that already carries what
    // `harden` adds, so a copy answered by the entry needs no more header calls.
    let headers = response.headers().clone();
    headers.set(NOSNIFF.0, NOSNIFF.1)?;
    let header = |name: &str| headers.get(name).ok().flatten();
    let lifetime = header("Cache-Control").as_deref().and_then(shared_lifetime);
    let varies = header("Vary").is_some_and(|v| v.split(',').any(|f| !f.trim().eq_ignore_ascii_case("accept-encoding")));
    let (Some(lifetime), 200, false, false) = (lifetime, response.status_code(), varies, header("Set-Cookie").is_some()) else {
        return Ok(response);
    };
    let body = response.bytes().await?;
    let now = now_ms();
    // Capped at a day, so a year-long lifetime never outlives a deploy by much.
    let fresh_until = now + lifetime.min(86_400) as i64 * 1000;
    let cache_control = header("Cache-Control").unwrap_or_default();
    // Without the entry (a hub started from worker-build's output directly) nothing is kept.
    let _ = keep_in_entry(key, &headers.0, &body, header("ETag"), &cache_control, now as f64, fresh_until as f64);
    Ok(Response::from_bytes(body)?.with_headers(headers))
}

/// Drops the copy under `key`, when what it shows has changed.
pub fn forget(key: &str) {
    let _ = forget_in_entry(key);
}
