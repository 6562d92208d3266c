//! Precise intake limits kept in D1: open requests and requests per day per fan, the queue's
//! capacity, and the creator's block list. Quotas are checked inside the intake batch (see
//! `intake_guards` in schema.sql), so concurrent submissions cannot over-admit.

use crate::auth;
use crate::error::{ApiError, ApiResult};
use crate::http::json;
use crate::platform::now_ms;
use crate::store::{self, Arg};
use fanline_core::client::{ip_key, normalize_email};
use fanline_core::manifest::{Limits, Manifest};
use serde::Deserialize;
use serde_json::{json, Value};
use worker::{D1Database, D1PreparedStatement, Env, Request, Response};

/// Edge limiters every app Worker binds (see its wrangler.toml).
pub const INTAKE_LIMITER: &str = "INTAKE_LIMITER";
pub const FAN_LIMITER: &str = "FAN_LIMITER";
/// The hub's limiter for webhooks that cost a provider call to verify.
pub const WEBHOOK_LIMITER: &str = "WEBHOOK_LIMITER";

/// The per-client edge limit, keyed by the caller's address (an IPv6 client by its /64).
/// Every endpoint that costs the platform money or mail goes through it.
pub async fn per_client(env: &Env, req: &Request) -> ApiResult<()> {
    edge_limit(env, INTAKE_LIMITER, &ip_key(&crate::http::client_ip(req))).await
}

/// One edge limiter binding, keyed by an address or a fan's identity. A Worker deployed
/// without the binding refuses the work (fails closed) rather than running unlimited.
pub async fn edge_limit(env: &Env, binding: &str, key: &str) -> ApiResult<()> {
    let limiter = env.rate_limiter(binding).map_err(|_| ApiError::Misconfigured(format!("the {binding} rate-limit binding is missing")))?;
    let outcome = limiter.limit(key.to_string()).await?;
    if outcome.success {
        Ok(())
    } else {
        let period = crate::platform::config(env, "RATE_LIMIT_PERIOD_SECS", "60").parse().unwrap_or(60);
        Err(ApiError::RateLimited { retry_after_secs: period })
    }
}

/// Mail the platform sends to an address a fan typed, and how many an hour each address gets,
/// whoever types it: anyone can type someone else's address.
#[derive(Debug, Clone, Copy)]
pub enum FanMail {
    /// A sign-in link (anyone may ask for one, for any address).
    SignIn,
    /// A notice about a request that gave this address (confirmation, refund, result).
    Notice,
}

impl FanMail {
    fn kind(self) -> &'static str {
        match self {
            Self::SignIn => "sign_in",
            Self::Notice => "notice",
        }
    }

    fn per_hour(self) -> i64 {
        match self {
            Self::SignIn => 5,
            Self::Notice => 10,
        }
    }
}

/// Whether one more mail of this kind may go to `address` now; when it may, the statement that
/// counts it (commit it with the mail's outbox rows, or before sending).
pub async fn mail_budget(db: &D1Database, address: &str, mail: FanMail, now: i64) -> ApiResult<Option<D1PreparedStatement>> {
    let address = normalize_email(address);
    let sent = store::first::<Value>(db, "SELECT COUNT(*) AS n FROM mail_log WHERE address = ? AND kind = ? AND at > ?", &[address.as_str().into(), mail.kind().into(), (now - 3_600_000).into()]).await?;
    if sent.and_then(|r| r["n"].as_f64()).unwrap_or(0.0) as i64 >= mail.per_hour() {
        return Ok(None);
    }
    Ok(Some(store::statement(db, "INSERT INTO mail_log (address, kind, at) VALUES (?, ?, ?)", &[address.as_str().into(), mail.kind().into(), now.into()])?))
}

/// How long a fan has to pay: the Checkout Session expires then (Stripe's shortest expiry),
/// and an unpaid request stops holding a quota place or a queue slot, even if the expiry
/// event is late or lost. So nobody can lock a fan out, or fill the queue, with unpaid requests.
pub const PAYMENT_WINDOW_MS: i64 = 30 * 60 * 1000;

