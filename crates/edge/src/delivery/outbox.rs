//! The producer side of delivery: for each state a request enters, one outbox row per route
//! the manifest gives that event, written in the same batch as the state change, then the rows'
//! ids on the queue in one `send_batch`. The hub's consumer delivers them.

use crate::db::{self, outbox::OutboxEntry, requests::RequestRow};
use crate::platform::config::{config, now_ms, random};
use crate::platform::error::ApiResult;
use fanline_core::delivery::payload::{self, RequestSummary};
use fanline_core::delivery::state::OutboxState;
use fanline_core::intake::ids;
use fanline_core::lifecycle::Status;
use fanline_core::live::chat;
use fanline_core::manifest::{DestinationKind, Manifest};
use fanline_core::money::{Currency, Money};
use fanline_core::trust::identity;
use fanline_core::util::time::rfc3339;
use serde::{Deserialize, Serialize};
use worker::{console_warn, D1Database, D1PreparedStatement, Env};

pub const QUEUE_BINDING: &str = "FULFILMENT";

/// Where notifications' links point, and the secret that signs the fan's own links.
#[derive(Clone, Copy)]
pub struct Links<'a> {
    pub origin: &'a str,
    pub fan_secret: &'a str,
}

/// What travels on the queue: only the outbox row's id, so nothing secret sits in a message.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Job {
    pub outbox_id: String,
}

pub fn status_url(origin: &str, app_slug: &str, request_id: &str) -> String {
    format!("{origin}/apps/{app_slug}/api/requests/{request_id}")
}

/// The request's page for people; with the fan's key when it is for the fan.
pub fn page_url(origin: &str, app_slug: &str, request_id: &str, fan_key: Option<&str>) -> String {
    let page = format!("{origin}/apps/{app_slug}/?request={request_id}");
    match fan_key {
        Some(key) => format!("{page}&key={key}"),
        None => page,
    }
}

/// The secret the fan's key to a request is derived from: the same in every Worker.
pub fn fan_key_secret(env: &Env) -> String {
    config(env, "SESSION_SECRET", "")
}

/// The fan's key to a request, when the Workers have a secret to derive it from.
pub fn fan_key(secret: &str, request_id: &str) -> Option<String> {
    (!secret.is_empty()).then(|| identity::fan_request_key(secret.as_bytes(), request_id))
}

/// The request as every destination's payload is rendered from; `fan_secret` signs the link
/// that only mail to the fan carries.
pub fn summary(manifest: &Manifest, row: &RequestRow, origin: &str, fan_secret: &str) -> RequestSummary {
    let fields = serde_json::from_str(&row.fields).unwrap_or_default();
    let add_on_ids: Vec<String> = serde_json::from_str(&row.add_ons).unwrap_or_default();
    let add_ons = add_on_ids.iter().map(|id| manifest.add_on(id).map_or(id.clone(), |a| a.label.clone())).collect();
    let currency = Currency::parse(&row.currency).unwrap_or_else(|_| manifest.pricing.currency.clone());
    RequestSummary {
        id: row.id.clone(),
        app: row.app_slug.clone(),
        app_title: manifest.title.clone(),
        status: row.status.as_str().to_string(),
        fields,
        add_ons,
        price: Money::new(row.amount.max(0) as u64, currency),
        status_url: status_url(origin, &row.app_slug, &row.id),
        page_url: page_url(origin, &row.app_slug, &row.id, None),
        fan_page_url: page_url(origin, &row.app_slug, &row.id, fan_key(fan_secret, &row.id).as_deref()),
        created_at: rfc3339(row.created_at),
    }
}

/// One outbox entry per route the manifest gives each newly entered state, its payload rendered.
pub fn entries(manifest: &Manifest, row: &RequestRow, links: Links<'_>, entered: &[Status]) -> Vec<OutboxEntry> {
    // Built (with the fan's signed link) once; only the status differs between events.
    let mut summary = summary(manifest, row, links.origin, links.fan_secret);
    let from_stream = row.identity.as_deref().and_then(|i| serde_json::from_str::<identity::Identity>(i).ok());
    with_chat_notices(manifest, FromStream::of(row, links, from_stream.as_ref()), entered, |status| {
        summary.status = status.as_str().to_string();
        entries_for_event(manifest, row, &summary, &status.event_name(), |_| new_id())
    })
}

/// The same rows as `entries`, each holding what the consumer needs to render its payload
/// before the first attempt (`payload::Deferred`) instead of the payload: intake's rows, so
/// neither the rendering nor its code is on the fan's path or in an app's Worker. `who` is the
/// identity intake stored with the request, which it has in hand.
pub fn deferred_entries(manifest: &Manifest, row: &RequestRow, links: Links<'_>, who: Option<&identity::Identity>, entered: &[Status]) -> Vec<OutboxEntry> {
    let at = now_ms();
    with_chat_notices(manifest, FromStream::of(row, links, who), entered, |status| {
        let event = status.event_name();
        manifest
            .routes_for(&event)
            .iter()
            .enumerate()
            .filter(|(_, route)| payload::sends(route, &event, row.fan_email.as_deref()))
            .map(|(i, route)| OutboxEntry {
                id: new_id(),
                event: event.clone(),
                destination: route.to,
                payload: payload::Deferred { origin: links.origin.to_string(), status: status.as_str().to_string(), route: i, at }.stored(),
                state: OutboxState::Pending,
            })
            .collect()
    })
}

