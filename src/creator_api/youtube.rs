//! Connecting an app to the creator's YouTube channel: `POST /api/apps/:slug/youtube` answers
//! the link where the channel's owner authorizes Fanline (Google OAuth, offline access);
//! Google returns them to `GET /youtube/callback`, which keeps the tokens and starts reading
//! the channel's live broadcast's chat (or waits for one). `PUT` picks a broadcast by id,
//! `GET` shows the chat being read and the day's quota, `DELETE` stops reading.

use crate::console::pages::notice;
use fanline_core::live::youtube::{quota_day, SCOPE};
use fanline_core::trust::sealed::Column;
use fanline_core::util::origin::with_query;
use fanline_core::util::time::rfc3339;
use fanline_edge::db::{
    self,
    youtube::{Chat, WAITING},
};
use fanline_edge::live::youtube as live;
use fanline_edge::platform::body::strict_json;
use fanline_edge::platform::config::{now_ms, random};
use fanline_edge::platform::error::{ApiError, ApiResult};
use fanline_edge::platform::http::{escape_html, json, origin, query_param};
use fanline_edge::platform::sealing::{self, Keys};
use fanline_edge::providers::youtube::{self as api, Client};
use fanline_edge::trust::auth;
use serde::Deserialize;
use serde_json::json;
use worker::{console_warn, Env, Request, Response};

const CONNECT_SECS: i64 = 600;

pub async fn connect(req: &Request, env: &Env, slug: &str) -> ApiResult<Response> {
    let db = db::db(env)?;
    let (creator, app) = auth::creator_app(req, &db, slug).await?;
    if app.manifest()?.chat.is_none() {
        return Err(ApiError::Conflict {
            code: "chat_not_set_up",
            message: "Add a \"chat\" section (the command and the fields it fills) to the app's manifest first.".into(),
        });
    }
    let client = Client::from_env(env)?;
    // The tokens are stored sealed: without the key, refuse before Google's consent.
    Keys::from_env(env)?;
    let state = hex::encode(random::<16>());
    db::youtube::start_connect(&db, &state, &app.slug, &creator.id, now_ms()).await?;
    let to = with_query(
        &client.app.authorize_url,
        &[
            ("response_type", "code"),
            ("client_id", &client.app.client_id),
            ("redirect_uri", &callback_url(&origin(req))),
            ("scope", SCOPE),
            ("state", &state),
            ("access_type", "offline"),
            ("prompt", "consent"),
        ],
    );
    Ok(json(200, &json!({"app": app.slug, "authorize_url": to, "expires_in": CONNECT_SECS})))
}

fn callback_url(origin: &str) -> String {
    format!("{origin}/youtube/callback")
}

/// `GET /youtube/callback?code=...&state=...`
pub async fn callback(req: &Request, env: &Env) -> ApiResult<Response> {
    let db = db::db(env)?;
    let state = query_param(req, "state").unwrap_or_default();
    let Some(pending) = db::youtube::take_connect(&db, &state, now_ms() - CONNECT_SECS * 1000).await? else {
        return Err(ApiError::bad_request("invalid_state", "This connection link was used already or has expired; start again from the console or the API."));
    };
    let Some(code) = query_param(req, "code") else {
        return Ok(notice("YouTube was not connected", "The authorization was declined. Start again when you are ready."));
    };
    let client = Client::from_env(env)?;
    let keys = Keys::from_env(env)?;
    let tokens = api::exchange_code(&client, &code, &callback_url(&origin(req))).await.map_err(|e| {
        console_warn!("youtube connect for {}: {e}", pending.app_slug);
        ApiError::Upstream(e.to_string())
    })?;
    let Some(refresh) = tokens.refresh else {
        return Err(ApiError::Upstream("Google gave no refresh token; remove Fanline's access in your Google account and connect again".into()));
    };
    let now = now_ms();
    let (access_token, refresh_token) = sealing::seal_tokens(&keys, Column::YoutubeTokens, &pending.app_slug, &tokens.access, &refresh).await?;
    let chat = Chat {
        app_slug: pending.app_slug.clone(),
        creator_id: pending.creator_id,
        access_token,
        refresh_token,
        token_expires_at: now + tokens.expires_in_secs * 1000,
        status: WAITING.into(),
        broadcast_id: None,
        live_chat_id: None,
        page_token: None,
        // The next minute's read looks for the live broadcast.
        next_poll_at: now,
        polled_at: None,
        last_error: None,
        connected_at: now,
    };
    db::youtube::save(&db, &chat).await?;
    Ok(notice(
        "YouTube connected",
        &format!(
            "{} reads your live broadcast's chat from the next minute on (or from when you go live). You can close this tab.",
            escape_html(&chat.app_slug)
        ),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PickBody {
    broadcast_id: Option<String>,
}

/// `PUT`: read this broadcast's chat (`{"broadcast_id": "..."}`), or any active one (`null`).
pub async fn pick(mut req: Request, env: &Env, slug: &str) -> ApiResult<Response> {
    let db = db::db(env)?;
    let (_, app) = auth::creator_app(&req, &db, slug).await?;
    let body: PickBody = strict_json(&mut req, r#"{"broadcast_id": "dQw4w9WgXcQ"}"#, false).await?;
    if body.broadcast_id.as_ref().is_some_and(|b| b.is_empty() || b.len() > 64 || !b.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')) {
        return Err(ApiError::bad_request("invalid_broadcast", "broadcast_id is a YouTube video id, e.g. dQw4w9WgXcQ"));
    }
    let Some(mut chat) = db::youtube::chat(&db, &app.slug).await? else { return Err(ApiError::NotFound("YouTube connection")) };
    chat.status = WAITING.into();
    chat.broadcast_id = body.broadcast_id;
    chat.live_chat_id = None;
    chat.page_token = None;
    chat.next_poll_at = now_ms();
    db::youtube::save(&db, &chat).await?;
    show(&req, env, slug).await
}

pub async fn show(req: &Request, env: &Env, slug: &str) -> ApiResult<Response> {
    let db = db::db(env)?;
    let (_, app) = auth::creator_app(req, &db, slug).await?;
    let day = quota_day(now_ms());
    let quota = json!({"day": day, "used": db::youtube::quota_used(&db, &day).await?, "budget": live::budget(env)});
    let Some(chat) = db::youtube::chat(&db, &app.slug).await? else {
        return Ok(json(200, &json!({"app": app.slug, "connected": false, "quota": quota})));
    };
    Ok(json(
        200,
        &json!({
            "app": app.slug,
            "connected": true,
            "status": chat.status,
            "broadcast_id": chat.broadcast_id,
            "live_chat_id": chat.live_chat_id,
            "next_poll_at": rfc3339(chat.next_poll_at),
            "polled_at": chat.polled_at.map(rfc3339),
            "last_error": chat.last_error,
            "connected_at": rfc3339(chat.connected_at),
            "quota": quota,
        }),
    ))
}

pub async fn disconnect(req: &Request, env: &Env, slug: &str) -> ApiResult<Response> {
    let db = db::db(env)?;
    let (_, app) = auth::creator_app(req, &db, slug).await?;
    if !db::youtube::disconnect(&db, &app.slug).await? {
        return Err(ApiError::NotFound("YouTube connection"));
    }
    Ok(json(200, &json!({"app": app.slug, "connected": false})))
}
