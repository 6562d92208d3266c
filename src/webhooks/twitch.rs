//! `POST /webhooks/twitch`: EventSub deliveries, verified by `Twitch-Eventsub-Message-Signature`
//! (`TWITCH_EVENTSUB_SECRET`, the secret every subscription is made with) and acted on once per
//! message id. A challenge is answered, a revocation recorded; a chat command or a
//! channel-points redemption becomes a request at the app it is mapped to, through the app's
//! own intake (moderation, block list, quotas and capacity apply as on the web form), with the
//! viewer's Twitch identity vouched for by a relay token.

use crate::live::relay::{self, Submitted};
use fanline_core::live::chat::{self, Reply};
use fanline_core::live::twitch::{self as eventsub, Event as TwitchEvent, Message, Signed, Viewer};
use fanline_core::manifest::{ChatRules, Manifest};
use fanline_core::trust::identity::{Identity, LiveOrigin, Provider, Redemption};
use fanline_core::webhook::WebhookOutcome;
use fanline_edge::db::{
    self,
    provider_events::{Event, Source},
    twitch::Channel,
};
use fanline_edge::live::twitch::{act, Action};
use fanline_edge::platform::body::{read_capped, WEBHOOK_MAX};
use fanline_edge::platform::config::{now_ms, required_config};
use fanline_edge::platform::error::{ApiError, ApiResult};
use fanline_edge::platform::http::{header, origin, with_content_type};
use fanline_edge::platform::sealing::Keys;
use fanline_edge::providers::twitch::Client;
use serde_json::Value;
use std::rc::Rc;
use worker::{console_warn, D1Database, Env, Request, Response};

pub async fn handle(mut req: Request, env: &Env) -> ApiResult<Response> {
    let secret = required_config(env, "TWITCH_EVENTSUB_SECRET")?;
    let body = read_capped(&mut req, WEBHOOK_MAX).await?;
    let (id, timestamp, signature) =
        (header(&req, "Twitch-Eventsub-Message-Id"), header(&req, "Twitch-Eventsub-Message-Timestamp"), header(&req, "Twitch-Eventsub-Message-Signature"));
    let signed = Signed { id: id.as_deref(), timestamp: timestamp.as_deref(), signature: signature.as_deref() };
    eventsub::verify(&signed, &body, &secret, now_ms()).map_err(|e| match e {
        eventsub::VerifyError::TooOld => ApiError::bad_request("message_too_old", e.message()),
        _ => ApiError::bad_request("invalid_signature", e.message()),
    })?;
    let message_id = id.unwrap_or_default();
    let message_type = header(&req, "Twitch-Eventsub-Message-Type").unwrap_or_default();
    let message = eventsub::parse(&message_type, &body).map_err(|m| ApiError::bad_request("invalid_event", m))?;
    let db = db::db(env)?;
    let now = now_ms();
    match message {
        Message::Challenge { challenge, subscription } => {
            // Twitch makes the subscription live once the challenge comes back verbatim.
            db::twitch::verified(&db, &subscription.id, &subscription.kind, now).await?;
            let mut response = with_content_type(&challenge, "text/plain");
            response.headers_mut().set("Cache-Control", "no-store")?;
            Ok(response)
        }
        Message::Revocation { subscription } => {
            let event = Event { source: Source::Twitch, id: &message_id, kind: &subscription.kind };
            db::twitch::set_subscription_status(&db, &subscription.id, &subscription.status, now).await?;
            event.record(&db, None, WebhookOutcome::Recorded).await?;
            Ok(Response::empty()?.with_status(204))
        }
        Message::Notification { subscription, event: twitch_event } => {
            let event = Event { source: Source::Twitch, id: &message_id, kind: &subscription.kind };
            let relay = Relay { env, db: &db, origin: origin(&req), message_id: &message_id };
            // Twitch sends every line of the chat: one that is no app's command is answered
            // without a write (there is nothing to do once, so nothing to record).
            let command = match &twitch_event {
                TwitchEvent::Chat { broadcaster_id, text, .. } => match relay.command(broadcaster_id, text).await? {
                    Some(command) => Some(command),
                    None => return Ok(Response::empty()?.with_status(204)),
                },
                _ => None,
            };
            if event.seen(&db).await? {
                return Ok(Response::empty()?.with_status(204));
            }
            let outcome = match (twitch_event, command) {
                (TwitchEvent::Chat { broadcaster_id, viewer, .. }, Some(command)) => relay.chat(command, &broadcaster_id, &viewer).await?,
                (redemption @ TwitchEvent::Redemption { .. }, _) => relay.redemption(&redemption).await?,
                _ => Some(WebhookOutcome::Ignored),
            };
            match outcome {
                Some(outcome) => {
                    event.record(&db, None, outcome).await?;
                    Ok(Response::empty()?.with_status(204))
                }
                // Unrecorded and non-2xx: Twitch delivers it again (the app's idempotency key
                // keeps a second delivery from making a second request).
                None => Err(ApiError::Unavailable("The request could not be made right now; Twitch will deliver the message again.".into())),
            }
        }
    }
}

/// What relaying one notification needs.
struct Relay<'a> {
    env: &'a Env,
    db: &'a D1Database,
    origin: String,
    message_id: &'a str,
}

