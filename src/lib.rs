//! The marketplace hub Worker: the index of apps, the creator API that is not tied to one
//! app, payment and moderation webhooks, the fulfilment queue's consumer and the cron jobs.
//! Micro-apps are separate Workers reached through service bindings under `/apps/<slug>/`.
//!
//! - `routes`: the route table; `marketplace`: the catalog; `app_link`: the binding to each app
//!   and its registered manifest; `app_common`: what every app answers alike (its pages, a
//!   request's status, a fan's data, evidence), answered by the hub so no app Worker carries it;
//!   `shared_copies`: which pages every fan gets alike are kept in memory while they are fresh
//!   (the store and its answers live in the JavaScript entry, `entry.mjs` and `kept_copies.mjs`).
//! - `request_actions`: the creator's actions on an app's requests and its export, answered
//!   at the app's URLs so that no app Worker has to carry them.
//! - `creator_api`: destinations, deliveries, queue, limits, block list, keys, KPIs, payout account.
//! - `console`: the creator console's pages, sign-in and session (it calls `creator_api`).
//! - `webhooks`: Stripe, PayPal, moderation-service, Twitch EventSub, Ko-fi and Patreon events.
//! - `live`: the relay that turns a stream chat's command into a request at an app.
//! - `consumer`: delivering outbox rows from the queue; `cron`: the scheduled jobs (and the
//!   YouTube chat poller).

mod app_common;
mod app_link;
mod console;
mod consumer;
mod creator_api;
mod cron;
mod live;
mod marketplace;
mod request_actions;
mod routes;
mod shared_copies;
mod webhooks;

use fanline_edge::delivery::outbox::Job;
use fanline_edge::platform::config::{config, is_local_dev};
use fanline_edge::platform::error::ApiError;
use fanline_edge::platform::http::harden;
use fanline_edge::platform::meter;
use worker::{event, Context, Env, MessageBatch, Request, Response, Result, ScheduleContext, ScheduledEvent};

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    // A fresh kept copy of a page every fan gets alike never gets here: the entry
    // (`src/entry.mjs`) answers it.
    meter::reset();
    let answer = match public_origin(&env) {
        Ok(_) => routes::route(req, &env).await,
        Err(e) => Err(e),
    };
    let mut response = answer.unwrap_or_else(ApiError::into_response);
    if is_local_dev(&env) {
        // What the hub itself spent (an app's answer keeps the app's own count: its headers
        // cannot be changed here, so this is ignored for them).
        let _ = response.headers_mut().set("Server-Timing", &meter::server_timing());
    }
    Ok(harden(response))
}

/// The marketplace's public origin, for links in notifications and emails. Outside local
/// development a hub without it refuses all work (every link it sent would be relative and
/// broken); locally it may be empty.
fn public_origin(env: &Env) -> std::result::Result<String, ApiError> {
    let origin = config(env, "PUBLIC_ORIGIN", "");
    if origin.is_empty() && !is_local_dev(env) {
        return Err(ApiError::Misconfigured("PUBLIC_ORIGIN is not set: set it in wrangler.toml [vars] to the marketplace's https origin".into()));
    }
    Ok(origin.trim_end_matches('/').to_string())
}

#[event(queue)]
async fn queue(batch: MessageBatch<Job>, env: Env, _ctx: Context) -> Result<()> {
    consumer::consume(batch, &env).await;
    Ok(())
}

#[event(scheduled)]
async fn scheduled(event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    match public_origin(&env) {
        Ok(origin) => cron::run(&env, &event.cron(), event.schedule() as i64, &origin).await,
        Err(e) => worker::console_error!("the cron trigger did nothing: {e}"),
    }
}
