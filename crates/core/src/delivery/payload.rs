//! What each target receives when a request changes state, rendered from the manifest's routes
//! (and their templates): when the outbox row is written, or, for rows intake writes, by the
//! consumer before their first attempt (see `Deferred`). The wire format around it (URLs,
//! credentials, signatures) is added at send time by `delivery::destination`. Built here so every payload is
//! tested without a network.

use crate::manifest::template;
use crate::manifest::{DestinationKind, FieldKind, Manifest, Route};
use crate::money::Money;
use crate::util::time::rfc3339;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// A request as destinations see it.
#[derive(Debug, Clone, Serialize)]
pub struct RequestSummary {
    pub id: String,
    pub app: String,
    pub app_title: String,
    pub status: String,
    pub fields: BTreeMap<String, Value>,
    pub add_ons: Vec<String>,
    pub price: Money,
    /// The request's JSON status.
    pub status_url: String,
    /// The app's page showing the request's status, for people.
    pub page_url: String,
    /// The same page with the fan's key (see `trust::identity::fan_request_key`), for mail to
    /// the fan only: never in what the creator's destinations receive.
    #[serde(skip)]
    pub fan_page_url: String,
    pub created_at: String,
}

// Discord's documented limits for embeds.
const TITLE_MAX: usize = 256;
const DESCRIPTION_MAX: usize = 4096;
const FIELD_NAME_MAX: usize = 256;
const FIELD_VALUE_MAX: usize = 1024;
const FIELDS_MAX: usize = 25;

/// Body for Discord's "Execute Webhook". Fan text never pings anyone (`allowed_mentions` is
/// empty) and contact fields such as email stay out of the channel.
pub fn discord_message(manifest: &Manifest, summary: &RequestSummary, event: &str, content: Option<&str>) -> Value {
    let mut fields = Vec::new();
    for field in &manifest.fields {
        let Some(value) = summary.fields.get(&field.name) else { continue };
        if field.kind == FieldKind::Email {
            continue;
        }
        let text = plain(value);
        if text.is_empty() {
            continue;
        }
        fields.push(json!({ "name": clip(&field.label, FIELD_NAME_MAX), "value": clip(&discord_literal(&text), FIELD_VALUE_MAX), "inline": text.len() < 40 }));
    }
    fields.push(json!({ "name": "Price", "value": price_text(summary), "inline": true }));
    if !summary.add_ons.is_empty() {
        fields.push(json!({ "name": "Add-ons", "value": clip(&summary.add_ons.join(", "), FIELD_VALUE_MAX), "inline": true }));
    }
    fields.truncate(FIELDS_MAX);
    let headline = headline(event);
    let color = match event {
        "request.queued" => 0x57F287,
        "request.held_for_review" | "request.waiting" => 0xFEE75C,
        "request.fulfilled" => 0x5865F2,
        _ => 0x99AAB5,
    };
    let content = content.map_or_else(|| format!("{headline}: {}", summary.app_title), str::to_string);
    json!({
        "content": clip(&content, 2000),
        "allowed_mentions": { "parse": [] },
        "embeds": [{
            "title": clip(&summary.app_title, TITLE_MAX),
            "description": clip(&format!("{headline}. Request `{}` is {}.", summary.id, summary.status), DESCRIPTION_MAX),
            "url": summary.page_url,
            "color": color,
            "fields": fields,
            "timestamp": summary.created_at,
            "footer": { "text": format!("Fanline · {}", summary.app) }
        }]
    })
}

/// Body of a generic webhook, in the Standard Webhooks `{type, timestamp, data}` shape.
pub fn webhook_event(summary: &RequestSummary, event: &str, timestamp: &str) -> Value {
    json!({ "type": event, "timestamp": timestamp, "data": summary })
}

/// What the creator-facing targets say first about an event.
/// The event of a test notification a creator sends to check a destination.
pub const TEST_EVENT: &str = "request.test";

