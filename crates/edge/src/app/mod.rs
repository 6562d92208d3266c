//! A micro-app Worker and what the hub answers at the same URLs under `/apps/<slug>/`. An app
//! crate is its manifest plus a call to `serve`, and its Worker does what must happen at the
//! edge for that one app: intake behind the edge limiters, with what its manifest's optional
//! parts add to it (the signed-in fan's session, credits spent, auction bids, PayPal orders),
//! and the form-view count behind its own limiter. Everything else at an app's URLs, sign-in
//! and buying credit packs and tiers included, is the same code for every app, so the hub
//! answers it (its `routes`), compiled once instead of into every app Worker.
//!
//! - `intake`: a fan's submission, from body to committed request and checkout (app Worker).
//! - `view`: a request as the fan and its creator see it, and its rating (hub); form views
//!   (app Worker).
//! - `creator`: the creator's actions on a request (accept, complete, refund, review) (hub).
//! - `evidence`: dispute evidence and attachment downloads (hub).
//! - `export`: a fan's own data, to download or erase; the creator's export of an app (hub).
//! - `page`: the form page, the embed page and script, the public manifest (hub).

pub mod creator;
pub mod evidence;
pub mod export;
mod intake;
pub mod page;
pub mod view;

use crate::platform::config::is_local_dev;
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::http::{api_answer, harden, segments};
use crate::platform::meter;
use crate::trust;
use fanline_core::manifest::{Feature, Manifest};
use std::cell::RefCell;
use std::rc::Rc;
use worker::{Env, Method, Request, Response};

/// An app's manifest, built by `fanline_edge::manifest!()` from the checked `manifest.json`
/// the Worker was compiled with. An error means a value the crate refuses to build (the build
/// checked it, so only a Worker compiled against another version of the rules sees one).
pub type Baked = fn() -> Result<Manifest, String>;

thread_local! {
    // An app Worker runs one manifest: built once per isolate, not per request. Keyed by the
    // function that builds it, in case an isolate ever served two.
    static LOADED: RefCell<Option<(usize, Rc<Manifest>)>> = const { RefCell::new(None) };
}

fn loaded(baked: Baked) -> Result<Rc<Manifest>, String> {
    let key = baked as usize;
    if let Some(app) = LOADED.with(|l| l.borrow().as_ref().filter(|(k, _)| *k == key).map(|(_, app)| app.clone())) {
        return Ok(app);
    }
    let manifest = baked().map_err(|e| format!("manifest: {e}"))?;
    if let Some(missing) = manifest.features().into_iter().find(|f| !built_with(*f)) {
        return Err(format!(
            "this app's manifest uses '{}' but its Worker was built without that fanline-edge feature; build it with scripts/build-worker.sh",
            missing.cargo_name()
        ));
    }
    let app = Rc::new(manifest);
    LOADED.with(|l| *l.borrow_mut() = Some((key, app.clone())));
    Ok(app)
}

/// The answer at a route of an optional part this app's manifest does not use, whichever
/// Worker (the app's or the hub) answers it.
pub fn part_not_used(feature: Feature) -> ApiError {
    ApiError::NotFound(match feature {
        Feature::SignIn => "route: this app has no sign-in",
        Feature::Paypal => "route: this app takes no PayPal",
        Feature::Credits => "route: this app sells no credit packs or tiers",
        Feature::Auctions => "route: this app holds no auctions",
    })
}

fn built_with(feature: Feature) -> bool {
    match feature {
        Feature::SignIn => cfg!(feature = "sign-in"),
        Feature::Paypal => cfg!(feature = "paypal"),
        Feature::Credits => cfg!(feature = "credits"),
        Feature::Auctions => cfg!(feature = "auctions"),
    }
}

/// Entry point for an app Worker's fetch handler. Never fails: every error becomes a JSON
/// response with its status.
pub async fn serve(manifest: Baked, req: Request, env: Env) -> worker::Result<Response> {
    let app = match loaded(manifest) {
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
        _ => None,
    }
}

async fn route(manifest: &Manifest, req: Request, env: &Env) -> ApiResult<Response> {
    let path = segments(&req);
    let parts: Vec<&str> = path.iter().map(String::as_str).collect();
    let method = req.method();
    match (parts.as_slice(), method) {
        (["apps", slug, rest @ ..], method) if *slug == manifest.slug => match (rest, method) {
            (["api", "requests", ..], Method::Options) => Ok(Response::empty()?.with_status(204)),
            (["api", "requests"], Method::Post) => intake::create(req, env, manifest, None).await,
            (["api", "form-token"], Method::Get) => intake::form_token(&req, env, manifest),
            (["api", "auctions", id, "bids"], Method::Post) => {
                let id = id.to_string();
                intake::create(req, env, manifest, Some(&id)).await
            }
            (["api", ..], Method::Options) => Ok(Response::empty()?.with_status(204)),
            // Counted here, behind this app's own limiter, which bounds the views one address adds.
            (["api", "views"], Method::Post) => view::count_view(&req, env, manifest).await,
            // A part this app's manifest does not use is not compiled into its Worker.
            (["auth", ..] | ["api", "session"] | ["api", "me", "links"], _) if !cfg!(feature = "sign-in") => Err(part_not_used(Feature::SignIn)),
            (["api", "me"] | ["api", "credits" | "tiers", ..], _) if !cfg!(feature = "credits") => Err(part_not_used(Feature::Credits)),
            (["api", "auctions", ..], _) if !cfg!(feature = "auctions") => Err(part_not_used(Feature::Auctions)),
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
