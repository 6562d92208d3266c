//! Delivering one outbox row, as a pipeline: take the row with its destination's settings (read
//! for the whole queue batch) and check them, claim it, look for what an unanswered attempt may have made, call the destination
//! (`providers::http`), then record the attempt and finish: delivered, retried later (the
//! Standard Webhooks schedule, or a longer Retry-After), or dead (refused, 410 Gone).

use fanline_core::delivery::destination::{self, CallContext, Settings};
use fanline_core::delivery::payload::{self, Deferred};
use fanline_core::delivery::retry::{self, Outcome};
use fanline_core::delivery::state::OutboxState;
use fanline_core::live::chat;
use fanline_core::manifest::DestinationKind;
use fanline_edge::db::{
    self,
    outbox::{Attempt, DeliveryBatch, OutboxRow},
    requests::RequestRow,
};
use fanline_edge::delivery::outbox::{self, enqueue_ids};
use fanline_edge::live::{twitch as live, youtube as youtube_live};
use fanline_edge::platform::config::{config, delivery_timeout, now_ms, outbound_policy, random};
use fanline_edge::platform::error::ApiResult;
use fanline_edge::platform::sealing::Keys;
use fanline_edge::providers::{http, mail, twitch, youtube, ProviderError};
use worker::{console_log, console_warn, D1Database, Env};

use fanline_edge::db::outbox::CLAIM_LEASE_MS;

/// What the consumer should do with the message.
#[derive(Debug, PartialEq, Eq)]
pub enum Delivery {
    Done,
    RetryIn(u32),
    /// Not attempted: the hub's own storage failed. Retried after `outage_delay`.
    CouldNotRun,
}

/// Delivers one outbox row of `batch` (read for the queue batch it came in).
pub async fn deliver(env: &Env, batch: &DeliveryBatch, outbox_id: &str) -> Delivery {
    match try_deliver(env, batch, outbox_id).await {
        Ok(d) => d,
        Err(e) => {
            console_warn!("delivery of {outbox_id} could not run: {e}");
            Delivery::CouldNotRun
        }
    }
}

/// The wait before retrying a message first sent at `sent` that could not run: doubling while
/// D1 is down, so the queue's retries outlast a short outage (`retry::outage_delay`). A row
/// whose message runs out of retries anyway stays pending and the sweeper queues it again.
pub fn outage_delay(env: &Env, sent: worker::Date) -> u32 {
    let first_step = schedule(env)[0];
    let elapsed_ms = u64::try_from(now_ms()).unwrap_or(0).saturating_sub(sent.as_millis());
    retry::outage_delay(first_step, elapsed_ms / 1000)
}

/// One attempt at one row, with what every stage needs.
struct Dispatch<'a> {
    env: &'a Env,
    db: &'a D1Database,
    row: &'a OutboxRow,
    kind: DestinationKind,
    attempt: i64,
    now: i64,
}