fn headline(event: &str) -> &'static str {
    match event {
        "request.queued" => "New request in the queue",
        "request.held_for_review" => "Request held for your review",
        "request.waiting" => "Request still waiting for you",
        "request.accepted" => "Request accepted",
        "request.fulfilled" => "Request fulfilled",
        "request.rejected" => "Request rejected",
        "request.refunded" => "Request refunded",
        "request.disputed" => "Payment disputed",
        "request.expired" => "Request expired",
        TEST_EVENT => "Test notification from Fanline",
        _ => "Request updated",
    }
}

/// The values `{{placeholders}}` take: every form field by name plus `template::BUILTINS`.
pub fn template_values(summary: &RequestSummary, event: &str) -> BTreeMap<String, String> {
    let mut values: BTreeMap<String, String> = summary.fields.iter().map(|(k, v)| (k.clone(), plain(v))).collect();
    values.insert("id".into(), summary.id.clone());
    values.insert("app".into(), summary.app.clone());
    values.insert("app_title".into(), summary.app_title.clone());
    values.insert("status".into(), summary.status.replace('_', " "));
    values.insert("event".into(), event.to_string());
    values.insert("price".into(), price_text(summary));
    values.insert("add_ons".into(), summary.add_ons.join(", "));
    values.insert("page_url".into(), summary.page_url.clone());
    values.insert("created_at".into(), summary.created_at.clone());
    values
}

/// Fan text shown as typed in Discord: markdown characters are escaped, so `[Claim](https://x)`
/// shows its URL instead of hiding it behind link text, and no heading, quote or spoiler
/// styling applies. A bare URL is left as it is: Discord shows it in full and links it.
fn discord_literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for token in text.split_inclusive(char::is_whitespace) {
        if token.starts_with("https://") || token.starts_with("http://") {
            out.push_str(token);
            continue;
        }
        for c in token.chars() {
            if matches!(c, '\\' | '*' | '_' | '~' | '`' | '|' | '>' | '<' | '[' | ']' | '(' | ')' | '#' | '-') {
                out.push('\\');
            }
            out.push(c);
        }
    }
    out
}

fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Bool(b) => if *b { "yes" } else { "no" }.to_string(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn price_text(summary: &RequestSummary) -> String {
    if summary.price.is_zero() {
        "Free".to_string()
    } else {
        summary.price.display()
    }
}

/// The request as lines of `Label: value` (fields the fan filled, price, add-ons, link): the
/// default body of cards, pages, records and creator emails.
pub fn details(manifest: &Manifest, summary: &RequestSummary) -> String {
    let mut lines = Vec::new();
    for field in &manifest.fields {
        if let Some(value) = summary.fields.get(&field.name).map(plain).filter(|v| !v.is_empty()) {
            lines.push(format!("{}: {value}", field.label));
        }
    }
    lines.push(format!("Price: {}", price_text(summary)));
    if !summary.add_ons.is_empty() {
        lines.push(format!("Add-ons: {}", summary.add_ons.join(", ")));
    }
    lines.push(format!("Status: {}", summary.status.replace('_', " ")));
    lines.push(format!("Request: {} ({})", summary.id, summary.page_url));
    lines.join("\n")
}

/// A short name for the request: the first field the fan filled, after the app's title.
fn default_title(manifest: &Manifest, summary: &RequestSummary) -> String {
    let first = manifest.fields.iter().filter(|f| f.kind != FieldKind::Email).find_map(|f| summary.fields.get(&f.name).map(plain).filter(|v| !v.is_empty()));
    match first {
        Some(value) => format!("{}: {}", summary.app_title, clip(&value, 80)),
        None => format!("{}: {}", summary.app_title, summary.id),
    }
}

/// The event a payload reports, and what it needs besides the request.
pub struct Occasion<'a> {
    pub event: &'a str,
    /// The address the fan typed, for fan mail.
    pub fan_address: Option<&'a str>,
    pub now_ms: i64,
}

