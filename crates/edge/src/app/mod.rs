//! A micro-app Worker: its form page and embed script, and the request API under
//! `/apps/<slug>/`. An app crate is its manifest plus a call to `serve`; this module is its
//! route table, and each route's handler lives with its area.
//!
//! - `intake`: a fan's submission, from body to committed request and checkout.
//! - `view`: a request as the fan and its creator see it.
//! - `creator`: the creator's actions on a request (accept, complete, refund, review), which
//!   the hub answers at the app's URLs (`request_actions` in the hub), so no app Worker
//!   carries them.
//! - `evidence`: dispute evidence and attachment downloads.
//! - `export`: a fan's own data, to download or erase; and the creator's export of an app's
//!   requests, which the hub answers like the creator's actions.
//! - `page`: the form page and the embed script.

pub mod creator;
mod evidence;
pub mod export;
mod intake;
pub mod page;
mod view;

use crate::platform::config::is_local_dev;
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::http::{api_answer, conditional, harden, json, segments, IMMUTABLE_CACHE, SHARED_CACHE};
use crate::platform::meter;
use crate::trust;
use page::App;
use std::cell::RefCell;
use std::rc::Rc;
use worker::{Env, Method, Request, Response};

thread_local! {
    // An app Worker runs one manifest: it is parsed (and its pages versioned) once per isolate,
    // not per request. Keyed by the manifest text, in case an isolate ever served two.
    static LOADED: RefCell<Option<(usize, Rc<App>)>> = const { RefCell::new(None) };
}

fn loaded(manifest_json: &str) -> Result<Rc<App>, String> {
    let key = manifest_json.as_ptr() as usize ^ manifest_json.len();
    if let Some(app) = LOADED.with(|l| l.borrow().as_ref().filter(|(k, _)| *k == key).map(|(_, app)| app.clone())) {
        return Ok(app);
    }
    let app = Rc::new(App::load(manifest_json)?);
    LOADED.with(|l| *l.borrow_mut() = Some((key, app.clone())));
    Ok(app)
}

/// Entry point for an app Worker's fetch handler. Never fails: every error becomes a JSON
/// response with its status.
pub async fn serve(manifest_json: &str, req: Request, env: Env) -> worker::Result<Response> {
    let app = match loaded(manifest_json) {
        Ok(app) => app,
        Err(e) => return Ok(harden(ApiError::Misconfigured(e).into_response())),
    };
    let path = segments(&req);
    let is_api = path.get(2).is_some_and(|s| s == "api");
    let limited = edge_limited(&path, &req.method());
    meter::reset();
    let mut response = route(&app, req, &env).await.unwrap_or_else(ApiError::into_response);
    if let Some(bindings) = limited {
        response = trust::limits::announce(&env, bindings, response);
    }
    if is_local_dev(&env) {
        let _ = response.headers_mut().set("Server-Timing", &meter::server_timing());
    }
    if is_api {
        response = api_answer(response);
    }
    Ok(harden(response))
}

/// The edge limiters a route passes through, which its answers announce in `RateLimit-Policy`.
fn edge_limited(path: &[String], method: &Method) -> Option<&'static [&'static str]> {
    use trust::limits::{FAN_LIMITER, INTAKE_LIMITER};
    let rest: Vec<&str> = path.iter().skip(2).map(String::as_str).collect();
    match (rest.as_slice(), method) {
        (["api", "requests"] | ["api", "auctions", _, "bids"], Method::Post) => Some(&[INTAKE_LIMITER, FAN_LIMITER]),
        (["api", "credits" | "tiers", "checkout"] | ["auth", "email", "start"], Method::Post) => Some(&[INTAKE_LIMITER]),
        _ => None,
    }
}

