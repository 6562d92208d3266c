//! The OBS overlay (`/apps/<slug>/overlay`, its script and `api/overlay`), answered by the hub
//! at the app's own URLs: it needs D1, the Cache API and the app's manifest, all of which the
//! hub has, so it is compiled once, into the hub, instead of into every app Worker (about
//! 9 KB gzipped each, measured in docs/performance.md).

use crate::app_link::registered;
use fanline_edge::live::overlay;
use fanline_edge::platform::error::{ApiError, ApiResult};
use fanline_edge::platform::http::api_answer;
use worker::{Env, Request, Response};

pub async fn page(req: &Request, env: &Env, slug: &str) -> ApiResult<Response> {
    overlay::page(req, &*registered(env, slug).await?)
}

pub fn script() -> Response {
    overlay::script()
}

pub async fn state(req: &Request, env: &Env, slug: &str) -> ApiResult<Response> {
    let answer = async {
        if let Some(hit) = overlay::cached(req).await? {
            return Ok(hit);
        }
        overlay::state(req, env, &*registered(env, slug).await?).await
    };
    Ok(api_answer(answer.await.unwrap_or_else(ApiError::into_response)))
}
