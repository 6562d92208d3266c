//! The marketplace hub Worker: the index of apps, the creator API that is not tied to one
//! app, payment webhooks, and the fulfilment queue consumer. Micro-apps are separate Workers
//! reached through service bindings under `/apps/<slug>/`.

mod marketplace;

use fanline_edge::http::segments;
use fanline_edge::{auctions, fulfilment, limits, payments, paypal, review, ApiError};
use worker::{event, Context, Env, MessageBatch, Method, Request, Response, Result, ScheduleContext, ScheduledEvent};

const DEAD_LETTER_QUEUE: &str = "fanline-fulfilment-dlq";

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    let answer = match public_origin(&env) {
        Ok(_) => route(req, &env).await,
        Err(e) => Err(e),
    };
    Ok(fanline_edge::http::harden(answer.unwrap_or_else(ApiError::into_response)))
}

/// The marketplace's public origin, for links in notifications and emails. Outside local
/// development a hub without it refuses all work (every link it sent would be relative and
/// broken); locally it may be empty.
fn public_origin(env: &Env) -> std::result::Result<String, ApiError> {
    let origin = fanline_edge::platform::config(env, "PUBLIC_ORIGIN", "");
    if origin.is_empty() && !fanline_edge::platform::is_local_dev(env) {
        return Err(ApiError::Misconfigured("PUBLIC_ORIGIN is not set: set it in wrangler.toml [vars] to the marketplace's https origin".into()));
    }
    Ok(origin.trim_end_matches('/').to_string())
}

async fn route(req: Request, env: &Env) -> std::result::Result<Response, ApiError> {
    let path = segments(&req);
    let parts: Vec<&str> = path.iter().map(String::as_str).collect();
    match (parts.as_slice(), req.method()) {
        ([], Method::Get) => marketplace::index_page(env).await,
        (["health"], Method::Get) => Ok(fanline_edge::http::json(200, &serde_json::json!({"ok": true}))),
        (["api", "apps"], Method::Get) => marketplace::list_apps(&req, env).await,
        (["api", "creator"], Method::Get) => marketplace::creator_profile(&req, env).await,
        (["api", "creator", "stripe-account"], Method::Put) => marketplace::connect_stripe_account(req, env).await,
        (["api", "apps", slug, "destinations"], Method::Put) => marketplace::set_destinations(req, env, slug).await,
        (["api", "apps", slug, "destinations"], Method::Get) => marketplace::show_destinations(&req, env, slug).await,
        (["api", "apps", slug, "requests"], Method::Get) => marketplace::creator_queue(&req, env, slug).await,
        (["api", "apps", slug, "deliveries"], Method::Get) => marketplace::deliveries(&req, env, slug).await,
        (["api", "apps", slug, "deliveries", id], Method::Get) => marketplace::delivery(&req, env, slug, id).await,
        (["api", "apps", slug, "deliveries", "replay"], Method::Post) => marketplace::replay_deliveries(&req, env, slug, None).await,
        (["api", "apps", slug, "deliveries", id, "replay"], Method::Post) => marketplace::replay_deliveries(&req, env, slug, Some(id)).await,
        (["api", "apps", slug, "limits"], Method::Get) => limits::show(&req, env, slug).await,
        (["api", "apps", slug, "limits"], Method::Put) => limits::set(req, env, slug).await,
        (["api", "apps", slug, "limits"], Method::Delete) => limits::reset(&req, env, slug).await,
        (["api", "blocklist"], Method::Get | Method::Post) => limits::blocklist(req, env, None).await,
        (["api", "blocklist", kind, value], Method::Delete) => limits::blocklist(req, env, Some((kind, value))).await,
        (["apps", slug, ..], _) => forward_to_app(req, env, slug).await,
        (["webhooks", "payment"], Method::Post) => payments::handle_stripe_webhook(req, env).await,
        (["webhooks", "paypal"], Method::Post) => paypal::handle_webhook(req, env).await,
        (["webhooks", "moderation"], Method::Post) => review::handle_webhook(req, env).await,
        (["webhooks", "payment" | "paypal" | "moderation"], _) | (["api", "apps"], _) | (["api", "apps", _, _], _) | (["api", "creator", ..], _) | (["api", "blocklist", ..], _) => Err(ApiError::MethodNotAllowed),
        _ => Err(ApiError::NotFound("route")),
    }
}

/// Every app Worker is bound as `APP_<SLUG>` (dashes become underscores).
async fn forward_to_app(req: Request, env: &Env, slug: &str) -> std::result::Result<Response, ApiError> {
    let binding = format!("APP_{}", slug.to_ascii_uppercase().replace('-', "_"));
    if !fanline_edge::core::manifest::is_slug(slug) {
        return Err(ApiError::NotFound("app"));
    }
    let app = env.service(&binding).map_err(|_| ApiError::NotFound("app"))?;
    Ok(app.fetch_request(req).await?)
}

#[event(queue)]
async fn queue(batch: MessageBatch<serde_json::Value>, env: Env, _ctx: Context) -> Result<()> {
    fulfilment::consume(batch, &env, DEAD_LETTER_QUEUE).await;
    Ok(())
}

/// The cron trigger: closes auctions that have ended, re-sends outbox rows that never reached
/// the queue, raises reminders for requests waiting too long, and releases held payments the
/// creator did not accept in time. The event's scheduled time is the clock, so a test can run it forward.
#[event(scheduled)]
async fn scheduled(event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    let origin = match public_origin(&env) {
        Ok(origin) => origin,
        Err(e) => {
            worker::console_error!("the cron trigger did nothing: {e:?}");
            return;
        }
    };
    let now = event.schedule() as i64;
    match auctions::close_due(&env, now, &origin).await {
        Ok(n) if n > 0 => worker::console_log!("closed {n} auctions"),
        Ok(_) => {}
        Err(e) => worker::console_error!("closing auctions failed: {e:?}"),
    }
    match fulfilment::sweep(&env, now).await {
        Ok(n) if n > 0 => worker::console_log!("re-sent {n} outbox rows that never reached the queue"),
        Ok(_) => {}
        Err(e) => worker::console_error!("sweeping the outbox failed: {e:?}"),
    }
    match fulfilment::remind_waiting(&env, now, &origin).await {
        Ok(n) if n > 0 => worker::console_log!("raised request.waiting for {n} requests"),
        Ok(_) => {}
        Err(e) => worker::console_error!("reminding of waiting requests failed: {e:?}"),
    }
    match payments::release_lapsed_holds(&env, now, &origin).await {
        Ok(n) if n > 0 => worker::console_log!("released {n} lapsed holds"),
        Ok(_) => {}
        Err(e) => worker::console_error!("releasing lapsed holds failed: {e:?}"),
    }
}