/// Whether `route` has anything to send for `event`: not a fan email for a request without an
/// address, or for an event fans are not told about unless the route writes one; never a chat
/// reply (those are added for requests from a stream, not routed). `payload` is `Some` exactly
/// when this is true, so a row can be written before its payload is rendered.
pub fn sends(route: &Route, event: &str, fan_address: Option<&str>) -> bool {
    match route.to {
        DestinationKind::Email => fan_address.is_some() && (fan_mail_line(event).is_some() || route.template.is_some()),
        DestinationKind::Feedback => fan_address.is_some(),
        DestinationKind::Twitch | DestinationKind::Youtube => false,
        _ => true,
    }
}

/// What a row written before its payload holds instead: what rendering it later needs besides
/// the request and its app's manifest. Intake writes these so the payload code (and its work)
/// stays out of every app's Worker; the consumer renders the row once, stores the payload in
/// its place, and every attempt (and retry) sends those same bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Deferred {
    /// Where the request came in, for the links in the payload.
    pub origin: String,
    /// The state the event reports (the request may have moved on by the time it is rendered).
    pub status: String,
    /// The route's place in `routes_for(event)`, and its destination, checked against it.
    pub route: usize,
    /// When the event happened.
    pub at: i64,
}

#[derive(Serialize, serde::Deserialize)]
struct Stored<T> {
    fanline_deferred: T,
}

impl Deferred {
    /// The text stored in the outbox row's payload column.
    pub fn stored(&self) -> String {
        serde_json::to_string(&Stored { fanline_deferred: self }).unwrap_or_default()
    }

    /// The deferred rendering a stored payload holds, if it holds one rather than a payload.
    pub fn parse(stored: &str) -> Option<Deferred> {
        // Rendered payloads never start with this key; the prefix check spares parsing them.
        if !stored.starts_with("{\"fanline_deferred\"") {
            return None;
        }
        serde_json::from_str::<Stored<Deferred>>(stored).ok().map(|s| s.fanline_deferred)
    }

    /// The route it names in `manifest`, when the manifest still routes `event` there.
    pub fn route<'m>(&self, manifest: &'m Manifest, event: &str, to: DestinationKind) -> Option<&'m Route> {
        let routes = manifest.routes_for(event);
        routes.get(self.route).filter(|r| r.to == to).or_else(|| routes.iter().find(|r| r.to == to))
    }
}

