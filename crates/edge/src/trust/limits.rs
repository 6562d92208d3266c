//! Limits on who may send how much: the edge rate limiters (per client address, per fan, per
//! webhook sender), mail budgets per typed address, and the precise quotas kept in D1 (open
//! requests and requests per day per fan, the queue's capacity), which intake checks inside
//! its own batch so concurrent submissions cannot over-admit.

use crate::db::{self, Constraint};
use crate::platform::config::{config, now_ms};
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::http::{client_ip, json};
use fanline_core::app_state::AppState;
use fanline_core::manifest::{Limits, Manifest};
use fanline_core::trust::client::ip_key;
use serde_json::json;
use worker::{D1Database, D1PreparedStatement, Env, Request, Response};

/// Edge limiters every app Worker binds (see its wrangler.toml).
pub const INTAKE_LIMITER: &str = "INTAKE_LIMITER";
pub const FAN_LIMITER: &str = "FAN_LIMITER";
/// The hub's limiter for webhooks that cost a provider call to verify.
pub const WEBHOOK_LIMITER: &str = "WEBHOOK_LIMITER";
/// The hub's limiter for what a fan asks of an app that costs mail or a Checkout Session
/// (sign-in links, credit packs, tiers): one binding for every app, keyed by app and address.
pub const FAN_ACCOUNT_LIMITER: &str = "FAN_ACCOUNT_LIMITER";

/// The per-client edge limit, keyed by the caller's address (an IPv6 client by its /64).
/// Every endpoint that costs the platform money or mail goes through it.
pub async fn per_client(env: &Env, req: &Request) -> ApiResult<()> {
    edge_limit(env, INTAKE_LIMITER, &ip_key(&client_ip(req))).await
}

/// The hub's per-client limit on one app's sign-in mail and purchases, keyed like the app's own
/// per-client limit (by address, an IPv6 client by its /64) and by the app, so one app's
/// visitors never use up another's.
pub async fn per_client_of(env: &Env, req: &Request, app: &str) -> ApiResult<()> {
    edge_limit(env, FAN_ACCOUNT_LIMITER, &format!("{app}:{}", ip_key(&client_ip(req)))).await
}

/// One edge limiter binding, keyed by an address or a fan's identity. A Worker deployed
/// without the binding refuses the work (fails closed) rather than running unlimited.
pub async fn edge_limit(env: &Env, binding: &str, key: &str) -> ApiResult<()> {
    let limiter = env.rate_limiter(binding).map_err(|_| ApiError::Misconfigured(format!("the {binding} rate-limit binding is missing")))?;
    let outcome = limiter.limit(key.to_string()).await?;
    if outcome.success {
        return Ok(());
    }
    let window = window_secs(env);
    // Cloudflare's limiter counts in windows of `period` seconds; the caller may try again
    // when this one ends.
    let retry_after_secs = window - ((now_ms() / 1000).rem_euclid(i64::from(window)) as u32);
    Err(ApiError::RateLimited { policy: policy_name(binding), retry_after_secs, policy_header: policy(env, binding) })
}

fn window_secs(env: &Env) -> u32 {
    config(env, "RATE_LIMIT_PERIOD_SECS", "60").parse().ok().filter(|p| *p > 0).unwrap_or(60)
}

/// What each limiter is called in the `RateLimit` and `RateLimit-Policy` headers.
fn policy_name(binding: &str) -> &'static str {
    match binding {
        INTAKE_LIMITER | FAN_ACCOUNT_LIMITER => "per-client",
        FAN_LIMITER => "per-fan",
        WEBHOOK_LIMITER => "per-sender",
        _ => "per-client-sign-in",
    }
}

/// One limiter's item of the IETF draft's `RateLimit-Policy` (`"per-client";q=10;w=60`). The
/// binding's limit lives in wrangler.toml's `[[ratelimits]]`, which a Worker cannot read, so
/// it is repeated in the `<BINDING>_LIMIT` var (`fanline check` holds the two equal); without
/// it the policy is not announced rather than guessed.
pub fn policy(env: &Env, binding: &str) -> Option<String> {
    let limit: u32 = config(env, &format!("{binding}_LIMIT"), "").parse().ok()?;
    Some(format!("\"{}\";q={limit};w={}", policy_name(binding), window_secs(env)))
}

/// Adds the `RateLimit-Policy` of these limiters to an answer of an endpoint behind them (a
/// refusal already names the one that refused).
pub fn announce(env: &Env, bindings: &[&str], mut response: Response) -> Response {
    let items: Vec<String> = bindings.iter().filter_map(|b| policy(env, b)).collect();
    if !items.is_empty() && !response.headers().has("RateLimit-Policy").unwrap_or(false) {
        let _ = response.headers_mut().set("RateLimit-Policy", &items.join(", "));
    }
    response
}

