//! The hub's own copies, in this isolate's memory, of the answers every fan gets alike: an
//! app's form page, embed page, embed script and public manifest (from the app's Worker), and
//! the catalog. Each is kept for as long as its `Cache-Control` lets a shared cache keep it
//! (`public`, `max-age`), exactly what Cloudflare's edge and browsers may already do with it,
//! and answered, or 304'd, without a call to the app's Worker or to the data center's cache.
//! Every isolate keeps its own copies; the version an isolate serves is at most one lifetime old.

use fanline_core::util::cache_control::shared_lifetime;
use fanline_edge::platform::config::now_ms;
use fanline_edge::platform::error::ApiResult;
use fanline_edge::platform::http::{harden, holds_version, not_modified, NOSNIFF};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use worker::{Headers, Request, Response};

/// Enough for every page of a few hundred apps; past it the expired copies go, then all.
const MAX_COPIES: usize = 512;
/// A body larger than this is passed on but never kept.
const MAX_BODY: usize = 512 * 1024;

/// A kept `200` answer.
struct Copy {
    /// Kept on the JavaScript side: each answer copies them in one call, not one per header.
    headers: Headers,
    body: Rc<[u8]>,
    etag: Option<String>,
    cache_control: String,
    stored_at: i64,
    fresh_until: i64,
}

thread_local! {
    static COPIES: RefCell<HashMap<String, Rc<Copy>>> = RefCell::new(HashMap::new());
}

/// What a copy is kept under: the request's URL as the runtime has it (not parsed again).
pub fn key(req: &Request) -> String {
    req.inner().url()
}

/// The kept answer for `key` (the request's URL) while it is fresh: `304` when the caller
/// already holds its version, else the whole response with its `Age`; hardened either way.
pub fn answer(req: &Request, key: &str) -> Option<Response> {
    let now = now_ms();
    let copy = COPIES.with(|c| c.borrow().get(key).cloned())?;
    if copy.fresh_until <= now {
        forget(key);
        return None;
    }
    let age = ((now - copy.stored_at).max(0) / 1000).to_string();
    if let Some(etag) = copy.etag.as_deref().filter(|tag| holds_version(req, tag)) {
        let mut response = not_modified(etag, &copy.cache_control);
        let _ = response.headers_mut().set("Age", &age);
        return Some(harden(response));
    }
    copy.response(Some(&age)).ok()
}

impl Copy {
    /// The answer itself, as a new response (with `Age` when it is served as a copy).
    fn response(&self, age: Option<&str>) -> ApiResult<Response> {
        let headers = self.headers.clone();
        if let Some(age) = age {
            headers.set("Age", age)?;
        }
        Ok(Response::from_bytes(self.body.to_vec())?.with_headers(headers))
    }
}

/// Keeps a copy of `response` under `key` when a shared cache may keep it (a `200`, `public`
/// with a lifetime, no cookie set, not varying by anything but its encoding) and hands back
/// the same answer.
pub async fn keep(key: &str, mut response: Response) -> ApiResult<Response> {
    // A copy (mutable, unlike the headers of an app's answer) that already carries what
    // `harden` adds, so a copy answered before routing needs no more header calls.
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
    let copy = Copy {
        etag: header("ETag"),
        cache_control: header("Cache-Control").unwrap_or_default(),
        headers,
        body: body.into(),
        stored_at: now,
        // Capped at a day, so a year-long lifetime never outlives a deploy by much.
        fresh_until: now + lifetime.min(86_400) as i64 * 1000,
    };
    let rebuilt = copy.response(None)?;
    if copy.body.len() <= MAX_BODY {
        COPIES.with(|c| {
            let mut copies = c.borrow_mut();
            if copies.len() >= MAX_COPIES {
                copies.retain(|_, kept| kept.fresh_until > now);
                if copies.len() >= MAX_COPIES {
                    copies.clear();
                }
            }
            copies.insert(key.to_string(), Rc::new(copy));
        });
    }
    Ok(rebuilt)
}

/// Drops the copy under `key`, when what it shows has changed.
pub fn forget(key: &str) {
    COPIES.with(|c| c.borrow_mut().remove(key));
}
