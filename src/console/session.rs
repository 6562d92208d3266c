//! Creator sign-in for the console: an emailed single-use link (the same sealed link and mail
//! path fans use) or an API key once, either giving a server-side session behind an HttpOnly,
//! Secure, SameSite=Strict cookie scoped to `/console`. State-changing calls must come from our
//! own origin and carry the session's CSRF token.

use fanline_core::trust::identity;
use fanline_edge::db::{self, console_sessions::Session, console_sessions::Via, creators::Creator, BatchOutcome};
use fanline_edge::delivery::fan_mail::{mail_budget, FanMail};
use fanline_edge::platform::body::{require_json_content_type, strict_json};
use fanline_edge::platform::config::{now_ms, random, required_config};
use fanline_edge::platform::error::{ApiError, ApiResult};
use fanline_edge::platform::http::{client_ip, header, json, origin};
use fanline_edge::providers::{self, ProviderError};
use fanline_edge::trust::limits::edge_limit;
use serde::Deserialize;
use serde_json::json;
use worker::{Env, Request, Response};

pub const COOKIE: &str = "fanline_console";
const PATH: &str = "/console";
const SESSION_SECS: i64 = 12 * 3600;
/// The sealed link names this audience, so a fan's sign-in link never opens the console.
const AUDIENCE: &str = "console";
/// Sign-in attempts per client address and minute (wrangler.toml `CONSOLE_LIMITER`).
pub const LIMITER: &str = "CONSOLE_LIMITER";

fn cookie(value: &str, max_age: i64) -> String {
    format!("{COOKIE}={value}; Path={PATH}; Max-Age={max_age}; HttpOnly; Secure; SameSite=Strict")
}

fn token_of(req: &Request) -> Option<String> {
    let cookies = header(req, "Cookie")?;
    identity::cookie(&cookies, COOKIE).filter(|t| !t.is_empty()).map(str::to_string)
}

/// The signed-in creator's session and its token, or 401.
pub async fn current(req: &Request, env: &Env) -> ApiResult<(Session, String)> {
    let token = token_of(req).ok_or(ApiError::Unauthorized)?;
    let db = db::db(env)?;
    let session = db::console_sessions::current(&db, &token, now_ms()).await?.ok_or(ApiError::Unauthorized)?;
    Ok((session, token))
}

/// A browser call that changes something: from our own pages (Origin) and with the session's
/// CSRF token, so another site cannot ride the creator's cookie.
pub fn check_csrf(req: &Request, session: &Session) -> ApiResult<()> {
    same_origin(req)?;
    let sent = header(req, "X-CSRF-Token").unwrap_or_default();
    if !fanline_core::trust::client::constant_time_eq(sent.as_bytes(), session.csrf.as_bytes()) {
        return Err(ApiError::Forbidden { code: "csrf", message: "This action needs the console's CSRF token; reload the console.".into() });
    }
    Ok(())
}

/// Browsers send `Origin` with every POST; one from elsewhere, or none, is refused.
pub fn same_origin(req: &Request) -> ApiResult<()> {
    match header(req, "Origin") {
        Some(o) if o == origin(req) => Ok(()),
        _ => Err(ApiError::Forbidden { code: "cross_site", message: "Console actions are only taken from the console's own pages.".into() }),
    }
}

async fn start_session(env: &Env, creator: &Creator, via: Via) -> ApiResult<String> {
    let db = db::db(env)?;
    let token = hex::encode(random::<32>());
    let csrf = hex::encode(random::<16>());
    let now = now_ms();
    let new = db::console_sessions::NewSession { token: &token, creator_id: &creator.id, csrf: &csrf, via };
    db::console_sessions::start(&db, &new, now, now + SESSION_SECS * 1000).await?;
    Ok(cookie(&token, SESSION_SECS))
}

/// Every sign-in call: from our own pages, JSON only, and a bounded number per address.
async fn sign_in_attempt(req: &Request, env: &Env) -> ApiResult<()> {
    same_origin(req)?;
    edge_limit(env, LIMITER, &format!("ip:{}", client_ip(req))).await?;
    require_json_content_type(req)
}

/// `POST /console/api/signin/key` with `{"key": "fl_live_..."}`.
pub async fn with_key(mut req: Request, env: &Env) -> ApiResult<Response> {
    sign_in_attempt(&req, env).await?;
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        key: String,
    }
    let body: Body = strict_json(&mut req, r#"{"key": "fl_live_..."}"#, false).await?;
    let db = db::db(env)?;
    let creator = db::api_keys::creator(&db, body.key.trim())
        .await?
        .ok_or_else(|| ApiError::bad_request("invalid_key", "That API key is not valid (or was revoked)."))?;
    let set_cookie = start_session(env, &creator, Via::ApiKey).await?;
    let mut response = json(200, &json!({"signed_in": true, "creator": {"id": creator.id, "name": creator.name}}));
    response.headers_mut().append("Set-Cookie", &set_cookie)?;
    response.headers_mut().set("Cache-Control", "no-store")?;
    Ok(response)
}

