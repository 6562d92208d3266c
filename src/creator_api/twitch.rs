//! Connecting an app to the creator's Twitch channel, in one action: `POST
//! /api/apps/:slug/twitch` answers the link where the broadcaster authorizes Fanline; Twitch
//! sends them back to `GET /twitch/callback`, which keeps the broadcaster's token, creates the
//! channel-points reward when one was asked for, and subscribes to the channel's chat (and the
//! reward's redemptions) through EventSub. `GET` shows the connection; `DELETE` removes the
//! subscriptions at Twitch and forgets the channel.

use crate::console::pages::notice;
use fanline_core::live::twitch::{self as eventsub, CHAT_MESSAGE, CONNECT_SCOPES, REDEMPTION_ADD};
use fanline_core::trust::sealed::Column;
use fanline_core::util::origin::with_query;
use fanline_core::util::time::rfc3339;
use fanline_edge::db::{
    self,
    twitch::{Channel, Connect, Subscription},
};
use fanline_edge::platform::body::strict_json;
use fanline_edge::platform::config::{now_ms, random, required_config};
use fanline_edge::platform::error::{ApiError, ApiResult};
use fanline_edge::platform::http::{escape_html, json, origin, query_param};
use fanline_edge::platform::sealing::{self, Keys};
use fanline_edge::providers::twitch::{self as helix, Client};
use fanline_edge::providers::ProviderError;
use fanline_edge::trust::auth;
use serde::{Deserialize, Serialize};
use serde_json::json;
use worker::{console_warn, Env, Request, Response};