/// What one route sends for one event, or `None` when it has nothing to send (see `sends`).
pub fn payload(manifest: &Manifest, summary: &RequestSummary, route: &Route, occasion: &Occasion) -> Option<Value> {
    let Occasion { event, fan_address, now_ms } = *occasion;
    if !sends(route, event, fan_address) {
        return None;
    }
    let values = template_values(summary, event);
    let title = route.title.as_deref().map(|t| template::render(t, &values));
    let text = route.template.as_deref().map(|t| template::render(t, &values));
    let payload = match route.to {
        DestinationKind::Discord => discord_message(manifest, summary, event, text.as_deref()),
        DestinationKind::Webhook => webhook_event(summary, event, &rfc3339(now_ms)),
        DestinationKind::Email => {
            let to = fan_address?;
            // Events fans have no default mail for are sent only when the route writes one.
            let mut mail = match fan_email(summary, event, to) {
                Some(mail) => mail,
                None if text.is_some() => {
                    Email { to: to.to_string(), subject: format!("Your request: {}", summary.app_title), text: String::new(), request_id: summary.id.clone() }
                }
                None => return None,
            };
            override_mail(&mut mail, title, text);
            serde_json::to_value(mail).ok()?
        }
        DestinationKind::Feedback => {
            let mut mail = feedback_email(summary, fan_address?);
            override_mail(&mut mail, title, text);
            serde_json::to_value(mail).ok()?
        }
        DestinationKind::CreatorEmail => serde_json::to_value(Email {
            // The creator's address is their destination setting, filled in at send time.
            to: String::new(),
            subject: clip(&title.unwrap_or_else(|| format!("{}: {}", headline(event), default_title(manifest, summary))), 200),
            text: text.unwrap_or_else(|| format!("{}.\n\n{}\n", headline(event), details(manifest, summary))),
            request_id: summary.id.clone(),
        })
        .ok()?,
        // The description always ends with the request's id, which is how a retry finds the
        // card an unanswered attempt may have made (Trello has no idempotency key).
        DestinationKind::Trello => json!({
            "event": event,
            "request_id": summary.id,
            "name": clip(&title.unwrap_or_else(|| default_title(manifest, summary)), 16_384),
            "desc": format!("{}\n\n{}", clip(&text.clone().unwrap_or_else(|| details(manifest, summary)), 15_000), trello_marker(summary)),
            "comment": clip(&text.unwrap_or_else(|| format!("{}: request is {}.", headline(event), summary.status.replace('_', " "))), 16_384),
        }),
        // One SMS is at most 1600 characters on Twilio; a notice should fit in one or two segments.
        DestinationKind::Sms => {
            json!({ "body": clip(&text.unwrap_or_else(|| format!("{}: {} ({}) {}", headline(event), default_title(manifest, summary), price_text(summary), summary.page_url)), 320) })
        }
        DestinationKind::Notion => json!({
            "title": clip(&title.unwrap_or_else(|| default_title(manifest, summary)), 2000),
            "text": text.unwrap_or_else(|| details(manifest, summary)),
        }),
        // Chat replies are added for requests from a stream (see `live::chat`), never routed.
        DestinationKind::Twitch | DestinationKind::Youtube => return None,
        DestinationKind::Airtable => json!({ "fields": {
            "Request": summary.id,
            "App": summary.app_title,
            "Title": clip(&title.unwrap_or_else(|| default_title(manifest, summary)), 1000),
            "Status": summary.status.replace('_', " "),
            "Price": price_text(summary),
            "Link": summary.page_url,
            "Details": clip(&text.unwrap_or_else(|| details(manifest, summary)), 10_000),
            "Created": summary.created_at,
        }}),
    };
    Some(payload)
}

/// The last line of every Trello card Fanline makes.
pub fn trello_marker(summary: &RequestSummary) -> String {
    format!("Fanline request {} · {}", summary.id, summary.page_url)
}

fn override_mail(mail: &mut Email, subject: Option<String>, text: Option<String>) {
    if let Some(subject) = subject {
        mail.subject = clip(&subject, 200);
    }
    if let Some(text) = text {
        mail.text = text;
    }
}

/// After a request is fulfilled: asks the fan to rate it (1 to 5, once) on the request's own
/// page, through the link signed with the fan's key (ids alone do not let anyone rate).
pub fn feedback_email(summary: &RequestSummary, to: &str) -> Email {
    Email {
        to: to.to_string(),
        subject: format!("How was it? {}", summary.app_title),
        text: format!(
            "Your request {} was fulfilled. How did it go? Rate it from 1 to 5 (once, with an optional comment) here:\n\n{}#rate\n\nThe creator reads every rating.\n",
            summary.id, summary.fan_page_url
        ),
        request_id: summary.id.clone(),
    }
}

/// An email about a request, before any provider's wire format.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub request_id: String,
}

/// The fan's confirmation for an event, or `None` for events fans are not mailed about.
pub fn fan_email(summary: &RequestSummary, event: &str, to: &str) -> Option<Email> {
    let (subject, line) = fan_mail_line(event)?;
    let price = if summary.price.is_zero() { String::new() } else { format!("Paid: {}\n", summary.price.display()) };
    Some(Email {
        to: to.to_string(),
        subject: format!("{subject}: {}", summary.app_title),
        text: format!("{line}\n\n{}\nRequest: {}\n{price}Status: {}\n", summary.app_title, summary.id, summary.fan_page_url),
        request_id: summary.id.clone(),
    })
}

