//! The hub's route table: the marketplace, the creator API, the webhooks, and `/apps/<slug>/`:
//! what every app answers alike, answered here, and the rest forwarded to the app's Worker
//! through its service binding. A fan's submission or bid, spelled exactly, never reaches this
//! table: the entry (`src/app_forward.mjs`) forwards it to the same binding itself.

use crate::app_common::{self, CommonRoute};
use crate::request_actions::{self, Action};
use crate::{app_link, console, creator_api, live, marketplace, webhooks};
use fanline_edge::platform::config::{config, is_local_dev};
use fanline_edge::platform::error::{ApiError, ApiResult};
use fanline_edge::platform::http::{allow_any_origin, json, segments, with_content_type, NO_STORE, SHARED_CACHE};
use fanline_edge::trust::limits::{announce, WEBHOOK_LIMITER};
use worker::{Env, Headers, Method, Request, Response};

pub async fn route(req: Request, env: &Env) -> ApiResult<Response> {
    let path = segments(&req);
    let parts: Vec<&str> = path.iter().map(String::as_str).collect();
    match (parts.as_slice(), req.method()) {
        ([], Method::Get) => marketplace::index_page(&req, env, None).await,
        (["c", creator], Method::Get) => marketplace::index_page(&req, env, Some(creator)).await,
        (["health"], Method::Get) => Ok(json(200, &serde_json::json!({"ok": true}))),
        (["__trap"], Method::Get) if trap_route(env) => panic!("GET /__trap: the local test route that traps was called"),
        (["openapi.json"], Method::Get) => openapi(),
        (["api", "apps"], Method::Get) => marketplace::list_apps(&req, env).await,
        (["api", "creator"], Method::Get) => creator_api::account::profile(&req, env).await,
        (["api", "creator", "keys"], Method::Get) => creator_api::keys::list(&req, env).await,
        (["api", "creator", "keys"], Method::Post) => creator_api::keys::create(req, env).await,
        (["api", "creator", "keys", id], Method::Delete) => creator_api::keys::revoke(&req, env, id).await,
        (["api", "requests"], Method::Get) => creator_api::queue::list_all(&req, env).await,
        (["api", "kpis"], Method::Get) => creator_api::kpis::show(&req, env).await,
        (["console", "api", "api" | "apps", ..], _) => {
            let call = console::as_creator_call(req, env, &parts[2..]).await?;
            // `call` is never under /console/, so this goes one level deep.
            let response = Box::pin(route(call, env)).await?;
            // An app's answer comes back through its service binding with headers that cannot
            // be changed, so the creator's data is marked unstorable on a copy of them.
            let headers = Headers::new();
            for (name, value) in response.headers().entries() {
                headers.append(&name, &value)?;
            }
            headers.set("Cache-Control", NO_STORE)?;
            Ok(response.with_headers(headers))
        }
        (["console", rest @ ..], _) => console::route(req, env, rest).await,
        (["api", "creator", "stripe-account"], Method::Put) => creator_api::account::connect_stripe_account(req, env).await,
        (["api", "apps", slug, "destinations"], Method::Put) => creator_api::destinations::set(req, env, slug).await,
        (["api", "apps", slug, "destinations"], Method::Get) => creator_api::destinations::show(&req, env, slug).await,
        (["api", "apps", slug, "destinations", kind, "test"], Method::Post) => creator_api::destinations::test(&req, env, slug, kind).await,
        (["api", "apps", slug, "requests"], Method::Get) => creator_api::queue::list(&req, env, slug).await,
        (["api", "apps", slug, "deliveries"], Method::Get) => creator_api::deliveries::list(&req, env, slug).await,
        (["api", "apps", slug, "deliveries", id], Method::Get) => creator_api::deliveries::one(&req, env, slug, id).await,
        (["api", "apps", slug, "deliveries", "replay"], Method::Post) => creator_api::deliveries::replay(&req, env, slug, None).await,
        (["api", "apps", slug, "deliveries", id, "replay"], Method::Post) => creator_api::deliveries::replay(&req, env, slug, Some(id)).await,
        (["api", "apps", slug, "state"], Method::Get) => creator_api::lifecycle::show(&req, env, slug).await,
        (["api", "apps", slug, "state"], Method::Post) => creator_api::lifecycle::change(req, env, slug).await,
        (["api", "apps", slug, "invites"], Method::Post) => creator_api::lifecycle::invite(req, env, slug).await,
        (["api", "apps", slug, "invites", id], Method::Delete) => creator_api::lifecycle::revoke(&req, env, slug, id).await,
        (["api", "apps", slug, "overlay"], Method::Get) => creator_api::overlay::show(&req, env, slug).await,
        (["api", "apps", slug, "overlay", "rotate"], Method::Post) => creator_api::overlay::rotate(&req, env, slug).await,
        (["api", "apps", slug, "twitch"], Method::Get) => creator_api::twitch::show(&req, env, slug).await,
        (["api", "apps", slug, "twitch"], Method::Post) => creator_api::twitch::connect(req, env, slug).await,
        (["api", "apps", slug, "twitch"], Method::Delete) => creator_api::twitch::disconnect(&req, env, slug).await,
        (["twitch", "callback"], Method::Get) => creator_api::twitch::callback(&req, env).await,
        (["auth", provider, "callback"], Method::Get) => app_common::sign_in_callback(req, env, provider).await,
        (["api", "apps", slug, "youtube"], Method::Get) => creator_api::youtube::show(&req, env, slug).await,
        (["api", "apps", slug, "youtube"], Method::Post) => creator_api::youtube::connect(&req, env, slug).await,
        (["api", "apps", slug, "youtube"], Method::Put) => creator_api::youtube::pick(req, env, slug).await,
        (["api", "apps", slug, "youtube"], Method::Delete) => creator_api::youtube::disconnect(&req, env, slug).await,
        (["youtube", "callback"], Method::Get) => creator_api::youtube::callback(&req, env).await,
        (["api", "apps", slug, source @ ("kofi" | "patreon")], Method::Get) => creator_api::memberships::show(&req, env, slug, source).await,
        (["api", "apps", slug, source @ ("kofi" | "patreon")], Method::Put) => creator_api::memberships::set(req, env, slug, source).await,
        (["api", "apps", slug, source @ ("kofi" | "patreon")], Method::Delete) => creator_api::memberships::remove(&req, env, slug, source).await,
        (["api", "apps", slug, "limits"], Method::Get) => creator_api::limits::show(&req, env, slug).await,
        (["api", "apps", slug, "limits"], Method::Put) => creator_api::limits::set(req, env, slug).await,
        (["api", "apps", slug, "limits"], Method::Delete) => creator_api::limits::reset(&req, env, slug).await,
        (["api", "blocklist"], Method::Get | Method::Post) => creator_api::blocklist::handle(req, env, None).await,
        (["api", "blocklist", kind, value], Method::Delete) => creator_api::blocklist::handle(req, env, Some((kind, value))).await,
        (["apps", slug, rest @ ..], method) => at_app(req, env, slug, rest, method).await,
        (["webhooks", "payment"], Method::Post) => webhooks::stripe::handle(req, env).await,
        (["webhooks", "paypal"], Method::Post) => {
            Ok(announce(env, &[WEBHOOK_LIMITER], webhooks::paypal::handle(req, env).await.unwrap_or_else(ApiError::into_response)))
        }
        (["webhooks", "moderation"], Method::Post) => webhooks::moderation::handle(req, env).await,
        (["webhooks", "twitch"], Method::Post) => webhooks::twitch::handle(req, env).await,
        (["webhooks", "kofi"], Method::Post) => webhooks::kofi::handle(req, env).await,
        (["webhooks", "patreon"], Method::Post) => webhooks::patreon::handle(req, env).await,
        (["webhooks", "payment" | "paypal" | "moderation" | "twitch" | "kofi" | "patreon"], _)
        | (["api", "apps" | "requests" | "kpis"], _)
        | (["api", "apps", _, _], _)
        | (["api", "creator", ..], _)
        | (["api", "blocklist", ..], _)
        | (["health" | "openapi.json"], _)
        | (["twitch" | "youtube", "callback"], _)
        | (["auth", _, "callback"], _) => Err(ApiError::MethodNotAllowed),
        _ => Err(ApiError::NotFound("route")),
    }
}