async fn route(app: &App, req: Request, env: &Env) -> ApiResult<Response> {
    let manifest = &app.manifest;
    let path = segments(&req);
    let parts: Vec<&str> = path.iter().map(String::as_str).collect();
    let method = req.method();
    match (parts.as_slice(), method) {
        (["apps", slug, rest @ ..], method) if *slug == manifest.slug => match (rest, method) {
            ([], Method::Get) | (["index.html"], Method::Get) => Ok(conditional(&req, &app.etag, SHARED_CACHE, || page::form_page(app))),
            (["embed"], Method::Get) => Ok(conditional(&req, &app.etag, SHARED_CACHE, || page::embed_page(app))),
            (["embed.js"], Method::Get) => {
                // The page asks for `embed.js?v=<version>`: that URL is this build's forever.
                let pinned = req.url()?.query_pairs().any(|(k, v)| k == "v" && v == app.version());
                Ok(conditional(&req, &app.etag, if pinned { IMMUTABLE_CACHE } else { SHARED_CACHE }, || page::embed_script(manifest)))
            }
            #[cfg(feature = "paypal")]
            (["paypal", "return"], Method::Get) => crate::money::paypal::approval_return(&req, env, manifest).await,
            #[cfg(feature = "sign-in")]
            (["auth", "email", "start"], Method::Post) => trust::signin::email_start(req, env, manifest).await,
            #[cfg(feature = "sign-in")]
            (["auth", "email", "confirm"], Method::Get) => trust::signin::email_confirm(&req, env, manifest).await,
            #[cfg(feature = "sign-in")]
            (["auth", provider, "start"], Method::Get) => trust::signin::start(&req, env, manifest, provider).await,
            #[cfg(feature = "sign-in")]
            (["auth", provider, "callback"], Method::Get) => trust::signin::callback(&req, env, manifest, provider).await,
            #[cfg(feature = "sign-in")]
            (["auth", "logout"], Method::Post) => trust::signin::logout(&req, manifest),
            #[cfg(feature = "sign-in")]
            (["auth", "popup"], Method::Get) => trust::signin::popup_page(&req, env, manifest),
            #[cfg(feature = "sign-in")]
            (["auth", "popup.js"], Method::Get) => Ok(trust::signin::popup_script()),
            #[cfg(feature = "sign-in")]
            (["api", "session"], Method::Post) => trust::signin::exchange(req, env, manifest).await,
            #[cfg(feature = "sign-in")]
            (["api", "session"], Method::Get) => trust::signin::session(&req, env, manifest),
            (["manifest.json"], Method::Get) => Ok(conditional(&req, &app.etag, SHARED_CACHE, || json(200, &page::public_manifest(manifest)))),
            (["api", "requests", ..], Method::Options) => Ok(Response::empty()?.with_status(204)),
            (["api", "requests"], Method::Post) => intake::create(req, env, manifest, None).await,
            #[cfg(feature = "credits")]
            (["api", "me"], Method::Get) => crate::money::credits::me(&req, env, manifest).await,
            (["api", "form-token"], Method::Get) => intake::form_token(env, manifest),
            (["api", "status"], Method::Get) => trust::limits::status(env, manifest).await,
            #[cfg(feature = "credits")]
            (["api", "credits", "checkout"], Method::Post) => crate::money::credits::checkout(req, env, manifest).await,
            #[cfg(feature = "credits")]
            (["api", "tiers", "checkout"], Method::Post) => crate::money::tiers::checkout(req, env, manifest).await,
            #[cfg(feature = "credits")]
            (["api", "tiers", "cancel"], Method::Post) => crate::money::tiers::cancel(&req, env, manifest).await,
            #[cfg(feature = "auctions")]
            (["api", "auctions"], Method::Get) => crate::money::auctions::list(env, manifest).await,
            #[cfg(feature = "auctions")]
            (["api", "auctions"], Method::Post) => crate::money::auctions::open(req, env, manifest).await,
            #[cfg(feature = "auctions")]
            (["api", "auctions", id], Method::Get) => crate::money::auctions::show(env, manifest, id).await,
            (["api", "auctions", id, "bids"], Method::Post) => {
                let id = id.to_string();
                intake::create(req, env, manifest, Some(&id)).await
            }
            (["api", ..], Method::Options) => Ok(Response::empty()?.with_status(204)),
            (["api", "requests", id], Method::Get) => view::show(&req, env, manifest, id).await,
            (["api", "requests", id, "rating"], Method::Post) => view::rate(req, env, manifest, id).await,
            (["api", "views"], Method::Post) => view::count_view(&req, env, manifest).await,
            (["api", "me", "data"], Method::Get) => export::fan_export(&req, env, manifest).await,
            (["api", "me", "data"], Method::Delete) => export::fan_erase(&req, env, manifest).await,
            #[cfg(feature = "sign-in")]
            (["api", "me", "links"], Method::Post) => trust::fans::link(&req, env, manifest, false).await,
            #[cfg(feature = "sign-in")]
            (["api", "me", "links"], Method::Delete) => trust::fans::link(&req, env, manifest, true).await,
            (["api", "requests", id, "evidence"], Method::Get) => evidence::evidence(&req, env, manifest, id).await,
            (["api", "requests", id, "attachments", field], Method::Get) => evidence::attachment_file(&req, env, manifest, id, field).await,
            // A part this app's manifest does not use is not compiled into its Worker.
            (["auth", ..] | ["api", "session"] | ["api", "me", "links"], _) if !cfg!(feature = "sign-in") => {
                Err(ApiError::NotFound("route: this app has no sign-in"))
            }
            (["paypal", ..], _) if !cfg!(feature = "paypal") => Err(ApiError::NotFound("route: this app takes no PayPal")),
            (["api", "me"] | ["api", "credits" | "tiers", ..], _) if !cfg!(feature = "credits") => {
                Err(ApiError::NotFound("route: this app sells no credit packs or tiers"))
            }
            (["api", "auctions", ..], _) if !cfg!(feature = "auctions") => Err(ApiError::NotFound("route: this app holds no auctions")),
            ([], _)
            | (["embed" | "embed.js" | "manifest.json" | "index.html" | "overlay" | "overlay.js"], _)
            | (["api", "requests" | "me" | "credits" | "tiers" | "auctions" | "form-token" | "status" | "session" | "views" | "export" | "overlay", ..], _) => {
                Err(ApiError::MethodNotAllowed)
            }
            _ => Err(ApiError::NotFound("route")),
        },
        _ => Err(ApiError::NotFound("route")),
    }
}