/// The subject and first line of the mail fans get by default for `event`, if they get one.
fn fan_mail_line(event: &str) -> Option<(&'static str, &'static str)> {
    Some(match event {
        "request.queued" => ("Your request is in the queue", "Your request is confirmed and waiting in the creator's queue."),
        "request.held_for_review" => ("Your request is being reviewed", "The creator will look at your request before it joins the queue."),
        "request.fulfilled" => ("Your request was fulfilled", "Good news: the creator has fulfilled your request. Thank you for your support!"),
        "request.refunded" => ("Your request was refunded", "Your payment for this request has been refunded."),
        "request.rejected" => {
            ("Your request was declined", "The creator could not take this request on. Any hold on your card has been released; you were not charged.")
        }
        "request.expired" => ("Your request expired", "This request was not taken on in time. Any hold on your card has been released; you were not charged."),
        _ => return None,
    })
}

/// The body of SendGrid's `POST /v3/mail/send`.
pub fn sendgrid_mail(email: &Email, from: &str, from_name: &str) -> Value {
    json!({
        "personalizations": [{ "to": [{ "email": email.to }] }],
        "from": { "email": from, "name": from_name },
        "subject": email.subject,
        "content": [{ "type": "text/plain", "value": email.text }],
        "custom_args": { "request_id": email.request_id },
        "tracking_settings": { "click_tracking": { "enable": false }, "open_tracking": { "enable": false } }
    })
}