/// Requests a fan still waits on (`?1` is now minus the payment window).
const OPEN: &str = "(status IN ('created', 'validated', 'held_for_review', 'authorized', 'paid', 'queued', 'accepted') OR (status = 'awaiting_payment' AND created_at > ?1))";
/// Requests in the creator's queue or reserving a place in it while their payment is under
/// way, which the capacity bounds (`?1` as above).
const IN_QUEUE: &str = "(status IN ('held_for_review', 'authorized', 'paid', 'queued', 'accepted') OR (status = 'awaiting_payment' AND created_at > ?1))";

/// Who the fan is for quotas: see `fanline_core::client::fan_key`.
pub use fanline_core::client::fan_key;

#[derive(Deserialize)]
struct Row {
    max_open_per_fan: Option<i64>,
    max_per_fan_per_day: Option<i64>,
    capacity: Option<i64>,
}

/// The creator's limits from D1 when set, else the manifest's.
pub async fn effective(db: &D1Database, manifest: &Manifest) -> ApiResult<(Limits, &'static str)> {
    let row = store::first::<Row>(db, "SELECT max_open_per_fan, max_per_fan_per_day, capacity FROM app_limits WHERE app_slug = ?", &[manifest.slug.as_str().into()]).await?;
    Ok(match row {
        Some(r) => {
            let n = |v: Option<i64>| v.map(|v| v.clamp(0, i64::from(u32::MAX)) as u32);
            (Limits { max_open_per_fan: n(r.max_open_per_fan), max_per_fan_per_day: n(r.max_per_fan_per_day), capacity: n(r.capacity) }, "creator")
        }
        None => (manifest.limits, "manifest"),
    })
}

/// Statements that refuse the intake batch when a limit would be passed; they go before the
/// request's INSERT (so counts exclude it), `clear` goes last.
pub fn guards(db: &D1Database, slug: &str, fan_key: &str, limits: &Limits, now: i64) -> ApiResult<Vec<D1PreparedStatement>> {
    let mut out = Vec::new();
    if let Some(max) = limits.max_open_per_fan {
        out.push(store::statement(
            db,
            &format!("INSERT INTO intake_guards (open_quota) SELECT (SELECT COUNT(*) FROM requests WHERE app_slug = ?2 AND fan_key = ?3 AND {OPEN}) < ?4"),
            &[(now - PAYMENT_WINDOW_MS).into(), slug.into(), fan_key.into(), i64::from(max).into()],
        )?);
    }
    if let Some(max) = limits.max_per_fan_per_day {
        let day_start = now - now.rem_euclid(86_400_000);
        out.push(store::statement(
            db,
            "INSERT INTO intake_guards (daily_quota) SELECT (SELECT COUNT(*) FROM requests WHERE app_slug = ? AND fan_key = ? AND created_at >= ?) < ?",
            &[slug.into(), fan_key.into(), day_start.into(), i64::from(max).into()],
        )?);
    }
    if let Some(max) = limits.capacity {
        out.push(store::statement(
            db,
            &format!("INSERT INTO intake_guards (capacity) SELECT (SELECT COUNT(*) FROM requests WHERE app_slug = ?2 AND {IN_QUEUE}) < ?3"),
            &[(now - PAYMENT_WINDOW_MS).into(), slug.into(), i64::from(max).into()],
        )?);
    }
    Ok(out)
}

pub fn clear(db: &D1Database) -> ApiResult<D1PreparedStatement> {
    store::statement(db, "DELETE FROM intake_guards", &[])
}

/// The fan-facing error for a guard that refused the batch, if that is what happened.
pub fn refusal(detail: &str, limits: &Limits) -> Option<ApiError> {
    if detail.contains("open_quota") {
        Some(ApiError::QuotaExceeded(format!("You already have {} open requests here; send another when one is done.", limits.max_open_per_fan.unwrap_or(0))))
    } else if detail.contains("daily_quota") {
        Some(ApiError::QuotaExceeded(format!("You have sent {} requests here today; try again tomorrow (UTC).", limits.max_per_fan_per_day.unwrap_or(0))))
    } else if detail.contains("capacity") {
        Some(ApiError::Conflict { code: "queue_full", message: "The creator's queue is full right now; try again when it has room.".into() })
    } else {
        None
    }
}

