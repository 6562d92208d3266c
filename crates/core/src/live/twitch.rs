//! Twitch EventSub over webhooks: verifying a delivery as Twitch signs it, reading the three
//! message types, and turning a chat command or a channel-points redemption into a request's
//! fields. What the bot says back lives in `live::chat`.

use crate::util::time::parse_rfc3339;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

/// Twitch's own limit: a message older than this may be a replay and is refused.
pub const MAX_AGE_MS: i64 = 10 * 60 * 1000;

/// The EventSub subscription types Fanline creates for a connected channel.
pub const CHAT_MESSAGE: &str = "channel.chat.message";
pub const REDEMPTION_ADD: &str = "channel.channel_points_custom_reward_redemption.add";

/// Why a delivery was refused before its body was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifyError {
    MissingHeader,
    Malformed,
    TooOld,
    Mismatch,
}

impl VerifyError {
    pub fn message(self) -> &'static str {
        match self {
            Self::MissingHeader => "Twitch-Eventsub-Message-Id, -Timestamp and -Signature are required.",
            Self::Malformed => "The signature or timestamp is not in Twitch's format.",
            Self::TooOld => "The message is more than 10 minutes old (or from the future).",
            Self::Mismatch => "The signature does not match the message.",
        }
    }
}

/// The three headers Twitch signs a delivery with.
pub struct Signed<'a> {
    pub id: Option<&'a str>,
    pub timestamp: Option<&'a str>,
    pub signature: Option<&'a str>,
}

/// Checks `Twitch-Eventsub-Message-Signature`: `sha256=` and the hex HMAC-SHA256, keyed by the
/// subscription's secret, over the message id, the timestamp and the raw body, compared in
/// constant time; and the timestamp within ten minutes of `now_ms` either way.
pub fn verify(headers: &Signed, body: &[u8], secret: &str, now_ms: i64) -> Result<(), VerifyError> {
    let (Some(id), Some(timestamp), Some(signature)) = (headers.id, headers.timestamp, headers.signature) else {
        return Err(VerifyError::MissingHeader);
    };
    let sent = parse_rfc3339(timestamp).ok_or(VerifyError::Malformed)?;
    let given = signature.strip_prefix("sha256=").and_then(|h| hex::decode(h).ok()).ok_or(VerifyError::Malformed)?;
    if now_ms.abs_diff(sent) > MAX_AGE_MS.unsigned_abs() {
        return Err(VerifyError::TooOld);
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).map_err(|_| VerifyError::Malformed)?;
    mac.update(id.as_bytes());
    mac.update(timestamp.as_bytes());
    mac.update(body);
    mac.verify_slice(&given).map_err(|_| VerifyError::Mismatch)
}

/// What a verified delivery says (`Twitch-Eventsub-Message-Type` and the body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// `webhook_callback_verification`: answer the challenge as plain text.
    Challenge {
        challenge: String,
        subscription: Subscription,
    },
    /// `revocation`: Twitch stopped the subscription (authorization revoked, user removed, ...).
    Revocation {
        subscription: Subscription,
    },
    Notification {
        subscription: Subscription,
        event: Event,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub id: String,
    pub kind: String,
    pub status: String,
}

/// A viewer in a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Viewer {
    pub id: String,
    pub login: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Chat {
        broadcaster_id: String,
        viewer: Viewer,
        message_id: String,
        text: String,
    },
    Redemption {
        broadcaster_id: String,
        viewer: Viewer,
        reward_id: String,
        redemption_id: String,
        user_input: String,
    },
    /// A subscription type Fanline does not act on.
    Other,
}

/// Reads a delivery by its message type; `Err` says what is missing.
pub fn parse(message_type: &str, body: &[u8]) -> Result<Message, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("body is not JSON: {e}"))?;
    let text = |v: &Value, key: &str| v[key].as_str().map(str::to_string).ok_or_else(|| format!("'{key}' is missing"));
    let s = &v["subscription"];
    let subscription = Subscription { id: text(s, "id")?, kind: text(s, "type")?, status: s["status"].as_str().unwrap_or_default().to_string() };
    match message_type {
        "webhook_callback_verification" => Ok(Message::Challenge { challenge: text(&v, "challenge")?, subscription }),
        "revocation" => Ok(Message::Revocation { subscription }),
        "notification" => {
            let e = &v["event"];
            let event = match subscription.kind.as_str() {
                CHAT_MESSAGE => Event::Chat {
                    broadcaster_id: text(e, "broadcaster_user_id")?,
                    viewer: Viewer { id: text(e, "chatter_user_id")?, login: text(e, "chatter_user_login")?, name: text(e, "chatter_user_name")? },
                    message_id: text(e, "message_id")?,
                    text: text(&e["message"], "text")?,
                },
                REDEMPTION_ADD => Event::Redemption {
                    broadcaster_id: text(e, "broadcaster_user_id")?,
                    viewer: Viewer { id: text(e, "user_id")?, login: text(e, "user_login")?, name: text(e, "user_name")? },
                    reward_id: text(&e["reward"], "id")?,
                    redemption_id: text(e, "id")?,
                    user_input: e["user_input"].as_str().unwrap_or_default().to_string(),
                },
                _ => Event::Other,
            };
            Ok(Message::Notification { subscription, event })
        }
        other => Err(format!("unknown message type '{other}'")),
    }
}