impl Relay<'_> {
    /// The app on the channel whose command the line is, with the text after the command.
    async fn command(&self, broadcaster_id: &str, text: &str) -> ApiResult<Option<Command>> {
        for channel in db::twitch::channels_of(self.db, broadcaster_id).await? {
            let (_, manifest) = db::apps::with_manifest(self.db, &channel.app_slug).await?;
            let argument = manifest.chat.as_ref().and_then(|rules| eventsub::command_argument(text, &rules.command)).map(str::to_string);
            if let Some(argument) = argument {
                return Ok(Some(Command { channel, manifest, argument }));
            }
        }
        Ok(None)
    }

    /// A command becomes the viewer's request at its app.
    async fn chat(&self, command: Command, broadcaster_id: &str, viewer: &Viewer) -> ApiResult<Option<WebhookOutcome>> {
        let Command { channel, manifest, argument } = command;
        let Some(rules) = &manifest.chat else { return Ok(Some(WebhookOutcome::Ignored)) };
        let linked = db::credits::linked_fan(self.db, &twitch_key(viewer)).await?.is_some();
        let who = viewer_identity(viewer, broadcaster_id, None);
        self.submit(&Target { channel: &channel, manifest: &manifest, rules }, &who, relay::body(rules, &argument, &viewer.login, linked)).await
    }

    /// A redemption of the reward an app created becomes a request there, paid with the points.
    async fn redemption(&self, event: &TwitchEvent) -> ApiResult<Option<WebhookOutcome>> {
        let TwitchEvent::Redemption { broadcaster_id, viewer, reward_id, redemption_id, user_input } = event else {
            return Ok(Some(WebhookOutcome::Ignored));
        };
        let channels = db::twitch::channels_of(self.db, broadcaster_id).await?;
        let Some(channel) = channels.into_iter().find(|c| c.reward_id.as_deref() == Some(reward_id)) else {
            return Ok(Some(WebhookOutcome::Ignored));
        };
        let (_, manifest) = db::apps::with_manifest(self.db, &channel.app_slug).await?;
        let Some(rules) = &manifest.chat else { return Ok(Some(WebhookOutcome::Ignored)) };
        let redemption = Redemption { reward_id: reward_id.clone(), id: redemption_id.clone() };
        let who = viewer_identity(viewer, broadcaster_id, Some(redemption));
        // The points pay for it: the plain request, no add-ons.
        self.submit(&Target { channel: &channel, manifest: &manifest, rules }, &who, relay::body(rules, user_input, &viewer.login, false)).await
    }

    /// Taken: the app's outbox tells the viewer. Refused: the bot says why (never which rule)
    /// and a redemption's points go back. `None` when the app could not answer, so Twitch
    /// delivers again.
    async fn submit(&self, target: &Target<'_>, who: &Identity, body: Value) -> ApiResult<Option<WebhookOutcome>> {
        let Target { channel, manifest, rules } = *target;
        let relayed =
            relay::Relayed { env: self.env, origin: &self.origin, app_slug: &manifest.slug, who, body, idempotency_key: format!("twitch:{}", self.message_id) };
        let refusal = match relay::submit(relayed).await? {
            Submitted::Taken => return Ok(Some(WebhookOutcome::Applied)),
            Submitted::Retry => return Ok(None),
            Submitted::Refused(refusal) => refusal,
        };
        let client = Client::from_env(self.env)?;
        let keys = Keys::if_configured(self.env);
        // Both actions go through one copy, which holds the pair if the first refreshes it.
        let mut channel = channel.clone();
        let usage = chat::usage(manifest, rules);
        let viewer = who.name.as_deref().unwrap_or(&who.sub);
        if let Some(r) = who.live.as_ref().and_then(|l| l.redemption.as_ref()) {
            let settle = Action::Settle { reward_id: &r.reward_id, redemption_id: &r.id, status: "CANCELED" };
            if let Err(e) = act(self.db, keys.as_ref(), &client, &mut channel, settle).await? {
                console_warn!("twitch: could not cancel redemption {} of {}: {e}", r.id, manifest.slug);
            }
        }
        if let Err(e) = act(self.db, keys.as_ref(), &client, &mut channel, Action::Say(&chat::say(viewer, &Reply::Refused { refusal, usage: &usage }))).await? {
            console_warn!("twitch: could not reply in {}'s chat: {e}", channel.broadcaster_login);
        }
        Ok(Some(WebhookOutcome::Recorded))
    }
}

/// A chat line that is an app's command.
struct Command {
    channel: Channel,
    manifest: Rc<Manifest>,
    argument: String,
}

/// The app a notification is for, on the channel it came from.
#[derive(Clone, Copy)]
struct Target<'a> {
    channel: &'a Channel,
    manifest: &'a Manifest,
    rules: &'a ChatRules,
}

fn twitch_key(viewer: &Viewer) -> String {
    format!("{}:{}", Provider::Twitch.as_str(), viewer.id)
}

fn viewer_identity(viewer: &Viewer, broadcaster_id: &str, redemption: Option<Redemption>) -> Identity {
    Identity {
        provider: Provider::Twitch,
        sub: viewer.id.clone(),
        name: Some(viewer.login.clone()),
        email: None,
        live: Some(LiveOrigin { channel: broadcaster_id.to_string(), redemption }),
    }
}