async fn in_queue(db: &D1Database, slug: &str) -> ApiResult<i64> {
    let row = store::first::<Value>(db, &format!("SELECT COUNT(*) AS n FROM requests WHERE app_slug = ?2 AND {IN_QUEUE}"), &[(now_ms() - PAYMENT_WINDOW_MS).into(), slug.into()]).await?;
    Ok(row.and_then(|r| r["n"].as_f64()).unwrap_or(0.0) as i64)
}

/// Whether the queue has no room for `request_id` besides the requests already in it or
/// holding a place (the same count the intake guard makes): a payment arriving then is given
/// back instead of pushing the queue past its capacity (the creator lowered it meanwhile).
pub async fn full_without(db: &D1Database, manifest: &Manifest, request_id: &str) -> ApiResult<bool> {
    let (limits, _) = effective(db, manifest).await?;
    let Some(capacity) = limits.capacity else { return Ok(false) };
    let row = store::first::<Value>(
        db,
        &format!("SELECT COUNT(*) AS n FROM requests WHERE app_slug = ?2 AND id != ?3 AND {IN_QUEUE}"),
        &[(now_ms() - PAYMENT_WINDOW_MS).into(), manifest.slug.as_str().into(), request_id.into()],
    )
    .await?;
    Ok(row.and_then(|r| r["n"].as_f64()).unwrap_or(0.0) as i64 >= i64::from(capacity))
}

/// `GET /apps/<slug>/api/status`: whether the form is open, for the form and embed.
pub async fn status(env: &Env, manifest: &Manifest) -> ApiResult<Response> {
    let db = store::db(env)?;
    let (limits, _) = effective(&db, manifest).await?;
    let queued = in_queue(&db, &manifest.slug).await?;
    let open = limits.capacity.is_none_or(|c| queued < i64::from(c));
    let mut response = json(200, &json!({"app": manifest.slug, "open": open, "capacity": limits.capacity, "in_queue": queued}));
    response.headers_mut().set("Cache-Control", "no-store")?;
    Ok(response)
}

/// `GET /api/apps/:slug/limits` (creator): the limits in force and where they come from.
pub async fn show(req: &Request, env: &Env, slug: &str) -> ApiResult<Response> {
    let db = store::db(env)?;
    let creator = auth::creator(req, &db).await?;
    let app = auth::owned_app(&db, &creator, slug).await?;
    let manifest = Manifest::parse(&app.manifest).map_err(ApiError::Internal)?;
    let (limits, source) = effective(&db, &manifest).await?;
    Ok(json(200, &json!({"app": slug, "limits": limits, "source": source, "in_queue": in_queue(&db, slug).await?})))
}

/// `PUT /api/apps/:slug/limits` (creator) with `{"capacity": 20, "max_open_per_fan": 3,
/// "max_per_fan_per_day": 10}` (each optional; absent means no limit). Replaces the
/// manifest's limits until `DELETE` restores them.
pub async fn set(mut req: Request, env: &Env, slug: &str) -> ApiResult<Response> {
    let db = store::db(env)?;
    let creator = auth::creator(&req, &db).await?;
    auth::owned_app(&db, &creator, slug).await?;
    let limits: Limits = crate::body::strict_json(&mut req, r#"{"capacity": 20, "max_open_per_fan": 3, "max_per_fan_per_day": 10} (each optional, a whole number; nothing else is accepted)"#, false).await.map_err(|e| match e {
        ApiError::BadRequest { message, .. } => ApiError::bad_request("invalid_limits", message),
        other => other,
    })?;
    let n = |v: Option<u32>| v.map_or(Arg::Null, |v| Arg::Int(i64::from(v)));
    store::run(
        &db,
        "INSERT INTO app_limits (app_slug, max_open_per_fan, max_per_fan_per_day, capacity, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (app_slug) DO UPDATE SET max_open_per_fan = excluded.max_open_per_fan, max_per_fan_per_day = excluded.max_per_fan_per_day,
           capacity = excluded.capacity, updated_at = excluded.updated_at",
        &[slug.into(), n(limits.max_open_per_fan), n(limits.max_per_fan_per_day), n(limits.capacity), now_ms().into()],
    )
    .await?;
    show(&req, env, slug).await
}

pub async fn reset(req: &Request, env: &Env, slug: &str) -> ApiResult<Response> {
    let db = store::db(env)?;
    let creator = auth::creator(req, &db).await?;
    auth::owned_app(&db, &creator, slug).await?;
    store::run(&db, "DELETE FROM app_limits WHERE app_slug = ?", &[slug.into()]).await?;
    show(req, env, slug).await
}

