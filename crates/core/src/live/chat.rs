//! Requests from a live stream's chat: a command's text as a request's fields, and what the bot
//! answers in chat. The answers say what happened in the viewer's terms (queued at #3, not
//! taken, over the limit, queue full), never which moderation rule or list fired.

use crate::lifecycle::Status;
use crate::manifest::{ChatRules, Manifest};
use crate::trust::identity::Identity;
use serde_json::{Map, Value};

/// Twitch refuses chat messages longer than this.
pub const MESSAGE_MAX: usize = 500;

/// A command's text as the request's fields: split on the separator into the listed fields in
/// order (the last takes the rest), and the viewer's name in `viewer_field`.
pub fn fields(rules: &ChatRules, text: &str, viewer: &str) -> Map<String, Value> {
    let mut out = Map::new();
    let mut parts = text.splitn(rules.fields.len().max(1), rules.separator.as_str());
    for field in &rules.fields {
        if let Some(part) = parts.next().map(str::trim).filter(|p| !p.is_empty()) {
            out.insert(field.clone(), Value::String(part.to_string()));
        }
    }
    if let Some(field) = &rules.viewer_field {
        out.insert(field.clone(), Value::String(viewer.to_string()));
    }
    out
}

/// How to use the command, from its rules (`!sr Song - Artist`).
pub fn usage(manifest: &Manifest, rules: &ChatRules) -> String {
    let labels: Vec<&str> = rules.fields.iter().map(|f| manifest.field(f).map_or(f.as_str(), |f| f.label.as_str())).collect();
    format!("{} {}", rules.command, labels.join(&rules.separator))
}

/// Why intake did not take a chat request, grouped as the viewer may be told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Moderation or the block list: "not taken", nothing more.
    NotTaken,
    /// A per-viewer quota or rate limit.
    Limit,
    /// The queue is at capacity.
    QueueFull,
    /// The app is paused, closed or not open.
    Closed,
    /// Not enough credits.
    Credits,
    /// The text did not fill the required fields.
    Usage,
    /// Anything else (a service down): try again.
    TryAgain,
}

impl Refusal {
    /// From the error code intake answered with.
    pub fn from_code(code: &str) -> Self {
        match code {
            "request_rejected" => Self::NotTaken,
            "quota_exceeded" | "rate_limited" => Self::Limit,
            "queue_full" => Self::QueueFull,
            "app_paused" | "app_archived" | "app_draft" | "invite_required" => Self::Closed,
            "insufficient_credits" | "fan_token_required" => Self::Credits,
            "validation_failed" => Self::Usage,
            _ => Self::TryAgain,
        }
    }
}

/// What the bot says, to one viewer.
pub enum Reply<'a> {
    Refused {
        refusal: Refusal,
        usage: &'a str,
    },
    /// In the queue at `position` (1 is next).
    Queued {
        title: &'a str,
        position: Option<u64>,
    },
    /// Waiting for the creator's review.
    Held,
    /// Needs paying at `url` first.
    Pay {
        url: &'a str,
    },
    Done {
        title: &'a str,
    },
    /// Declined, refunded or expired; a redemption's points are given back.
    Ended {
        title: &'a str,
        points_back: bool,
    },
}

/// The message, addressed to `@viewer`, within Twitch's length limit.
pub fn say(viewer: &str, reply: &Reply) -> String {
    let text = match reply {
        Reply::Refused { refusal, usage } => match refusal {
            Refusal::NotTaken => "sorry, that request can't be taken.".to_string(),
            Refusal::Limit => "you've reached your request limit for now; try again later.".to_string(),
            Refusal::QueueFull => "the queue is full right now; try again when it has room.".to_string(),
            Refusal::Closed => "requests are closed right now.".to_string(),
            Refusal::Credits => "you don't have enough credits for a request.".to_string(),
            Refusal::Usage => format!("try: {usage}"),
            Refusal::TryAgain => "that didn't go through; please try again in a moment.".to_string(),
        },
        Reply::Queued { title, position: Some(p) } => format!("\"{title}\" is #{p} in the queue."),
        Reply::Queued { title, position: None } => format!("\"{title}\" is in the queue."),
        Reply::Held => "got it; the streamer will look at your request first.".to_string(),
        Reply::Pay { url } => format!("to confirm your request, pay here: {url}"),
        Reply::Done { title } => format!("\"{title}\" is done. Thanks for the request!"),
        Reply::Ended { title, points_back: true } => format!("\"{title}\" wasn't taken; your points are back."),
        Reply::Ended { title, points_back: false } => format!("\"{title}\" wasn't taken this time."),
    };
    let message = format!("@{viewer} {text}");
    message.chars().take(MESSAGE_MAX).collect()
}

