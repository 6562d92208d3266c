//! `/apps/<slug>/overlay?token=...`: a browser source for OBS showing what plays now and what
//! comes next. The page polls `GET /apps/<slug>/api/overlay?token=...` every second; each
//! answer is kept a second in the data center's cache, so any number of overlays (and
//! refreshes) cost D1 at most one read of the queue per second per location. The hub answers
//! these at the app's URLs (its `live::overlay`), so no app Worker carries them.

use crate::db::{self, requests::QueueFilter};
use crate::platform::config::now_ms;
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::http::{escape_html, html_page, json, query_param, with_content_type, NO_STORE};
use fanline_core::lifecycle::Status;
use fanline_core::live::overlay::{entry, next_count, Entry, Source};
use fanline_core::manifest::Manifest;
use fanline_core::util::time::rfc3339;
use serde_json::{json, Map, Value};
use worker::{Cache, Env, Request, Response};

const OVERLAY_JS: &str = include_str!("overlay.js");

/// How long one answer serves every overlay of the app in a data center.
const CACHE_SECS: u32 = 1;

/// The page OBS loads. The token is checked by the data it polls, so a wrong one shows a
/// message in the overlay rather than a browser error page on stream.
pub fn page(req: &Request, manifest: &Manifest) -> ApiResult<Response> {
    let token = query_param(req, "token").unwrap_or_default();
    let html = format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} · overlay</title>
<style>html,body{{background:transparent;margin:0;overflow:hidden}}</style>
</head><body>
<script src="/apps/{slug}/overlay.js" data-app="{slug}" data-token="{token}"></script>
</body></html>"#,
        title = escape_html(&manifest.title),
        slug = manifest.slug,
        token = escape_html(&token),
    );
    // The form page's policy: OBS shows it as a top-level page, nothing needs to frame it.
    let mut response = html_page(html);
    response.headers_mut().set("Cache-Control", NO_STORE)?;
    response.headers_mut().set("Referrer-Policy", "no-referrer")?;
    Ok(response)
}

pub fn script() -> Response {
    with_content_type(OVERLAY_JS, "text/javascript; charset=utf-8")
}

/// The answer to this `GET .../api/overlay` that the data center keeps, if it is still fresh;
/// asked before anything else, the app's manifest included, is read.
pub async fn cached(req: &Request) -> ApiResult<Option<Response>> {
    Ok(Cache::default().get(cache_key(req), false).await?)
}

/// What an answer is kept under: the request's URL, token and `next` included, as the
/// runtime has it.
fn cache_key(req: &Request) -> String {
    req.inner().url()
}

/// `GET /apps/<slug>/api/overlay?token=...[&next=5]`: `{now, next, updated_at}`, read when
/// `cached` has none.
pub async fn state(req: &Request, env: &Env, manifest: &Manifest) -> ApiResult<Response> {
    let key = cache_key(req);
    let db = db::db(env)?;
    let token = query_param(req, "token").unwrap_or_default();
    let known = db::overlay_tokens::get(&db, &manifest.slug).await?;
    if token.is_empty() || known.as_deref() != Some(token.as_str()) {
        return Err(ApiError::Forbidden {
            code: "invalid_overlay_token",
            message: "This overlay link is not valid (it may have been rotated); get the current one from GET /api/apps/<slug>/overlay.".into(),
        });
    }
    let apps = [manifest.slug.clone()];
    let rows = db::requests::queue(&db, &QueueFilter { apps: &apps, statuses: &[Status::Accepted, Status::Queued], text: None, limit: 50 }).await?;
    let shown = |r: &db::requests::QueueRow| -> Entry {
        let fields: Map<String, Value> = serde_json::from_str(&r.fields).unwrap_or_default();
        let identity: Option<Value> = r.identity.as_deref().and_then(|i| serde_json::from_str(i).ok());
        let name = identity.as_ref().and_then(|i| i["name"].as_str());
        entry(manifest, &Source { fields: &fields, identity_name: name })
    };
    // Playing now: what the creator accepted last; next: the queue in working order.
    let now = rows.iter().filter(|r| r.status == Status::Accepted.as_str()).max_by_key(|r| r.updated_at).map(shown);
    let next: Vec<Entry> =
        rows.iter().filter(|r| r.status == Status::Queued.as_str()).take(next_count(query_param(req, "next").as_deref())).map(shown).collect();
    let mut response = json(200, &json!({"app": manifest.slug, "now": now, "next": next, "updated_at": rfc3339(now_ms())}));
    response.headers_mut().set("Cache-Control", &format!("public, max-age={CACHE_SECS}"))?;
    Cache::default().put(key.as_str(), response.cloned()?).await?;
    Ok(response)
}
