//! The hub's line to each app Worker: a service binding `APP_<SLUG>` (dashes become
//! underscores), generated from `apps/` by the local stack and by `fanline deploy`.

use crate::shared_copies;
use fanline_edge::platform::error::{ApiError, ApiResult};
use worker::{Env, Fetcher, Request, Response};

/// Hands `req` to the app's Worker; an unknown app is a 404.
pub async fn call(req: Request, env: &Env, slug: &str) -> ApiResult<Response> {
    Ok(binding(env, slug)?.fetch_request(req).await?)
}

/// A GET of a page every fan gets alike (anything outside the app's `api/`, which depends on
/// who asks): answered from the hub's copy while it is fresh, else by the app and kept.
pub async fn shared_page(req: Request, env: &Env, slug: &str) -> ApiResult<Response> {
    let key = shared_copies::key(&req);
    if let Some(copy) = shared_copies::answer(&req, &key) {
        return Ok(copy);
    }
    shared_copies::keep(&key, binding(env, slug)?.fetch_request(req).await?).await
}

fn binding(env: &Env, slug: &str) -> ApiResult<Fetcher> {
    if !fanline_core::manifest::is_slug(slug) {
        return Err(ApiError::NotFound("app"));
    }
    env.service(&format!("APP_{}", slug.to_ascii_uppercase().replace('-', "_"))).map_err(|_| ApiError::NotFound("app"))
}