/// Cuts to at most `max` characters, on a character boundary, marking the cut.
pub fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max - 1).collect();
    out.push('…');
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::manifest::tests::SONG;

    /// A queued $3.00 song request with these fields, as destinations see it.
    pub(crate) fn summary_of(fields: &[(&str, Value)], add_ons: &[&str]) -> RequestSummary {
        RequestSummary {
            id: "req_1".into(),
            app: "song-request".into(),
            app_title: "Request a song".into(),
            status: "queued".into(),
            fields: fields.iter().map(|(k, v)| (k.to_string(), v.clone())).collect(),
            add_ons: add_ons.iter().map(|a| a.to_string()).collect(),
            price: Money::new(300, crate::money::Currency::parse("usd").unwrap()),
            status_url: "http://x/apps/song-request/api/requests/req_1".into(),
            page_url: "http://x/apps/song-request/?request=req_1".into(),
            fan_page_url: "http://x/apps/song-request/?request=req_1&key=k".into(),
            created_at: rfc3339(0),
        }
    }

    fn summary() -> RequestSummary {
        summary_of(
            &[("song", json!("Africa @everyone")), ("message", json!("x".repeat(5000))), ("email", json!("fan@example.com"))],
            &["Priority: played next"],
        )
    }

    #[test]
    fn discord_message_respects_limits_and_privacy() {
        let m = Manifest::parse(SONG).unwrap();
        let msg = discord_message(&m, &summary(), "request.queued", None);
        assert_eq!(msg["allowed_mentions"]["parse"], json!([]));
        let embed = &msg["embeds"][0];
        let fields = embed["fields"].as_array().unwrap();
        assert!(fields.iter().all(|f| f["value"].as_str().unwrap().chars().count() <= 1024));
        assert!(!msg.to_string().contains("fan@example.com"));
        assert!(fields.iter().any(|f| f["name"] == "Price" && f["value"] == "$3.00"));
        assert_eq!(embed["url"], "http://x/apps/song-request/?request=req_1");
    }

    #[test]
    fn discord_shows_fan_markdown_as_typed() {
        assert_eq!(discord_literal("[Claim](https://evil.example)"), "\\[Claim\\]\\(https://evil.example\\)");
        assert_eq!(discord_literal("**bold** # h > q `c` ||s||"), "\\*\\*bold\\*\\* \\# h \\> q \\`c\\` \\|\\|s\\|\\|");
        assert_eq!(discord_literal("Wonderwall, Oasis"), "Wonderwall, Oasis");
        assert_eq!(discord_literal("this one: https://youtu.be/a_b-c\nplease"), "this one: https://youtu.be/a_b-c\nplease");
        assert_eq!(discord_literal("héllo\u{3000}_x_"), "héllo\u{3000}\\_x\\_");
    }

    #[test]
    fn webhook_event_wraps_the_summary() {
        let e = webhook_event(&summary(), "request.fulfilled", "2026-01-01T00:00:00.000Z");
        assert_eq!(e["type"], "request.fulfilled");
        assert_eq!(e["data"]["id"], "req_1");
        assert_eq!(e["data"]["price"]["amount"], 300);
    }

    #[test]
    fn fan_emails_exist_only_for_fan_facing_events() {
        let mail = fan_email(&summary(), "request.fulfilled", "fan@example.com").unwrap();
        assert_eq!(mail.subject, "Your request was fulfilled: Request a song");
        assert!(mail.text.contains("http://x/apps/song-request/?request=req_1"));
        assert!(mail.text.contains("Paid: $3.00"));
        assert!(fan_email(&summary(), "request.created", "fan@example.com").is_none());
        let body = sendgrid_mail(&mail, "requests@fanline.example", "Fanline");
        assert_eq!(body["personalizations"][0]["to"][0]["email"], "fan@example.com");
        assert_eq!(body["content"][0]["type"], "text/plain");
    }

    #[test]
    fn fan_emails_for_other_events_need_a_template() {
        let m = Manifest::parse(SONG).unwrap();
        let plain = Route { to: DestinationKind::Email, title: None, template: None };
        assert!(payload(&m, &summary(), &plain, &Occasion { event: "request.accepted", fan_address: Some("fan@example.com"), now_ms: 0 }).is_none());
        let written = Route { to: DestinationKind::Email, title: Some("Accepted: {{song}}".into()), template: Some("We are on it: {{song}}".into()) };
        let mail = payload(&m, &summary(), &written, &Occasion { event: "request.accepted", fan_address: Some("fan@example.com"), now_ms: 0 }).unwrap();
        assert_eq!((mail["subject"].as_str(), mail["text"].as_str()), (Some("Accepted: Africa @everyone"), Some("We are on it: Africa @everyone")));
        assert!(payload(&m, &summary(), &written, &Occasion { event: "request.accepted", fan_address: None, now_ms: 0 }).is_none(), "no address, no mail");
    }

    #[test]
    fn formats_times() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_649_367_553_123), "2022-04-07T21:39:13.123Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn a_row_is_written_exactly_when_its_payload_would_render() {
        let m = Manifest::parse(SONG).unwrap();
        let events = ["request.created", "request.queued", "request.held_for_review", "request.fulfilled", "request.waiting", "request.test"];
        for to in DestinationKind::ALL {
            for template in [None, Some("{{app}} moved".to_string())] {
                let route = Route { to, title: None, template };
                for event in events {
                    for fan in [None, Some("fan@example.com")] {
                        let rendered = payload(&m, &summary(), &route, &Occasion { event, fan_address: fan, now_ms: 0 });
                        assert_eq!(sends(&route, event, fan), rendered.is_some(), "{to:?} {event} {fan:?} {:?}", route.template);
                    }
                }
            }
        }
    }

    #[test]
    fn a_deferred_row_is_told_from_a_payload_and_finds_its_route() {
        let m = Manifest::parse(SONG).unwrap();
        let event = "request.queued";
        let routes = m.routes_for(event);
        let (i, route) = routes.iter().enumerate().next_back().unwrap();
        let d = Deferred { origin: "http://127.0.0.1:8787".into(), status: "queued".into(), route: i, at: 5 };
        let stored = d.stored();
        assert_eq!(Deferred::parse(&stored), Some(d.clone()));
        assert_eq!(d.route(&m, event, route.to), Some(route));
        // A stale index (the manifest changed since) falls back to the route with that destination.
        let moved = Deferred { route: 0, ..d.clone() };
        assert_eq!(moved.route(&m, event, route.to).map(|r| r.to), Some(route.to));
        assert_eq!(d.route(&m, "request.nothing", route.to), None);
        for rendered in [webhook_event(&summary(), event, "t").to_string(), "{}".into(), "".into(), "{\"fanline_deferred\": 1}".into()] {
            assert_eq!(Deferred::parse(&rendered), None, "{rendered}");
        }
    }
}
