//! The hub's line to each app Worker: a service binding `APP_<SLUG>` (dashes become
//! underscores), generated from `apps/` by the local stack and by `fanline deploy`.

use crate::shared_copies;
use fanline_edge::platform::error::{ApiError, ApiResult};
use fanline_edge::platform::http::segments;
use worker::{Env, Method, Request, Response};

/// Hands `req` to the app's Worker; an unknown app is a 404. A page every fan gets alike (not
/// under `api/`, which depends on who asks) is answered from the hub's copy while it is fresh.
pub async fn call(req: Request, env: &Env, slug: &str) -> ApiResult<Response> {
    if !fanline_core::manifest::is_slug(slug) {
        return Err(ApiError::NotFound("app"));
    }
    let binding = format!("APP_{}", slug.to_ascii_uppercase().replace('-', "_"));
    let app = env.service(&binding).map_err(|_| ApiError::NotFound("app"))?;
    let page = req.method() == Method::Get && segments(&req).get(2).is_none_or(|s| s != "api");
    if !page {
        return Ok(app.fetch_request(req).await?);
    }
    let key = req.url()?.to_string();
    if let Some(copy) = shared_copies::answer(&req, &key) {
        return Ok(copy);
    }
    shared_copies::keep(&key, app.fetch_request(req).await?).await
}