/// What a redemption becomes when its request reaches `status`: `FULFILLED` when done,
/// `CANCELED` (points back) when it ends any other way; `None` while it is still open.
pub fn redemption_status(status: Status) -> Option<&'static str> {
    match status {
        Status::Fulfilled | Status::Closed => Some("FULFILLED"),
        Status::Rejected | Status::Expired | Status::Refunded => Some("CANCELED"),
        _ => None,
    }
}

/// The states a viewer hears about in chat.
pub fn tells(status: Status) -> bool {
    matches!(
        status,
        Status::Queued | Status::HeldForReview | Status::AwaitingPayment | Status::Fulfilled | Status::Rejected | Status::Expired | Status::Refunded
    )
}

/// A state a request entered, and the one it left (`None` when not known).
#[derive(Debug, Clone, Copy)]
pub struct Step {
    pub from: Option<Status>,
    pub to: Status,
}

/// The outbox payloads for a request from a stream entering `status`: settling its redemption
/// (`"action": "settle"`, when the request has ended) and the chat reply (`"action": "say"`:
/// who to address, where, what the request is called). Empty for requests from elsewhere and
/// states the viewer does not hear about. Two payloads, so each is retried on its own.
/// A request blocked at intake (`Created` to `Rejected`) gets none, since the relay already
/// answered (and cancelled a redemption) without echoing it.
pub fn notices(manifest: &Manifest, fields: &Map<String, Value>, who: &Identity, step: Step, pay_url: &str) -> Vec<Value> {
    let Step { from: previous, to: status } = step;
    if status == Status::Rejected && previous == Some(Status::Created) {
        return Vec::new();
    }
    let Some(live) = who.live.as_ref().filter(|_| tells(status)) else { return Vec::new() };
    let mut out = Vec::new();
    if let (Some(redemption), Some(settled)) = (&live.redemption, redemption_status(status)) {
        out.push(serde_json::json!({"action": "settle", "channel": live.channel, "redemption": redemption, "status": settled}));
    }
    let title = crate::live::overlay::entry(manifest, &crate::live::overlay::Source { fields, identity_name: None }).title;
    out.push(serde_json::json!({
        "action": "say",
        "status": status.as_str(),
        "channel": live.channel,
        "viewer": who.name.clone().unwrap_or_else(|| who.sub.clone()),
        "title": title,
        "points": live.redemption.is_some(),
        "pay_url": (status == Status::AwaitingPayment).then_some(pay_url),
    }));
    out
}

