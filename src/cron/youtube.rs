//! Every minute: each connected YouTube live chat that is due is read from where the last read
//! left off (`pageToken`), no sooner than YouTube's `pollingIntervalMillis` allows and only
//! while the day's quota budget has room. Command messages become requests through the relay;
//! a refusal is answered in the chat. A chat whose broadcast ended waits for the next one,
//! looked for every few minutes.

use crate::live::relay::{self, Submitted};
use fanline_core::live::chat::{self, Reply};
use fanline_core::live::twitch::command_argument;
use fanline_core::live::youtube::{self as yt, ChatMessage};
use fanline_core::manifest::Manifest;
use fanline_core::trust::identity::{Identity, LiveOrigin, Provider};
use fanline_core::webhook::WebhookOutcome;
use fanline_edge::db::{
    self,
    provider_events::{Event, Source},
    youtube::{Chat, LIVE, WAITING},
};
use fanline_edge::live::youtube as live;
use fanline_edge::platform::config::config;
use fanline_edge::platform::ctx::Ctx;
use fanline_edge::platform::error::ApiResult;
use fanline_edge::platform::sealing::Keys;
use fanline_edge::providers::youtube::{self as api, Client};
use worker::{console_error, console_warn};

/// Polled again this soon after a failure YouTube may get over (a timeout, a 5xx).
const RETRY_MS: i64 = 15_000;

/// Reads every due chat; how many command messages it relayed.
pub async fn poll(ctx: Ctx<'_>, now: i64) -> ApiResult<usize> {
    let chats = db::youtube::due(ctx.db, now).await?;
    if chats.is_empty() {
        return Ok(0);
    }
    let client = Client::from_env(ctx.env)?;
    let mut relayed = 0;
    for chat in chats {
        let app = chat.app_slug.clone();
        match poll_one(ctx, &client, chat, now).await {
            Ok(n) => relayed += n,
            Err(e) => console_error!("reading {app}'s YouTube chat failed: {e}"),
        }
    }
    Ok(relayed)
}

async fn poll_one(ctx: Ctx<'_>, client: &Client, mut chat: Chat, now: i64) -> ApiResult<usize> {
    let token = match live::token(ctx.db, Keys::if_configured(ctx.env).as_ref(), client, &mut chat).await? {
        Ok(token) => token,
        Err(e) => return wait(ctx, chat, now + 60_000, &format!("token: {e}")).await,
    };
    if chat.status != LIVE || chat.live_chat_id.is_none() {
        return look_for_broadcast(ctx, client, chat, &token, now).await;
    }
    if !live::spend(ctx.env, ctx.db, yt::LIST_COST).await? {
        return wait(ctx, chat, now + 60_000, "the day's YouTube quota budget is spent").await;
    }
    let live_chat_id = chat.live_chat_id.clone().unwrap_or_default();
    let answer = match api::messages(client, &token, &live_chat_id, chat.page_token.as_deref()).await {
        Ok(answer) => answer,
        Err(e) => return wait(ctx, chat, now + RETRY_MS, &e.to_string()).await,
    };
    if !(200..300).contains(&answer.status) {
        let reason = yt::error_reason(&answer.body).unwrap_or_else(|| format!("HTTP {}", answer.status));
        return match reason.as_str() {
            "quotaExceeded" => {
                live::exhausted(ctx.env, ctx.db).await?;
                wait(ctx, chat, now + 60 * 60_000, "YouTube says the quota is used up").await
            }
            "liveChatEnded" | "liveChatNotFound" | "liveChatDisabled" => ended(ctx, chat, now).await,
            _ if answer.status == 401 => {
                chat.token_expires_at = 0;
                wait(ctx, chat, now + RETRY_MS, "YouTube refused the token; it is refreshed next time").await
            }
            _ => wait(ctx, chat, now + RETRY_MS, &reason).await,
        };
    }
    let page = match yt::parse_page(&answer.body) {
        Ok(page) => page,
        Err(e) => return wait(ctx, chat, now + RETRY_MS, &format!("unreadable page: {e}")).await,
    };
    let (_, manifest) = db::apps::with_manifest(ctx.db, &chat.app_slug).await?;
    let mut relayed = 0;
    for message in page.messages.iter().filter(|m| m.published_ms >= chat.connected_at) {
        if relay_command(ctx, client, &chat, &manifest, message).await? {
            relayed += 1;
        }
    }
    if page.ended {
        return ended(ctx, chat, now).await.map(|_| relayed);
    }
    chat.page_token = page.next_page_token.or(chat.page_token);
    chat.next_poll_at = yt::next_poll_at(now, page.polling_interval_ms);
    chat.polled_at = Some(now);
    chat.last_error = None;
    db::youtube::save(ctx.db, &chat).await?;
    Ok(relayed)
}