/// How long the authorization link works.
const CONNECT_SECS: i64 = 600;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ConnectBody {
    #[serde(default)]
    reward: Option<RewardBody>,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RewardBody {
    title: String,
    cost: u64,
    #[serde(default)]
    prompt: Option<String>,
}

const EXAMPLE: &str = r#"{"reward": {"title": "Request a song", "cost": 500}}"#;

pub async fn connect(mut req: Request, env: &Env, slug: &str) -> ApiResult<Response> {
    let db = db::db(env)?;
    let (creator, app) = auth::creator_app(&req, &db, slug).await?;
    if app.manifest()?.chat.is_none() {
        return Err(ApiError::Conflict {
            code: "chat_not_set_up",
            message: "Add a \"chat\" section (the command and the fields it fills) to the app's manifest first.".into(),
        });
    }
    let body: ConnectBody = strict_json(&mut req, EXAMPLE, true).await?;
    if let Some(r) = &body.reward {
        if r.title.trim().is_empty() || r.title.chars().count() > 45 || !(1..=1_000_000).contains(&r.cost) {
            return Err(ApiError::bad_request("invalid_reward", "reward.title is 1-45 characters and reward.cost 1 to 1000000 points."));
        }
    }
    let client = Client::from_env(env)?;
    // The channel's tokens are stored sealed: without the key, refuse before the creator
    // goes through Twitch's consent for nothing.
    Keys::from_env(env)?;
    let state = hex::encode(random::<16>());
    let reward = body.reward.as_ref().map(serde_json::to_string).transpose()?;
    db::twitch::start_connect(&db, &state, &Connect { app_slug: app.slug.clone(), creator_id: creator.id.clone(), reward, created_at: now_ms() }).await?;
    let to = with_query(
        &client.app.authorize_url,
        &[
            ("response_type", "code"),
            ("client_id", &client.app.client_id),
            ("redirect_uri", &callback_url(&origin(&req))),
            ("scope", CONNECT_SCOPES),
            ("state", &state),
            ("force_verify", "true"),
        ],
    );
    Ok(json(200, &json!({"app": app.slug, "authorize_url": to, "expires_in": CONNECT_SECS})))
}

fn callback_url(origin: &str) -> String {
    format!("{origin}/twitch/callback")
}

/// `GET /twitch/callback?code=...&state=...`: where Twitch returns the broadcaster.
pub async fn callback(req: &Request, env: &Env) -> ApiResult<Response> {
    let db = db::db(env)?;
    let state = query_param(req, "state").unwrap_or_default();
    let Some(pending) = db::twitch::take_connect(&db, &state, now_ms() - CONNECT_SECS * 1000).await? else {
        return Err(ApiError::bad_request("invalid_state", "This connection link was used already or has expired; start again from the console or the API."));
    };
    let Some(code) = query_param(req, "code") else {
        return Ok(notice("Twitch was not connected", "The authorization was declined. Start again from the console when you are ready."));
    };
    let client = Client::from_env(env)?;
    let keys = Keys::from_env(env)?;
    let origin = origin(req);
    let fail = |e: ProviderError| {
        console_warn!("twitch connect for {}: {e}", pending.app_slug);
        ApiError::Upstream(e.to_string())
    };
    let tokens = helix::exchange_code(&client, &code, &callback_url(&origin)).await.map_err(fail)?;
    let (broadcaster_id, login) = helix::current_user(&client, &tokens.access).await.map_err(fail)?;
    if !eventsub::is_twitch_id(&broadcaster_id) {
        return Err(ApiError::Upstream(format!("twitch gave a user id that is not one: {broadcaster_id}")));
    }
    let previous = db::twitch::channel(&db, &pending.app_slug).await?;
    if let Some(previous) = &previous {
        remove_subscriptions(&db, &client, previous).await?;
    }
    let reward: Option<RewardBody> = pending.reward.as_deref().and_then(|r| serde_json::from_str(r).ok());
    let reward_id = match &reward {
        Some(r) => {
            let prompt = r.prompt.clone().unwrap_or_else(|| "What would you like to request?".into());
            let reward = helix::NewReward { broadcaster_id: &broadcaster_id, title: &r.title, cost: r.cost, prompt: &prompt };
            Some(helix::create_reward(&client, &tokens.access, &reward).await.map_err(fail)?)
        }
        // Reconnecting the same channel without asking for a new reward keeps the one it has.
        None => previous.filter(|p| p.broadcaster_id == broadcaster_id).and_then(|p| p.reward_id),
    };
    let now = now_ms();
    let (access_token, refresh_token) = sealing::seal_tokens(&keys, Column::TwitchTokens, &pending.app_slug, &tokens.access, &tokens.refresh).await?;
    let channel = Channel {
        app_slug: pending.app_slug.clone(),
        creator_id: pending.creator_id.clone(),
        broadcaster_id: broadcaster_id.clone(),
        broadcaster_login: login.clone(),
        reward_id: reward_id.clone(),
        access_token,
        refresh_token,
        token_expires_at: now + tokens.expires_in_secs * 1000,
        connected_at: now,
    };
    // Kept before subscribing: Twitch sends each subscription's challenge at once, and the
    // challenge marks the subscription (made below) enabled.
    db::commit_all(&db, db::twitch::save_channel(&db, &channel)?).await?;
    let mut statements = Vec::new();
    let app_token = helix::app_token(&client).await.map_err(fail)?;
    let secret = required_config(env, "TWITCH_EVENTSUB_SECRET")?;
    let webhook = format!("{origin}/webhooks/twitch");
    let mut kinds = vec![CHAT_MESSAGE];
    if reward_id.is_some() {
        kinds.push(REDEMPTION_ADD);
    }
    for kind in kinds {
        let request = eventsub::subscription_request(kind, &broadcaster_id, reward_id.as_deref(), &webhook, &secret);
        let (id, status) = helix::subscribe(&client, &app_token, request).await.map_err(fail)?;
        let subscription = Subscription { id, kind: kind.to_string(), status, updated_at: now_ms() };
        statements.push(db::twitch::insert_subscription(&db, &channel.app_slug, &subscription)?);
    }
    db::commit_all(&db, statements).await?;
    let reward_text = reward.map(|r| format!(" Viewers can also redeem \"{}\" for {} points.", escape_html(&r.title), r.cost)).unwrap_or_default();
    Ok(notice(
        "Twitch connected",
        &format!("{} now takes requests from {}'s chat.{reward_text} You can close this tab.", escape_html(&channel.app_slug), escape_html(&login)),
    ))
}

pub async fn show(req: &Request, env: &Env, slug: &str) -> ApiResult<Response> {
    let db = db::db(env)?;
    let (_, app) = auth::creator_app(req, &db, slug).await?;
    let command = app.manifest()?.chat.as_ref().map(|c| c.command.clone());
    let Some(channel) = db::twitch::channel(&db, &app.slug).await? else {
        return Ok(json(200, &json!({"app": app.slug, "connected": false, "command": command})));
    };
    let subscriptions = db::twitch::subscriptions(&db, &app.slug).await?;
    Ok(json(
        200,
        &json!({
            "app": app.slug,
            "connected": true,
            "command": command,
            "channel": {"id": channel.broadcaster_id, "login": channel.broadcaster_login},
            "reward_id": channel.reward_id,
            "subscriptions": subscriptions,
            "connected_at": rfc3339(channel.connected_at),
        }),
    ))
}

pub async fn disconnect(req: &Request, env: &Env, slug: &str) -> ApiResult<Response> {
    let db = db::db(env)?;
    let (_, app) = auth::creator_app(req, &db, slug).await?;
    let Some(channel) = db::twitch::channel(&db, &app.slug).await? else {
        return Err(ApiError::NotFound("Twitch connection"));
    };
    let client = Client::from_env(env)?;
    let removed = remove_subscriptions(&db, &client, &channel).await?;
    db::twitch::disconnect(&db, &app.slug).await?;
    Ok(json(200, &json!({"app": app.slug, "connected": false, "removed_subscriptions": removed})))
}

/// Deletes the channel's subscriptions at Twitch (one already gone counts as removed). If
/// Twitch cannot be reached the connection stays, so the creator can try again.
async fn remove_subscriptions(db: &worker::D1Database, client: &Client, channel: &Channel) -> ApiResult<usize> {
    let subscriptions = db::twitch::subscriptions(db, &channel.app_slug).await?;
    if subscriptions.is_empty() {
        return Ok(0);
    }
    let app_token = helix::app_token(client).await.map_err(|e| ApiError::Upstream(e.to_string()))?;
    for s in &subscriptions {
        match helix::unsubscribe(client, &app_token, &s.id).await {
            Ok(()) | Err(ProviderError::Refused { status: 404, .. }) => {}
            Err(e) => return Err(ApiError::Upstream(format!("removing subscription {}: {e}", s.id))),
        }
    }
    Ok(subscriptions.len())
}
