//! The hub's line to each app: its Worker, through a service binding `APP_<SLUG>` (dashes
//! become underscores) generated from `apps/` by the local stack and by `fanline deploy`, and
//! its manifest as the marketplace registered it.

use fanline_core::manifest::Manifest;
use fanline_edge::db::{self, apps::AppRow};
use fanline_edge::platform::config::now_ms;
use fanline_edge::platform::error::{ApiError, ApiResult};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use worker::{Env, Fetcher, Request, Response};

/// Hands `req` to the app's Worker; an unknown app is a 404.
pub async fn call(req: Request, env: &Env, slug: &str) -> ApiResult<Response> {
    Ok(binding(env, slug)?.fetch_request(req).await?)
}

fn binding(env: &Env, slug: &str) -> ApiResult<Fetcher> {
    if !fanline_core::manifest::is_slug(slug) {
        return Err(ApiError::NotFound("app"));
    }
    env.service(&format!("APP_{}", slug.to_ascii_uppercase().replace('-', "_"))).map_err(|_| ApiError::NotFound("app"))
}

/// The app's manifest as the marketplace registered it, read now: what the creator's actions
/// on requests and money go by. An app the marketplace does not know is not found.
pub async fn registered(env: &Env, slug: &str) -> ApiResult<Rc<Manifest>> {
    registration(env, slug).await?.manifest()
}

/// The app's registration as read at most `RECENT_MS` ago in this isolate: what fans' reads
/// (a request's status, their data, the pages) go by. A status a fan polls costs no extra D1
/// round trip for it; a deploy that changes the manifest reaches them within that time.
pub async fn recently_registered(env: &Env, slug: &str) -> ApiResult<Rc<AppRow>> {
    let now = now_ms();
    if let Some(row) = RECENT.with(|r| r.borrow().get(slug).filter(|(at, _)| now - at < RECENT_MS).map(|(_, row)| row.clone())) {
        return Ok(row);
    }
    let row = Rc::new(registration(env, slug).await?);
    RECENT.with(|r| {
        let mut kept = r.borrow_mut();
        // A bound, not an eviction policy: a hub serving more apps than this reads again.
        if kept.len() >= 256 {
            kept.clear();
        }
        kept.insert(slug.to_string(), (now, row.clone()));
    });
    Ok(row)
}

const RECENT_MS: i64 = 30_000;

thread_local! {
    static RECENT: RefCell<HashMap<String, (i64, Rc<AppRow>)>> = RefCell::new(HashMap::new());
}

async fn registration(env: &Env, slug: &str) -> ApiResult<AppRow> {
    if !fanline_core::manifest::is_slug(slug) {
        return Err(ApiError::NotFound("app"));
    }
    db::apps::get(&db::db(env)?, slug).await?.ok_or(ApiError::NotFound("app"))
}