/// The text after a chat command (`!sr Song - Artist` with `!sr` gives `Song - Artist`);
/// `None` when the message is not the command. Case-insensitive, and the command must be a
/// whole word (`!srx` is not `!sr`).
pub fn command_argument<'t>(text: &'t str, command: &str) -> Option<&'t str> {
    let text = text.trim_start();
    let head = text.get(..command.len())?;
    if !head.eq_ignore_ascii_case(command) {
        return None;
    }
    let rest = &text[command.len()..];
    (rest.is_empty() || rest.starts_with(char::is_whitespace)).then(|| rest.trim())
}

/// Only these reach a subscription's condition or a Helix query: Twitch ids are digits.
pub fn is_twitch_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 32 && id.bytes().all(|b| b.is_ascii_digit())
}

/// The body of `POST /helix/eventsub/subscriptions` for one of the types above.
pub fn subscription_request(kind: &str, broadcaster_id: &str, reward_id: Option<&str>, callback: &str, secret: &str) -> Value {
    let condition = match kind {
        CHAT_MESSAGE => serde_json::json!({"broadcaster_user_id": broadcaster_id, "user_id": broadcaster_id}),
        _ => match reward_id {
            Some(reward) => serde_json::json!({"broadcaster_user_id": broadcaster_id, "reward_id": reward}),
            None => serde_json::json!({"broadcaster_user_id": broadcaster_id}),
        },
    };
    serde_json::json!({"type": kind, "version": "1", "condition": condition, "transport": {"method": "webhook", "callback": callback, "secret": secret}})
}

/// Scopes the broadcaster grants when connecting: read chat and send as the channel (the bot
/// speaks as the broadcaster), read redemptions and settle them.
pub const CONNECT_SCOPES: &str = "channel:read:redemptions channel:manage:redemptions user:read:chat user:write:chat user:bot channel:bot";

#[cfg(test)]
mod tests {
    use super::*;

    // Computed with Node's crypto, independently of this code:
    // createHmac("sha256", SECRET).update(ID + TS + BODY).digest("hex")
    const SECRET: &str = "s3cre7-fanline-eventsub";
    const ID: &str = "e76c6bd4-55c9-4987-8304-da1588d8988b";
    const TS: &str = "2026-12-01T04:40:00.123456789Z";
    const TS_MS: i64 = 1_796_100_000_123;
    const BODY: &str = r#"{"subscription":{"id":"sub1","type":"channel.chat.message","version":"1","status":"enabled"},"event":{"broadcaster_user_id":"1001","chatter_user_id":"2002","chatter_user_login":"viewer","chatter_user_name":"Viewer","message_id":"m1","message":{"text":"!sr Song - Artist"}}}"#;
    const SIG: &str = "sha256=4b2d19a4ba4fdcf36b4e637f7469a103b4ade4f6ec285e4addac0e0455faa015";