/// The chat message for a notice (`position` is looked up when it is sent).
pub fn notice_message(notice: &Value, position: Option<u64>) -> Option<String> {
    let viewer = notice["viewer"].as_str()?;
    let title = notice["title"].as_str().unwrap_or("your request");
    let reply = match Status::parse(notice["status"].as_str()?)? {
        Status::Queued => Reply::Queued { title, position },
        Status::HeldForReview => Reply::Held,
        Status::AwaitingPayment => Reply::Pay { url: notice["pay_url"].as_str()? },
        Status::Fulfilled => Reply::Done { title },
        _ => Reply::Ended { title, points_back: notice["points"] == true },
    };
    Some(say(viewer, &reply))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::tests::SONG;

    fn rules() -> ChatRules {
        serde_json::from_value(serde_json::json!({"command": "!sr", "fields": ["song", "artist"], "viewer_field": "twitch_handle"})).unwrap()
    }

    #[test]
    fn splits_the_text_into_the_fields_in_order() {
        let f = fields(&rules(), "Wonderwall - Oasis - live", "luna_fan");
        assert_eq!(f["song"], "Wonderwall");
        assert_eq!(f["artist"], "Oasis - live");
        assert_eq!(f["twitch_handle"], "luna_fan");
        let f = fields(&rules(), "  Wonderwall  ", "v");
        assert_eq!((f.get("song").and_then(Value::as_str), f.get("artist")), (Some("Wonderwall"), None));
        assert!(!fields(&rules(), "", "v").contains_key("song"));
    }

    #[test]
    fn tells_what_happened_but_never_which_rule() {
        let usage = usage(&Manifest::parse(SONG).unwrap(), &rules());
        assert_eq!(usage, "!sr Song - Artist");
        let refused = say("v", &Reply::Refused { refusal: Refusal::from_code("request_rejected"), usage: &usage });
        assert_eq!(refused, "@v sorry, that request can't be taken.");
        assert_eq!(Refusal::from_code("queue_full"), Refusal::QueueFull);
        assert_eq!(Refusal::from_code("quota_exceeded"), Refusal::Limit);
        assert_eq!(Refusal::from_code("whatever"), Refusal::TryAgain);
        assert_eq!(say("v", &Reply::Queued { title: "Song", position: Some(3) }), "@v \"Song\" is #3 in the queue.");
        assert_eq!(say("v", &Reply::Refused { refusal: Refusal::Usage, usage: &usage }), "@v try: !sr Song - Artist");
        assert!(say("v", &Reply::Done { title: &"x".repeat(900) }).chars().count() <= MESSAGE_MAX);
    }

    #[test]
    fn notices_carry_what_the_reply_and_the_redemption_need() {
        use crate::trust::identity::{LiveOrigin, Provider, Redemption};
        let manifest = Manifest::parse(SONG).unwrap();
        let f = fields(&rules(), "Wonderwall - Oasis", "luna_fan");
        let mut who = Identity { provider: Provider::Twitch, sub: "2002".into(), name: Some("luna_fan".into()), email: None, live: None };
        assert!(notices(&manifest, &f, &who, Step { from: None, to: Status::Queued }, "u").is_empty(), "not from a stream");
        who.live = Some(LiveOrigin { channel: "1001".into(), redemption: Some(Redemption { reward_id: "rw".into(), id: "rd".into() }) });
        let queued = notices(&manifest, &f, &who, Step { from: None, to: Status::Queued }, "u");
        assert_eq!(queued.len(), 1, "an open request settles nothing yet");
        assert_eq!((queued[0]["action"].as_str(), queued[0]["channel"].as_str()), (Some("say"), Some("1001")));
        assert_eq!(notice_message(&queued[0], Some(2)).unwrap(), "@luna_fan \"Wonderwall - Oasis\" is #2 in the queue.");
        let declined = notices(&manifest, &f, &who, Step { from: Some(Status::Queued), to: Status::Rejected }, "u");
        assert_eq!(
            (declined[0]["action"].as_str(), declined[0]["status"].as_str(), declined[0]["redemption"]["id"].as_str()),
            (Some("settle"), Some("CANCELED"), Some("rd"))
        );
        assert_eq!(notice_message(&declined[1], None).unwrap(), "@luna_fan \"Wonderwall - Oasis\" wasn't taken; your points are back.");
        let pay = notices(&manifest, &f, &who, Step { from: Some(Status::Validated), to: Status::AwaitingPayment }, "https://pay.example/x");
        assert!(notice_message(&pay[0], None).unwrap().ends_with("pay here: https://pay.example/x"));
        assert!(notices(&manifest, &f, &who, Step { from: Some(Status::Created), to: Status::Validated }, "u").is_empty());
        assert!(
            notices(&manifest, &f, &who, Step { from: Some(Status::Created), to: Status::Rejected }, "u").is_empty(),
            "blocked at intake: the relay answered"
        );
    }

    #[test]
    fn a_redemption_is_settled_once_its_request_ends() {
        assert_eq!(redemption_status(Status::Fulfilled), Some("FULFILLED"));
        assert_eq!(redemption_status(Status::Rejected), Some("CANCELED"));
        assert_eq!(redemption_status(Status::Refunded), Some("CANCELED"));
        assert_eq!(redemption_status(Status::Queued), None);
        assert!(tells(Status::Queued) && !tells(Status::Validated));
    }
}