fn new_id() -> String {
    ids::token("msg_", &random::<16>())
}

/// A request from a stream's chat (its identity has a live origin), with what its chat notices
/// show: the fields and the fan's page.
struct FromStream<'a> {
    who: &'a identity::Identity,
    fields: serde_json::Map<String, serde_json::Value>,
    fan_page_url: String,
}

impl<'a> FromStream<'a> {
    fn of(row: &RequestRow, links: Links<'_>, who: Option<&'a identity::Identity>) -> Option<Self> {
        let who = who.filter(|i| i.live.is_some())?;
        Some(Self {
            who,
            fields: serde_json::from_str(&row.fields).unwrap_or_default(),
            fan_page_url: page_url(links.origin, &row.app_slug, &row.id, fan_key(links.fan_secret, &row.id).as_deref()),
        })
    }
}

/// `routed(status)`'s rows for each entered state, each followed by the chat notices a request
/// from a stream's chat gets (telling the viewer there, settling a redemption).
fn with_chat_notices(
    manifest: &Manifest,
    from_stream: Option<FromStream<'_>>,
    entered: &[Status],
    mut routed: impl FnMut(Status) -> Vec<OutboxEntry>,
) -> Vec<OutboxEntry> {
    let mut out = Vec::new();
    for (i, status) in entered.iter().enumerate() {
        out.extend(routed(*status));
        let Some(FromStream { who, fields, fan_page_url }) = &from_stream else { continue };
        let destination = match who.provider {
            identity::Provider::Youtube => DestinationKind::Youtube,
            _ => DestinationKind::Twitch,
        };
        let step = chat::Step { from: i.checked_sub(1).map(|p| entered[p]), to: *status };
        for notice in chat::notices(manifest, fields, who, step, fan_page_url) {
            out.push(OutboxEntry { id: new_id(), event: status.event_name(), destination, payload: notice.to_string(), state: OutboxState::Pending });
        }
    }
    out
}

/// The entries for one event; `id_for` names each (a reminder's id is fixed per request).
pub fn entries_for_event(manifest: &Manifest, row: &RequestRow, summary: &RequestSummary, event: &str, id_for: impl Fn(usize) -> String) -> Vec<OutboxEntry> {
    manifest
        .routes_for(event)
        .iter()
        .enumerate()
        .filter_map(|(i, route)| {
            let payload = payload::payload(manifest, summary, route, &payload::Occasion { event, fan_address: row.fan_email.as_deref(), now_ms: now_ms() })?;
            Some(OutboxEntry { id: id_for(i), event: event.to_string(), destination: route.to, payload: payload.to_string(), state: OutboxState::Pending })
        })
        .collect()
}

pub fn statements(db: &D1Database, row: &RequestRow, entries: &[OutboxEntry], now: i64) -> ApiResult<Vec<D1PreparedStatement>> {
    db::outbox::insert_statements(db, &row.id, &row.app_slug, entries, now)
}

/// Puts committed outbox rows on the queue. A failed send leaves the rows pending, where the
/// next sweep finds them, so it is logged rather than surfaced to the fan.
pub async fn enqueue(env: &Env, entries: &[OutboxEntry]) {
    enqueue_ids(env, entries.iter().filter(|e| e.state == OutboxState::Pending).map(|e| e.id.clone()).collect()).await;
}

/// Marks the entries whose destination the creator has not set up as skipped, so they are
/// written as the consumer would have left them (replayable once set up) and never queued.
/// Mail to the fan needs no set-up of the creator's; the consumer judges it.
pub fn skip_not_set_up(entries: &mut [OutboxEntry], set_up: impl Fn(DestinationKind) -> bool) {
    for e in entries.iter_mut().filter(|e| {
        !matches!(e.destination, DestinationKind::Email | DestinationKind::Feedback | DestinationKind::Twitch | DestinationKind::Youtube)
            && !set_up(e.destination)
    }) {
        e.state = OutboxState::Skipped;
    }
}

/// Cloudflare Queues takes at most 100 messages per `sendBatch`; a larger batch is refused whole.
const SEND_BATCH_MAX: usize = 100;

/// Sends outbox row ids to the queue, in as few batches as the queue allows (one for any
/// state change; "replay all" can need several).
pub async fn enqueue_ids(env: &Env, ids: Vec<String>) {
    if ids.is_empty() {
        return;
    }
    let Ok(queue) = env.queue(QUEUE_BINDING) else {
        console_warn!("no {QUEUE_BINDING} queue binding; outbox rows stay pending");
        return;
    };
    for chunk in ids.chunks(SEND_BATCH_MAX) {
        crate::platform::meter::queue_send();
        if let Err(e) = queue.send_batch(chunk.iter().map(|id| Job { outbox_id: id.clone() })).await {
            console_warn!("queue send of {} outbox rows failed, the sweeper re-sends them: {e}", chunk.len());
        }
    }
}