async fn try_deliver(env: &Env, batch: &DeliveryBatch, outbox_id: &str) -> ApiResult<Delivery> {
    let db = db::db(env)?;
    let Some((row, destination)) = batch.rows.get(outbox_id) else {
        console_warn!("outbox row {outbox_id} does not exist; dropping the job");
        return Ok(Delivery::Done);
    };
    if !row.state.is_unfinished() {
        // Queues deliver at least once: a duplicate of a finished job is acknowledged unsent.
        return Ok(Delivery::Done);
    }
    let now = now_ms();
    let Some(kind) = DestinationKind::parse(&row.destination) else {
        return unsent(&db, row, OutboxState::Dead, Some("unknown destination kind"), now).await;
    };
    // Nothing to send to: the creator has not set this target up (or a 410 disabled it), or
    // the marketplace has no mail account. Kept as skipped, replayable once set up.
    let settings = match kind {
        DestinationKind::Email | DestinationKind::Feedback | DestinationKind::Twitch | DestinationKind::Youtube => None,
        _ => match destination.as_ref().filter(|d| d.enabled == 1) {
            Some(d) => match d.settings(Keys::if_configured(env).as_ref(), &row.app_slug).await? {
                Some((_, settings)) => Some(settings),
                None => return unsent(&db, row, OutboxState::Skipped, Some(db::outbox::NOT_SET_UP), now).await,
            },
            None => {
                return unsent(&db, row, OutboxState::Skipped, Some(db::outbox::NOT_SET_UP), now).await;
            }
        },
    };
    let mail = mail::account(env);
    if mail.is_none() && matches!(kind, DestinationKind::Email | DestinationKind::Feedback | DestinationKind::CreatorEmail) {
        return unsent(&db, row, OutboxState::Skipped, Some("email is not configured"), now).await;
    }
    // A Trello card is made by the request's first Trello delivery; later ones update it, so
    // they wait until it exists rather than making a second card. The earlier row is looked at
    // first: its success commits together with the card's id, so the id is read after.
    if kind == DestinationKind::Trello && db::outbox::earlier_unfinished(&db, row).await? {
        // Parked, not retried (waiting would use up the job's attempts): the card's creation
        // queues it again, and the sweeper looks at it meanwhile.
        return unsent(&db, row, OutboxState::Pending, Some("waiting for the request's Trello card"), now).await;
    }
    let card_id = match kind {
        DestinationKind::Trello => db::outbox::target_ref(&db, &row.request_id, kind).await?,
        _ => None,
    };
    let d = Dispatch { env, db: &db, row, kind, attempt: row.attempts + 1, now };
    // A row intake wrote is rendered now, and stored with the claim: every attempt after this
    // one sends the same bytes.
    let rendered = match Deferred::parse(&row.payload) {
        None => None,
        Some(deferred) => match render(&d, &deferred, batch.requests.get(&row.request_id)).await? {
            Some(rendered) => Some(rendered),
            None => {
                // The request or its app changed so that nothing is left to send (the fan's
                // data was erased, the route was taken out): kept, like a target not set up.
                return unsent(&db, row, OutboxState::Skipped, Some(NOTHING_TO_SEND), now).await;
            }
        },
    };
    let Some(stored) = db::outbox::claim(&db, &row.id, now, rendered.as_deref().map(|r| (row.payload.as_str(), r))).await? else {
        // Someone else holds it; look again after their lease could have lapsed.
        return Ok(Delivery::RetryIn((CLAIM_LEASE_MS / 1000) as u32));
    };
    let payload: serde_json::Value = serde_json::from_str(&stored).unwrap_or_default();
    match kind {
        DestinationKind::Twitch => return to_stream(&d, &payload).await,
        DestinationKind::Youtube => return to_youtube(&d, &payload).await,
        _ => {}
    }
    let bases = mail::api_bases(env);
    let ctx = CallContext {
        bases: &bases,
        policy: outbound_policy(env),
        message_id: &row.id,
        now_secs: now / 1000,
        card_id: card_id.as_deref(),
        mail: mail.as_ref(),
    };
    // The last attempt got no answer, so it may have made the card or record: look before
    // making another.
    if row.attempts > 0 && db::outbox::last_attempt_unanswered(&db, &row.id).await? {
        if let Some(done) = find_earlier_create(&d, settings.as_ref(), &payload, &ctx).await? {
            return Ok(done);
        }
    }
    let answer = match destination::call(kind, settings.as_ref(), &payload, &ctx) {
        Ok(call) => http::send(call, delivery_timeout(env)).await,
        Err(refusal) => {
            // Unsafe or oversized: no retry can fix it. Recorded, dead, replayable once fixed.
            settle(&d, d.attempt_with(None, Some(&refusal)), OutboxState::Dead, Some(&refusal)).await?;
            console_warn!("{} refused before sending: {refusal}", row.id);
            return Ok(Delivery::Done);
        }
    };
    let (status, retry_after, body) = match &answer {
        Ok(a) => (Some(a.status), a.retry_after.as_deref(), a.body.as_str()),
        Err(_) => (None, None, ""),
    };
    let outcome = retry::judge(status, retry_after);
    let error = match (&answer, outcome) {
        (Err(e), _) => Some(e.clone()),
        (Ok(_), Outcome::Delivered) => None,
        (Ok(a), _) => Some(format!("HTTP {}", a.status)),
    };
    let attempt = d.attempt_with(status, error.as_deref());
    match outcome {
        Outcome::Delivered => {
            let made = match (kind, &card_id) {
                (DestinationKind::Trello, None) => destination::created_id(body),
                _ => None,
            };
            delivered(&d, attempt, made).await
        }
        // 410 Gone: the receiver says this endpoint is over. Stop sending there until the
        // creator sets it again, and keep the job visible (and replayable) as dead.
        Outcome::Gone => {
            if settings.is_some() {
                db::destinations::disable(&db, &row.app_slug, kind, now).await?;
            }
            settle(&d, attempt, OutboxState::Dead, Some("HTTP 410: destination disabled")).await?;
            console_warn!("{} answered 410; {} destination disabled", row.id, row.destination);
            Ok(Delivery::Done)
        }
        Outcome::Retry { at_least } => retry_later(&d, attempt, at_least).await,
    }
}