    fn signed<'a>(id: &'a str, ts: &'a str, sig: &'a str) -> Signed<'a> {
        Signed { id: Some(id), timestamp: Some(ts), signature: Some(sig) }
    }

    #[test]
    fn accepts_the_independent_vector_and_nothing_else() {
        assert_eq!(verify(&signed(ID, TS, SIG), BODY.as_bytes(), SECRET, TS_MS + 1000), Ok(()));
        assert_eq!(verify(&signed(ID, TS, SIG), BODY.replace("Song", "Sang").as_bytes(), SECRET, TS_MS), Err(VerifyError::Mismatch));
        assert_eq!(verify(&signed("other", TS, SIG), BODY.as_bytes(), SECRET, TS_MS), Err(VerifyError::Mismatch));
        assert_eq!(verify(&signed(ID, TS, SIG), BODY.as_bytes(), "wrong", TS_MS), Err(VerifyError::Mismatch));
        assert_eq!(verify(&signed(ID, TS, &SIG.replace("sha256=", "")), BODY.as_bytes(), SECRET, TS_MS), Err(VerifyError::Malformed));
        assert_eq!(verify(&signed(ID, "yesterday", SIG), BODY.as_bytes(), SECRET, TS_MS), Err(VerifyError::Malformed));
        let missing = Signed { id: Some(ID), timestamp: None, signature: Some(SIG) };
        assert_eq!(verify(&missing, BODY.as_bytes(), SECRET, TS_MS), Err(VerifyError::MissingHeader));
    }

    #[test]
    fn refuses_messages_older_than_ten_minutes() {
        assert_eq!(verify(&signed(ID, TS, SIG), BODY.as_bytes(), SECRET, TS_MS + MAX_AGE_MS), Ok(()));
        assert_eq!(verify(&signed(ID, TS, SIG), BODY.as_bytes(), SECRET, TS_MS + MAX_AGE_MS + 1), Err(VerifyError::TooOld));
        assert_eq!(verify(&signed(ID, TS, SIG), BODY.as_bytes(), SECRET, TS_MS - MAX_AGE_MS - 1), Err(VerifyError::TooOld));
    }

    #[test]
    fn reads_the_three_message_types() {
        let Message::Notification { event: Event::Chat { broadcaster_id, viewer, text, .. }, .. } = parse("notification", BODY.as_bytes()).unwrap() else {
            panic!()
        };
        assert_eq!((broadcaster_id.as_str(), viewer.login.as_str(), text.as_str()), ("1001", "viewer", "!sr Song - Artist"));
        let challenge = r#"{"challenge":"pogchamp-kappa-360noscope-vohiyo","subscription":{"id":"s","type":"channel.chat.message","status":"webhook_callback_verification_pending"}}"#;
        assert!(
            matches!(parse("webhook_callback_verification", challenge.as_bytes()), Ok(Message::Challenge { challenge, .. }) if challenge == "pogchamp-kappa-360noscope-vohiyo")
        );
        let revoked = r#"{"subscription":{"id":"s","type":"channel.chat.message","status":"authorization_revoked"}}"#;
        assert!(matches!(parse("revocation", revoked.as_bytes()), Ok(Message::Revocation { subscription }) if subscription.status == "authorization_revoked"));
        let redemption = r#"{"subscription":{"id":"s","type":"channel.channel_points_custom_reward_redemption.add","status":"enabled"},
            "event":{"id":"r1","broadcaster_user_id":"1001","user_id":"2002","user_login":"v","user_name":"V","user_input":"Song","status":"unfulfilled","reward":{"id":"rw1","title":"Song","cost":500}}}"#;
        assert!(
            matches!(parse("notification", redemption.as_bytes()), Ok(Message::Notification { event: Event::Redemption { reward_id, user_input, .. }, .. }) if reward_id == "rw1" && user_input == "Song")
        );
        assert!(parse("notification", br#"{"subscription":{"id":"s","type":"channel.chat.message"},"event":{}}"#).is_err());
        assert!(parse("surprise", BODY.as_bytes()).is_err());
        assert!(parse("notification", b"not json").is_err());
    }

    #[test]
    fn finds_the_command_as_a_whole_word() {
        assert_eq!(command_argument("!sr Song - Artist", "!sr"), Some("Song - Artist"));
        assert_eq!(command_argument("  !SR   Song ", "!sr"), Some("Song"));
        assert_eq!(command_argument("!sr", "!sr"), Some(""));
        assert_eq!(command_argument("!srx Song", "!sr"), None);
        assert_eq!(command_argument("hello !sr Song", "!sr"), None);
        assert_eq!(command_argument("!s", "!sr"), None);
        assert_eq!(command_argument("!sé", "!sr"), None);
    }

    #[test]
    fn subscriptions_name_the_channel() {
        let chat = subscription_request(CHAT_MESSAGE, "1001", None, "https://x/webhooks/twitch", "sec");
        assert_eq!(chat["condition"], serde_json::json!({"broadcaster_user_id": "1001", "user_id": "1001"}));
        let points = subscription_request(REDEMPTION_ADD, "1001", Some("rw"), "https://x/webhooks/twitch", "sec");
        assert_eq!(points["condition"]["reward_id"], "rw");
        assert_eq!(points["transport"]["secret"], "sec");
        assert!(is_twitch_id("1001") && !is_twitch_id("10 01") && !is_twitch_id(""));
    }
}