/// How long a fan has to pay: the Checkout Session expires then (Stripe's shortest expiry),
/// and an unpaid request stops holding a quota place or a queue slot, even if the expiry
/// event is late or lost. So nobody can lock a fan out, or fill the queue, with unpaid requests.
pub const PAYMENT_WINDOW_MS: i64 = 30 * 60 * 1000;

/// Where the limits in force come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitsSource {
    Creator,
    Manifest,
}

impl LimitsSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Creator => "creator",
            Self::Manifest => "manifest",
        }
    }
}

/// The creator's limits from D1 when set, else the manifest's.
pub async fn effective(db: &D1Database, manifest: &Manifest) -> ApiResult<(Limits, LimitsSource)> {
    Ok(match db::limits::app_limits(db, &manifest.slug).await? {
        Some(limits) => (limits, LimitsSource::Creator),
        None => (manifest.limits, LimitsSource::Manifest),
    })
}

/// The statements that refuse an intake batch past a quota (see `db::limits::guards`).
pub fn guards<'a>(
    db: &D1Database,
    scope: (&'a str, &'a str),
    limits: &Limits,
    context: Option<db::limits::Verdict<'a>>,
    now: i64,
) -> ApiResult<Option<D1PreparedStatement>> {
    let (app_slug, fan_key) = scope;
    let scope = db::limits::GuardScope { app_slug, fan_key, payment_window_start: now - PAYMENT_WINDOW_MS, day_start: now - now.rem_euclid(86_400_000) };
    db::limits::guards(db, &scope, limits, context)
}

/// The fan-facing error for a quota guard that refused the batch, if that is what happened.
pub fn refusal(constraint: &Constraint, limits: &Limits) -> Option<ApiError> {
    match constraint {
        Constraint::OpenQuota => Some(ApiError::QuotaExceeded(format!(
            "You already have {} open requests here; send another when one is done.",
            limits.max_open_per_fan.unwrap_or(0)
        ))),
        Constraint::DailyQuota => {
            Some(ApiError::QuotaExceeded(format!("You have sent {} requests here today; try again tomorrow (UTC).", limits.max_per_fan_per_day.unwrap_or(0))))
        }
        Constraint::Capacity => {
            Some(ApiError::Conflict { code: "queue_full", message: "The creator's queue is full right now; try again when it has room.".into() })
        }
        Constraint::AppContext | Constraint::CreditBalance | Constraint::Other(_) => None,
    }
}

/// Requests in the queue or holding a place in it now.
pub async fn in_queue(db: &D1Database, slug: &str) -> ApiResult<i64> {
    db::limits::in_queue_count(db, slug, now_ms() - PAYMENT_WINDOW_MS, None).await
}

/// Whether the queue has no room for `request_id` besides the requests already in it or
/// holding a place (the same count the intake guard makes): a payment arriving then is given
/// back instead of pushing the queue past its capacity (the creator lowered it meanwhile).
pub async fn full_without(db: &D1Database, manifest: &Manifest, request_id: &str) -> ApiResult<bool> {
    let (limits, _) = effective(db, manifest).await?;
    full_under(db, &limits, &manifest.slug, request_id).await
}

/// `full_without` with the app's effective limits already read.
pub async fn full_under(db: &D1Database, limits: &Limits, app_slug: &str, request_id: &str) -> ApiResult<bool> {
    let Some(capacity) = limits.capacity else { return Ok(false) };
    Ok(db::limits::in_queue_count(db, app_slug, now_ms() - PAYMENT_WINDOW_MS, Some(request_id)).await? >= i64::from(capacity))
}

/// `GET /apps/<slug>/api/status`: whether the form is open, for the form and embed: the
/// app's state (and the creator's message while paused or archived) and the queue's room.
pub async fn status(env: &Env, manifest: &Manifest) -> ApiResult<Response> {
    let db = db::db(env)?;
    let (limits, _) = effective(&db, manifest).await?;
    let queued = in_queue(&db, &manifest.slug).await?;
    let app = db::apps::get(&db, &manifest.slug).await?;
    let state = app.as_ref().map_or(AppState::Live, |a| a.state());
    let taking = matches!(state, AppState::Live | AppState::InviteOnly | AppState::Draft);
    let open = taking && limits.capacity.is_none_or(|c| queued < i64::from(c));
    let mut response = json(
        200,
        &json!({
            "app": manifest.slug, "open": open, "capacity": limits.capacity, "in_queue": queued,
            "state": state.as_str(),
            "message": app.as_ref().and_then(|a| a.state_message.clone()),
            "successor": app.as_ref().and_then(|a| a.successor.clone()),
        }),
    );
    response.headers_mut().set("Cache-Control", "no-store")?;
    Ok(response)
}