/// Finishes (or parks) a row without sending it, unless a consumer holds it: then its verdict
/// is theirs, and this message looks again once their lease could have lapsed.
async fn unsent(db: &D1Database, row: &OutboxRow, state: OutboxState, error: Option<&str>, now: i64) -> ApiResult<Delivery> {
    Ok(match db::outbox::set_state(db, &row.id, state, error, now).await? {
        true => Delivery::Done,
        false => Delivery::RetryIn((CLAIM_LEASE_MS / 1000) as u32),
    })
}

const NOTHING_TO_SEND: &str = "nothing to send: the request or its app's routes changed";

/// The payload of a row intake wrote without one: rendered from the request as it is now and
/// the app's registered manifest, with the origin, state and time of the event it reports, so
/// it reads as if rendered then. `None` when the route or request has nothing to send.
async fn render(d: &Dispatch<'_>, deferred: &Deferred, request: Option<&RequestRow>) -> ApiResult<Option<String>> {
    let Some(request) = request else { return Ok(None) };
    let manifest = crate::app_link::recently_registered(d.env, &d.row.app_slug).await?.manifest()?;
    let Some(route) = deferred.route(&manifest, &d.row.event, d.kind) else { return Ok(None) };
    let mut summary = outbox::summary(&manifest, request, &deferred.origin, &outbox::fan_key_secret(d.env));
    summary.status = deferred.status.clone();
    let occasion = payload::Occasion { event: &d.row.event, fan_address: request.fan_email.as_deref(), now_ms: deferred.at };
    Ok(payload::payload(&manifest, &summary, route, &occasion).map(|p| p.to_string()))
}

/// Looks for what an unanswered attempt made (a Trello card, a Notion page, an Airtable
/// record). `Some` when the row is finished: found (delivered) or could not look (retried,
/// since making it again is worse than waiting).
async fn find_earlier_create(d: &Dispatch<'_>, settings: Option<&Settings>, payload: &serde_json::Value, ctx: &CallContext<'_>) -> ApiResult<Option<Delivery>> {
    let Some(look) = destination::find_earlier_create(d.kind, settings, payload, ctx) else { return Ok(None) };
    let looked = http::send(look, delivery_timeout(d.env)).await;
    if let Ok(answer) = &looked {
        if answer.is_success() {
            let Some(made) = destination::earlier_create_id(d.kind, &answer.body, &d.row.request_id) else { return Ok(None) };
            let attempt = d.attempt_with(Some(answer.status), Some("found what the unanswered attempt made"));
            // Only a Trello card is updated later, so only its id is kept.
            return delivered(d, attempt, (d.kind == DestinationKind::Trello).then_some(made)).await.map(Some);
        }
    }
    let (status, error) = match looked {
        Ok(answer) => (Some(answer.status), format!("HTTP {} looking for what the unanswered attempt made", answer.status)),
        Err(e) => (None, e),
    };
    retry_later(d, d.attempt_with(status, Some(&error)), None).await.map(Some)
}