/// `POST /console/api/signin/email` with `{"email": "..."}`: mails a single-use link valid for
/// 30 minutes when a creator has this address. The answer is the same either way, so the form
/// cannot be used to learn who is a creator.
pub async fn email_start(mut req: Request, env: &Env) -> ApiResult<Response> {
    sign_in_attempt(&req, env).await?;
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        email: String,
    }
    let body: Body = strict_json(&mut req, r#"{"email": "you@example.com"}"#, false).await?;
    let email = Some(body.email.trim())
        .filter(|e| fanline_core::trust::client::is_email(e))
        .ok_or_else(|| ApiError::bad_request("invalid_email", "Enter an email address like name@example.com."))?
        .to_lowercase();
    let answer = json(202, &json!({"sent_to": email, "message": "If this address belongs to a creator, a sign-in link is on its way."}));
    let db = db::db(env)?;
    if db::creators::by_email(&db, &email).await?.is_none() {
        return Ok(answer);
    }
    let Some(counted) = mail_budget(&db, &email, FanMail::SignIn, now_ms()).await? else {
        return Err(ApiError::QuotaExceeded("Too many sign-in links were sent to this address; try again in an hour.".into()));
    };
    db::commit_all(&db, vec![counted]).await?;
    let secret = required_config(env, "SESSION_SECRET")?;
    let token = identity::email_link_token(
        secret.as_bytes(),
        AUDIENCE,
        &email,
        "/console/",
        identity::Issue { now_secs: now_ms() / 1000, nonce: &hex::encode(random::<12>()) },
    );
    let link = format!("{}/console/signin?token={token}", origin(&req));
    let mail = fanline_core::delivery::payload::Email {
        to: email.clone(),
        subject: "Sign in to your Fanline console".into(),
        text: format!("Open this link to sign in to your console (valid for 30 minutes, once):\n\n{link}\n\nIf you did not ask for it, ignore this mail."),
        request_id: String::new(),
    };
    providers::mail::send_now(env, &mail).await.map_err(|e| match e {
        ProviderError::NotConfigured(_) => ApiError::Unavailable("Email is not configured for this marketplace; sign in with an API key.".into()),
        other => other.into(),
    })?;
    Ok(answer)
}

/// The address a console sign-in link (`?token=`) signs in as, when it is genuine, unexpired
/// and unused, for its page to name before anyone presses the button.
pub async fn link_address(req: &Request, env: &Env) -> ApiResult<String> {
    let token = fanline_edge::platform::http::query_param(req, "token").unwrap_or_default();
    let secret = required_config(env, "SESSION_SECRET")?;
    let invalid = || ApiError::bad_request("invalid_link", "This sign-in link is not valid, has expired or was used; ask for a new one.");
    let link = identity::read_email_link(secret.as_bytes(), AUDIENCE, &token, now_ms() / 1000).ok_or_else(invalid)?;
    if db::logins::email_link_used(&db::db(env)?, &token).await? {
        return Err(invalid());
    }
    Ok(link.email)
}

/// `POST /console/signin` (the form on the link's page): uses the link once and starts the
/// session. Opening the link only shows that page, so a mail scanner that fetches links
/// cannot use it up.
pub async fn email_confirm(mut req: Request, env: &Env) -> ApiResult<Response> {
    same_origin(&req)?;
    let form = req.form_data().await.map_err(|_| ApiError::bad_request("invalid_link", "The sign-in form was empty."))?;
    let token = match form.get("token") {
        Some(worker::FormEntry::Field(t)) => t,
        _ => String::new(),
    };
    let secret = required_config(env, "SESSION_SECRET")?;
    let invalid = || ApiError::bad_request("invalid_link", "This sign-in link is not valid, has expired or was used; ask for a new one.");
    let link = identity::read_email_link(secret.as_bytes(), AUDIENCE, &token, now_ms() / 1000).ok_or_else(invalid)?;
    let db = db::db(env)?;
    let creator = db::creators::by_email(&db, &link.email).await?.ok_or_else(invalid)?;
    let used = db::commit(&db, vec![db::logins::used_email_link(&db, &token, AUDIENCE, &link.return_to, now_ms())?]).await?;
    if !matches!(used, BatchOutcome::Committed) {
        return Err(invalid());
    }
    let set_cookie = start_session(env, &creator, Via::EmailLink).await?;
    let headers = worker::Headers::new();
    headers.set("Location", &format!("{}/console/", origin(&req)))?;
    headers.set("Cache-Control", "no-store")?;
    headers.append("Set-Cookie", &set_cookie)?;
    Ok(Response::empty()?.with_status(303).with_headers(headers))
}

/// `POST /console/api/signout`: ends the session on the server and forgets the cookie.
pub async fn sign_out(req: &Request, env: &Env) -> ApiResult<Response> {
    let (session, token) = current(req, env).await?;
    check_csrf(req, &session)?;
    db::console_sessions::end(&db::db(env)?, &token, now_ms()).await?;
    let mut response = json(200, &json!({"signed_in": false}));
    response.headers_mut().append("Set-Cookie", &cookie("", 0))?;
    Ok(response)
}

/// `GET /console/api/session`: who is signed in, their apps, and the CSRF token.
pub async fn show(req: &Request, env: &Env) -> ApiResult<Response> {
    let (session, _) = current(req, env).await?;
    let db = db::db(env)?;
    let apps: Vec<serde_json::Value> =
        db::apps::of_creator(&db, &session.creator_id).await?.into_iter().map(|a| json!({"slug": a.slug, "title": a.title})).collect();
    let mut response = json(
        200,
        &json!({"signed_in": true, "creator": {"id": session.creator_id, "name": session.name, "email": session.email}, "csrf": session.csrf, "apps": apps}),
    );
    response.headers_mut().set("Cache-Control", "no-store")?;
    Ok(response)
}
