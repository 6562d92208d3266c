//! The hub's line to each app Worker: a service binding `APP_<SLUG>` (dashes become
//! underscores), generated from `apps/` by the local stack and by `fanline deploy`.

use fanline_edge::platform::error::{ApiError, ApiResult};
use worker::{Env, Request, Response};

/// Hands `req` to the app's Worker; an unknown app is a 404.
pub async fn call(req: Request, env: &Env, slug: &str) -> ApiResult<Response> {
    if !fanline_core::manifest::is_slug(slug) {
        return Err(ApiError::NotFound("app"));
    }
    let binding = format!("APP_{}", slug.to_ascii_uppercase().replace('-', "_"));
    let app = env.service(&binding).map_err(|_| ApiError::NotFound("app"))?;
    Ok(app.fetch_request(req).await?)
}