/// The block-list entry that matches this submission, if any (`ip`, `email` or `fan`).
pub async fn blocked(db: &D1Database, creator_id: &str, ip: &str, email: Option<&str>, fan_id: Option<&str>) -> ApiResult<Option<String>> {
    #[derive(Deserialize)]
    struct Hit {
        kind: String,
    }
    let email = email.map(normalize_email);
    let hit = store::first::<Hit>(
        db,
        "SELECT kind FROM blocklist WHERE creator_id = ? AND ((kind = 'ip' AND value IN (?, ?)) OR (kind = 'email' AND value = ?) OR (kind = 'fan' AND value = ?)) LIMIT 1",
        &[creator_id.into(), ip.into(), ip_key(ip).as_str().into(), email.as_deref().into(), fan_id.into()],
    )
    .await?;
    Ok(hit.map(|h| h.kind))
}

/// `GET /api/blocklist`, `POST /api/blocklist` (`{"kind": "ip" | "email" | "fan", "value",
/// "reason"?}`) and `DELETE /api/blocklist/:kind/:value`, for the creator's own list.
pub async fn blocklist(mut req: Request, env: &Env, target: Option<(&str, &str)>) -> ApiResult<Response> {
    let db = store::db(env)?;
    let creator = auth::creator(&req, &db).await?;
    match (req.method(), target) {
        (worker::Method::Post, None) => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct Entry {
                kind: String,
                value: String,
                reason: Option<String>,
            }
            let body: Entry = crate::body::strict_json(&mut req, r#"{"kind": "email", "value": "spam@example.com", "reason": "..."}"#, false).await?;
            let kind = Some(body.kind.as_str()).filter(|k| matches!(*k, "ip" | "email" | "fan")).ok_or_else(|| ApiError::bad_request("invalid_kind", "kind is ip, email or fan."))?;
            let value = Some(body.value.trim()).filter(|v| !v.is_empty() && v.len() <= 254).ok_or_else(|| ApiError::bad_request("invalid_value", "value is 1 to 254 characters."))?;
            let value = canonical_entry(kind, value);
            let reason: Option<String> = body.reason.map(|r| r.chars().take(200).collect());
            store::run(
                &db,
                "INSERT INTO blocklist (creator_id, kind, value, reason, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (creator_id, kind, value) DO UPDATE SET reason = excluded.reason",
                &[creator.id.as_str().into(), kind.into(), value.as_str().into(), reason.as_deref().into(), now_ms().into()],
            )
            .await?;
            Ok(json(201, &json!({"kind": kind, "value": value, "reason": reason})))
        }
        (worker::Method::Delete, Some((kind, value))) => {
            // The path segment arrives percent-encoded; entries are stored decoded and canonical.
            let decoded = url::form_urlencoded::parse(format!("v={}", value.replace('+', "%2B")).as_bytes()).next().map(|(_, v)| v.into_owned()).unwrap_or_default();
            let value = canonical_entry(kind, &decoded);
            let removed = store::changes(&db, "DELETE FROM blocklist WHERE creator_id = ? AND kind = ? AND value = ?", &[creator.id.as_str().into(), kind.into(), value.as_str().into()]).await?;
            if removed == 0 {
                return Err(ApiError::NotFound("block-list entry"));
            }
            Ok(Response::empty()?.with_status(204))
        }
        (worker::Method::Get, None) => {
            let rows: Vec<Value> = store::all(&db, "SELECT kind, value, reason, created_at FROM blocklist WHERE creator_id = ? ORDER BY created_at", &[creator.id.as_str().into()]).await?;
            Ok(json(200, &json!({"blocklist": rows})))
        }
        _ => Err(ApiError::MethodNotAllowed),
    }
}

/// A block-list value in the spelling intake compares against: an email as its mailbox
/// receives it, an IPv6 address as its /64 (the client owns all of it).
fn canonical_entry(kind: &str, value: &str) -> String {
    match kind {
        "email" => normalize_email(value),
        "ip" if value.contains(':') && !value.ends_with("/64") => ip_key(value),
        _ => value.trim().to_string(),
    }
}
