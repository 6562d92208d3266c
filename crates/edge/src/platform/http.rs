//! Small HTTP helpers shared by every Worker.

use serde::Serialize;
use worker::{Headers, Request, Response};

pub fn json<T: Serialize>(status: u16, body: &T) -> Response {
    let text = serde_json::to_string(body).unwrap_or_else(|_| "{}".into());
    let headers = Headers::new();
    let _ = headers.set("Content-Type", "application/json; charset=utf-8");
    Response::ok(text).map(|r| r.with_status(status).with_headers(headers)).unwrap_or_else(|_| Response::empty().unwrap().with_status(500))
}

pub fn with_content_type(body: impl Into<String>, content_type: &str) -> Response {
    let headers = Headers::new();
    let _ = headers.set("Content-Type", content_type);
    let _ = headers.set("Cache-Control", "no-cache");
    Response::ok(body).map(|r| r.with_headers(headers)).unwrap_or_else(|_| Response::empty().unwrap().with_status(500))
}

/// An answer of an app's request API (`/apps/<slug>/api/...`), whichever Worker gave it: what
/// it says depends on who asks, so nothing may keep it, and any origin may read it.
pub fn api_answer(mut response: Response) -> Response {
    if !response.headers().has("Cache-Control").unwrap_or(false) {
        let _ = response.headers_mut().set("Cache-Control", NO_STORE);
    }
    allow_any_origin(response)
}

/// Fans post from creators' own sites, so the request API is open to any origin; it never
/// uses cookies, so no credentials are allowed across origins.
pub fn allow_any_origin(mut response: Response) -> Response {
    let headers = response.headers_mut();
    let _ = headers.set("Access-Control-Allow-Origin", "*");
    let _ = headers.set("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
    let _ = headers.set("Access-Control-Allow-Headers", "Content-Type, Idempotency-Key, Authorization, Fan-Token, Fanline-Access, Fanline-Session");
    let _ = headers.set("Access-Control-Max-Age", "600");
    response
}

pub fn header(req: &Request, name: &str) -> Option<String> {
    req.headers().get(name).ok().flatten()
}

/// The caller's address as Cloudflare reports it.
pub fn client_ip(req: &Request) -> String {
    header(req, "CF-Connecting-IP").unwrap_or_else(|| "unknown".into())
}

/// `https://host` of the incoming request, for links we hand back.
pub fn origin(req: &Request) -> String {
    fanline_core::util::origin::origin_of_url(&req.inner().url())
}

/// One query parameter's value, decoded (the first, when it is given twice).
pub fn query_param(req: &Request, name: &str) -> Option<String> {
    fanline_core::util::origin::query_value(&req.inner().url(), name)
}

/// A redirect to `to` that no cache keeps, setting `cookies`.
pub fn redirect(to: &str, status: u16, cookies: &[String]) -> worker::Result<Response> {
    let headers = Headers::new();
    headers.set("Location", to)?;
    headers.set("Cache-Control", NO_STORE)?;
    for cookie in cookies {
        headers.append("Set-Cookie", cookie)?;
    }
    Ok(Response::empty()?.with_status(status).with_headers(headers))
}

/// The body of a CSV download named `filename`; never stored (it is the creator's data).
pub fn csv_download(body: String, filename: &str) -> Response {
    let mut response = with_content_type(body, "text/csv; charset=utf-8");
    let _ = response.headers_mut().set("Content-Disposition", &format!("attachment; filename=\"{filename}\""));
    let _ = response.headers_mut().set("Cache-Control", NO_STORE);
    response
}

/// Path split into its non-empty segments.
pub fn segments(req: &Request) -> Vec<String> {
    req.path().split('/').filter(|s| !s.is_empty()).map(str::to_string).collect()
}

/// Headers every response carries: browsers never guess a content type (a fan's upload or a
/// JSON error is never run as a page or script).
pub fn harden(mut response: Response) -> Response {
    let _ = response.headers_mut().set(NOSNIFF.0, NOSNIFF.1);
    response
}

/// The header `harden` sets, for a copy that carries it already.
pub const NOSNIFF: (&str, &str) = ("X-Content-Type-Options", "nosniff");

/// Pages and scripts every fan gets alike: Cloudflare's edge and browsers keep them a minute
/// and may serve a stale copy for ten while fetching the new one.
pub const SHARED_CACHE: &str = "public, max-age=60, stale-while-revalidate=600";
/// A URL that names its version (`embed.js?v=<version>`) never changes.
pub const IMMUTABLE_CACHE: &str = "public, max-age=31536000, immutable";
/// Anything that depends on who asks (a request's status, a checkout) is never stored.
pub const NO_STORE: &str = "no-store";

pub use fanline_core::util::version::etag;

/// Whether the caller already holds this version (`If-None-Match` names it, or `*`).
pub fn holds_version(req: &Request, etag: &str) -> bool {
    header(req, "If-None-Match").is_some_and(|v| v.split(',').map(|t| t.trim().trim_start_matches("W/")).any(|t| t == etag || t == "*"))
}

/// The version headers of a cacheable response.
pub fn versioned(mut response: Response, etag: &str, cache_control: &str) -> Response {
    let headers = response.headers_mut();
    let _ = headers.set("ETag", etag);
    let _ = headers.set("Cache-Control", cache_control);
    response
}

/// `304 Not Modified` for a caller that holds `etag`.
pub fn not_modified(etag: &str, cache_control: &str) -> Response {
    versioned(Response::empty().map(|r| r.with_status(304)).unwrap_or_else(|_| Response::empty().unwrap()), etag, cache_control)
}

/// Answers a cacheable GET: 304 when the caller holds `etag`, else what `build` makes, with
/// its version headers either way.
pub fn conditional(req: &Request, etag: &str, cache_control: &str, build: impl FnOnce() -> Response) -> Response {
    if holds_version(req, etag) {
        return not_modified(etag, cache_control);
    }
    versioned(build(), etag, cache_control)
}

/// What the form page may load and where it may send: its own script and API, Cloudflare
/// Turnstile's widget, inline styles (the embed styles its shadow root). Nothing may frame it,
/// so a hostile page cannot overlay its payment and sign-in buttons (clickjacking).
pub const FORM_PAGE_CSP: &str = "default-src 'none'; script-src 'self' https://challenges.cloudflare.com; frame-src https://challenges.cloudflare.com; connect-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// An HTML page with its Content-Security-Policy.
pub fn html_page(html: String) -> Response {
    let mut response = with_content_type(html, "text/html; charset=utf-8");
    let _ = response.headers_mut().set("Content-Security-Policy", FORM_PAGE_CSP);
    response
}

pub fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}
