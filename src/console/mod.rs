//! The creator console at `/console/`: a page and a small script served by the hub, the
//! creator's sign-in, and `/console/api/<path>`, which forwards a signed-in creator's call to
//! the creator API at `/<path>` (`/api/...` on the hub, `/apps/<slug>/api/...` on the app) with
//! the session in place of an API key. The console therefore speaks exactly the documented
//! API; this module only adds the session, its CSRF check and the pages.

pub mod pages;
mod session;

use fanline_edge::platform::error::{ApiError, ApiResult};
use fanline_edge::platform::http::{client_ip, header};
use fanline_edge::trust::limits::announce;
use worker::{Env, Headers, Method, Request, RequestInit, Response};

pub async fn route(req: Request, env: &Env, rest: &[&str]) -> ApiResult<Response> {
    match (rest, req.method()) {
        ([], Method::Get) | ([""], Method::Get) | (["index.html"], Method::Get) => Ok(pages::console()),
        (["console.js"], Method::Get) => Ok(pages::script(&req)),
        (["console.css"], Method::Get) => Ok(pages::style(&req)),
        (["signin"], Method::Get) => Ok(match session::link_address(&req, env).await {
            Ok(address) => pages::confirm_sign_in(&req, &address),
            Err(e) => pages::sign_in_failed(&e),
        }),
        (["signin"], Method::Post) => match session::email_confirm(req, env).await {
            Ok(response) => Ok(response),
            Err(e) => Ok(pages::sign_in_failed(&e)),
        },
        (["api", "signin", "key"], Method::Post) => {
            Ok(announce(env, &[session::LIMITER], session::with_key(req, env).await.unwrap_or_else(ApiError::into_response)))
        }
        (["api", "signin", "email"], Method::Post) => {
            Ok(announce(env, &[session::LIMITER], session::email_start(req, env).await.unwrap_or_else(ApiError::into_response)))
        }
        (["api", "session"], Method::Get) => session::show(&req, env).await,
        (["api", "signout"], Method::Post) => session::sign_out(&req, env).await,
        (["api", "signin" | "session" | "signout", ..], _) => Err(ApiError::MethodNotAllowed),
        _ => Err(ApiError::NotFound("route")),
    }
}

/// `/console/api/<path>` as a call to the creator API at `/<path>` by the signed-in creator
/// (after the CSRF check); the route table answers it like any other call.
pub async fn as_creator_call(mut req: Request, env: &Env, path: &[&str]) -> ApiResult<Request> {
    let (session, token) = session::current(&req, env).await?;
    let method = req.method();
    if !matches!(method, Method::Get | Method::Head) {
        session::check_csrf(&req, &session)?;
    }
    let mut url = req.url()?;
    url.set_path(&format!("/{}", path.join("/")));
    let headers = Headers::new();
    for name in ["Content-Type", "Idempotency-Key", "Accept", "If-None-Match"] {
        if let Some(value) = header(&req, name) {
            headers.set(name, &value)?;
        }
    }
    headers.set("CF-Connecting-IP", &client_ip(&req))?;
    headers.set("Authorization", &format!("Session {token}"))?;
    let mut init = RequestInit::new();
    init.with_method(method.clone()).with_headers(headers);
    if !matches!(method, Method::Get | Method::Head) {
        let body = req.text().await?;
        if !body.is_empty() {
            init.with_body(Some(body.into()));
        }
    }
    Ok(Request::new_with_init(url.as_str(), &init)?)
}