/// A chat reply or a redemption's settlement for a request from a stream, through the channel
/// the app is connected to (skipped, replayable, when it is no longer connected). A refusal
/// Twitch will repeat (a dropped message, a revoked token) is dead; anything else is retried.
async fn to_stream(d: &Dispatch<'_>, payload: &serde_json::Value) -> ApiResult<Delivery> {
    let channel = db::twitch::channel(d.db, &d.row.app_slug).await?.filter(|c| payload["channel"].as_str() == Some(c.broadcaster_id.as_str()));
    let Some(mut channel) = channel else {
        settle(d, d.attempt_with(None, Some("no Twitch channel is connected")), OutboxState::Skipped, Some(db::outbox::NOT_SET_UP)).await?;
        return Ok(Delivery::Done);
    };
    let client = twitch::Client::from_env(d.env)?;
    let keys = Keys::if_configured(d.env);
    let result = match payload["action"].as_str() {
        Some("settle") => {
            let (Some(reward_id), Some(redemption_id), Some(status)) =
                (payload["redemption"]["reward_id"].as_str(), payload["redemption"]["id"].as_str(), payload["status"].as_str())
            else {
                settle(d, d.attempt_with(None, Some("malformed payload")), OutboxState::Dead, Some("malformed payload")).await?;
                return Ok(Delivery::Done);
            };
            live::act(d.db, keys.as_ref(), &client, &mut channel, live::Action::Settle { reward_id, redemption_id, status }).await?
        }
        _ => {
            let Some(message) = chat::notice_message(payload, position(d, payload).await?) else {
                settle(d, d.attempt_with(None, Some("malformed payload")), OutboxState::Dead, Some("malformed payload")).await?;
                return Ok(Delivery::Done);
            };
            live::act(d.db, keys.as_ref(), &client, &mut channel, live::Action::Say(&message)).await?
        }
    };
    match result {
        Ok(()) => delivered(d, d.attempt_with(Some(200), None), None).await,
        Err(ProviderError::Refused { status, message, .. }) if status != 429 => {
            let error = format!("Twitch refused ({status}): {message}");
            settle(d, d.attempt_with(Some(status), Some(&error)), OutboxState::Dead, Some(&error)).await?;
            Ok(Delivery::Done)
        }
        Err(e) => {
            let status = match &e {
                ProviderError::Refused { status, .. } => Some(*status),
                _ => None,
            };
            retry_later(d, d.attempt_with(status, Some(&e.to_string())), None).await
        }
    }
}

/// A chat reply in the YouTube live chat a request came from, within the day's quota budget
/// (over it, the reply waits for a later try). Skipped once that chat is no longer being read.
async fn to_youtube(d: &Dispatch<'_>, payload: &serde_json::Value) -> ApiResult<Delivery> {
    let chat = db::youtube::chat(d.db, &d.row.app_slug).await?.filter(|c| c.live_chat_id.is_some() && c.live_chat_id.as_deref() == payload["channel"].as_str());
    let Some(chat) = chat else {
        settle(d, d.attempt_with(None, Some("the live chat is no longer read")), OutboxState::Skipped, Some(db::outbox::NOT_SET_UP)).await?;
        return Ok(Delivery::Done);
    };
    let Some(message) = chat::notice_message(payload, position(d, payload).await?) else {
        settle(d, d.attempt_with(None, Some("malformed payload")), OutboxState::Dead, Some("malformed payload")).await?;
        return Ok(Delivery::Done);
    };
    let client = youtube::Client::from_env(d.env)?;
    match youtube_live::say(d.env, d.db, &client, &chat, &message).await? {
        Ok(()) => delivered(d, d.attempt_with(Some(200), None), None).await,
        Err(youtube_live::NotSent::OverBudget) => retry_later(d, d.attempt_with(None, Some("the day's YouTube quota budget is spent")), Some(3600)).await,
        Err(youtube_live::NotSent::Provider(ProviderError::Refused { status, message, .. })) if status != 429 => {
            let error = format!("YouTube refused ({status}): {message}");
            settle(d, d.attempt_with(Some(status), Some(&error)), OutboxState::Dead, Some(&error)).await?;
            Ok(Delivery::Done)
        }
        Err(youtube_live::NotSent::Provider(e)) => retry_later(d, d.attempt_with(None, Some(&e.to_string())), None).await,
    }
}