/// A message that is the app's command becomes a request, once per message id.
async fn relay_command(ctx: Ctx<'_>, client: &Client, chat: &Chat, manifest: &Manifest, message: &ChatMessage) -> ApiResult<bool> {
    let Some(rules) = &manifest.chat else { return Ok(false) };
    let Some(argument) = command_argument(&message.text, &rules.command) else { return Ok(false) };
    let event = Event { source: Source::Youtube, id: &message.id, kind: "liveChatMessage" };
    if event.seen(ctx.db).await? {
        return Ok(false);
    }
    let who = Identity {
        provider: Provider::Youtube,
        sub: message.author_channel_id.clone(),
        name: Some(message.author_name.clone()),
        email: None,
        live: Some(LiveOrigin { channel: chat.live_chat_id.clone().unwrap_or_default(), redemption: None }),
    };
    let relayed = relay::Relayed {
        env: ctx.env,
        origin: ctx.origin,
        app_slug: &manifest.slug,
        who: &who,
        body: relay::body(rules, argument, &message.author_name, false),
        idempotency_key: format!("youtube:{}", message.id),
    };
    let outcome = match relay::submit(relayed).await? {
        Submitted::Taken => WebhookOutcome::Applied,
        // Left unrecorded: the page is read again from the same token next time.
        Submitted::Retry => return Ok(false),
        Submitted::Refused(refusal) => {
            let usage = chat::usage(manifest, rules);
            let text = chat::say(&message.author_name, &Reply::Refused { refusal, usage: &usage });
            if let Err(live::NotSent::Provider(e)) = live::say(ctx.env, ctx.db, client, chat, &text).await? {
                console_warn!("youtube: could not answer in {}'s chat: {e}", chat.app_slug);
            }
            WebhookOutcome::Recorded
        }
    };
    event.record(ctx.db, None, outcome).await?;
    Ok(true)
}

/// Finds the channel's live broadcast (the one the creator chose, else any active one).
async fn look_for_broadcast(ctx: Ctx<'_>, client: &Client, mut chat: Chat, token: &str, now: i64) -> ApiResult<usize> {
    if !live::spend(ctx.env, ctx.db, yt::BROADCASTS_COST).await? {
        return wait(ctx, chat, now + recheck_ms(ctx), "the day's YouTube quota budget is spent").await;
    }
    let found = match api::broadcasts(client, token, chat.broadcast_id.as_deref()).await {
        Ok(answer) if (200..300).contains(&answer.status) => yt::broadcast_chat(&answer.body),
        Ok(answer) => return wait(ctx, chat, now + recheck_ms(ctx), &format!("looking for a broadcast: HTTP {}", answer.status)).await,
        Err(e) => return wait(ctx, chat, now + recheck_ms(ctx), &e.to_string()).await,
    };
    match found {
        Some((broadcast, live_chat_id)) => {
            chat.status = LIVE.into();
            chat.broadcast_id = Some(broadcast);
            chat.live_chat_id = Some(live_chat_id);
            chat.page_token = None;
            chat.next_poll_at = now;
            chat.last_error = None;
            db::youtube::save(ctx.db, &chat).await?;
            // Read at once rather than a minute later.
            Box::pin(poll_one(ctx, client, chat, now)).await
        }
        None => wait(ctx, chat, now + recheck_ms(ctx), "no live broadcast yet").await.map(|_| 0),
    }
}

/// The broadcast is over: wait for the channel's next one.
async fn ended(ctx: Ctx<'_>, mut chat: Chat, now: i64) -> ApiResult<usize> {
    chat.status = WAITING.into();
    chat.broadcast_id = None;
    chat.live_chat_id = None;
    chat.page_token = None;
    wait(ctx, chat, now + recheck_ms(ctx), "the broadcast ended").await
}

/// How long a chat without a live broadcast waits before it is looked for again:
/// `YOUTUBE_RECHECK_SECS` (the local stack's is short), else five minutes.
fn recheck_ms(ctx: Ctx<'_>) -> i64 {
    config(ctx.env, "YOUTUBE_RECHECK_SECS", "").parse::<i64>().ok().filter(|s| *s > 0).map_or(yt::WAITING_RECHECK_MS, |s| s * 1000)
}

async fn wait(ctx: Ctx<'_>, mut chat: Chat, until: i64, why: &str) -> ApiResult<usize> {
    chat.next_poll_at = until;
    chat.last_error = Some(why.chars().take(300).collect());
    db::youtube::save(ctx.db, &chat).await?;
    Ok(0)
}