/// Local development may turn on `GET /__trap` (`TEST_TRAP_ROUTE=true`), which panics, so a test
/// can prove that a trap costs one request and the next is answered by a fresh instance. A
/// deployment never has it: `is_local_dev` is false there.
fn trap_route(env: &Env) -> bool {
    is_local_dev(env) && config(env, "TEST_TRAP_ROUTE", "") == "true"
}

/// `/apps/<slug>/...`: an app's Worker answers its intake and its manifest's optional parts;
/// the hub answers what every app does alike (`app_common`), the creator's actions and export
/// (`request_actions`) and the stream overlay (`live::overlay`).
async fn at_app(req: Request, env: &Env, slug: &str, rest: &[&str], method: Method) -> ApiResult<Response> {
    match (rest, method) {
        (["api", "requests", id, segment], Method::Post) => match Action::named(segment) {
            Some(action) => request_actions::act(req, env, slug, id, action).await,
            None => common_or_app(req, env, slug, rest, Method::Post).await,
        },
        (["api", "export"], Method::Get) => request_actions::export(&req, env, slug).await,
        (["overlay"], Method::Get) => live::overlay::page(&req, env, slug).await,
        (["overlay.js"], Method::Get) => Ok(live::overlay::script()),
        (["api", "overlay"], Method::Get) => live::overlay::state(&req, env, slug).await,
        (rest, method) => common_or_app(req, env, slug, rest, method).await,
    }
}

async fn common_or_app(req: Request, env: &Env, slug: &str, rest: &[&str], method: Method) -> ApiResult<Response> {
    match CommonRoute::at(rest, &method) {
        Some(route) => app_common::answer(req, env, slug, route).await,
        None if method == Method::Get && rest.first() != Some(&"api") => app_common::shared_page(req, env, slug, rest).await,
        None => app_link::call(req, env, slug).await,
    }
}

/// The API contract, as kept in the repo (generated by scripts/openapi/spec.mjs). Readable from
/// any origin so documentation tools and SDK generators can load it straight from the hub.
fn openapi() -> ApiResult<Response> {
    let mut response = with_content_type(include_str!("../docs/openapi.json"), "application/json");
    response.headers_mut().set("Cache-Control", SHARED_CACHE)?;
    Ok(allow_any_origin(response))
}