/// A queued request's place in the queue, for its chat reply.
async fn position(d: &Dispatch<'_>, payload: &serde_json::Value) -> ApiResult<Option<u64>> {
    Ok(match (payload["status"].as_str(), db::requests::get(d.db, &d.row.request_id).await?) {
        (Some("queued"), Some(request)) => Some(db::requests::ahead_in_queue(d.db, &request).await?.max(0) as u64 + 1),
        _ => None,
    })
}

impl Dispatch<'_> {
    fn attempt_with<'e>(&'e self, status: Option<u16>, error: Option<&'e str>) -> Attempt<'e> {
        Attempt { outbox_id: &self.row.id, attempt: self.attempt, status, error, at: self.now }
    }
}

/// Records an attempt and the row's state after it in one batch (one round trip): the row
/// keeps `row_error`, which may say more than the attempt's own error.
async fn settle(d: &Dispatch<'_>, attempt: Attempt<'_>, state: OutboxState, row_error: Option<&str>) -> ApiResult<()> {
    let row = d.attempt_with(None, row_error);
    db::commit_all(d.db, vec![db::outbox::record_attempt(d.db, &attempt)?, db::outbox::after_attempt(d.db, &row, state)?]).await
}

/// Records the attempt and marks the row delivered, with what it made (a Trello card's id),
/// in one batch, then queues the request's Trello rows that were waiting for that card.
async fn delivered(d: &Dispatch<'_>, attempt: Attempt<'_>, made: Option<String>) -> ApiResult<Delivery> {
    let mut statements = vec![db::outbox::record_attempt(d.db, &attempt)?, db::outbox::delivered(d.db, &d.row.id, d.attempt, d.now)?];
    if let Some(made) = &made {
        statements.push(db::outbox::insert_target_ref(d.db, &d.row.request_id, d.kind, made, d.now)?);
    }
    db::commit_all(d.db, statements).await?;
    console_log!("delivered {} to {}", d.row.id, d.row.destination);
    if made.is_some() {
        enqueue_ids(d.env, db::outbox::parked(d.db, &d.row.request_id, DestinationKind::Trello).await?).await;
    }
    Ok(Delivery::Done)
}

/// Puts the row back to pending with its error and says when to try again: the schedule's
/// wait, or a receiver's Retry-After when that is longer.
async fn retry_later(d: &Dispatch<'_>, attempt: Attempt<'_>, at_least: Option<u32>) -> ApiResult<Delivery> {
    settle(d, attempt, OutboxState::Pending, attempt.error).await?;
    Ok(Delivery::RetryIn(retry_delay(d.env, d.attempt).max(at_least.unwrap_or(0))))
}

/// The wait after `failed` failed attempts: Standard Webhooks' schedule with jitter, or the
/// `RETRY_SCHEDULE` configured (seconds, comma-separated; tests use short ones).
pub fn retry_delay(env: &Env, failed: i64) -> u32 {
    retry::retry_delay(&schedule(env), failed.clamp(1, 100) as u32, random::<1>()[0])
}

/// Never empty: `parse_schedule` refuses an empty one.
fn schedule(env: &Env) -> Vec<u32> {
    retry::parse_schedule(&config(env, "RETRY_SCHEDULE", "")).unwrap_or_else(|| retry::STANDARD_SCHEDULE.to_vec())
}
