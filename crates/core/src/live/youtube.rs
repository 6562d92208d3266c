//! YouTube Live chat through the YouTube Data API: reading a `liveChatMessages.list` page
//! (the messages, the next `pageToken`, how long YouTube asks to wait before the next poll,
//! whether the chat ended), finding a channel's active broadcast's chat, the body of a reply,
//! and the quota: what each call costs and the day it counts against (YouTube's quota day
//! starts at midnight Pacific time).

use crate::util::time::parse_rfc3339;
use serde_json::{json, Value};

/// Units each call is counted at against the project's daily quota. YouTube's quota table has
/// given chat reads at 1 to 5 units over time; the larger is counted, so the budget holds.
pub const LIST_COST: u32 = 5;
pub const INSERT_COST: u32 = 50;
pub const BROADCASTS_COST: u32 = 1;
/// The project's daily allocation unless `YOUTUBE_DAILY_QUOTA` says otherwise.
pub const DEFAULT_DAILY_QUOTA: u32 = 10_000;
/// YouTube refuses chat messages longer than this.
pub const MESSAGE_MAX: usize = 200;
/// A chat without an active broadcast is looked for again after this.
pub const WAITING_RECHECK_MS: i64 = 5 * 60 * 1000;

/// The OAuth scope that lets Fanline read the chat and answer in it as the channel.
pub const SCOPE: &str = "https://www.googleapis.com/auth/youtube.force-ssl";

/// A text message in the chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatMessage {
    pub id: String,
    pub author_channel_id: String,
    pub author_name: String,
    pub text: String,
    pub published_ms: i64,
}

/// One `liveChatMessages.list` answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub next_page_token: Option<String>,
    pub polling_interval_ms: i64,
    /// `offlineAt` is set: the broadcast is over and the chat takes no more messages.
    pub ended: bool,
    pub messages: Vec<ChatMessage>,
}

pub fn parse_page(body: &str) -> Result<Page, String> {
    let v: Value = serde_json::from_str(body).map_err(|e| format!("not JSON: {e}"))?;
    let items = v["items"].as_array().ok_or("no items")?;
    let messages = items
        .iter()
        .filter(|i| i["snippet"]["type"] == "textMessageEvent")
        .filter_map(|i| {
            let text = i["snippet"]["textMessageDetails"]["messageText"].as_str().or_else(|| i["snippet"]["displayMessage"].as_str())?;
            Some(ChatMessage {
                id: i["id"].as_str()?.to_string(),
                author_channel_id: i["authorDetails"]["channelId"].as_str().or_else(|| i["snippet"]["authorChannelId"].as_str())?.to_string(),
                author_name: i["authorDetails"]["displayName"].as_str().unwrap_or("a viewer").to_string(),
                text: text.to_string(),
                published_ms: i["snippet"]["publishedAt"].as_str().and_then(parse_rfc3339).unwrap_or(0),
            })
        })
        .collect();
    Ok(Page {
        next_page_token: v["nextPageToken"].as_str().map(str::to_string),
        polling_interval_ms: v["pollingIntervalMillis"].as_i64().unwrap_or(10_000),
        ended: v["offlineAt"].is_string(),
        messages,
    })
}

/// When to poll next: what YouTube asked for, within sane bounds.
pub fn next_poll_at(now_ms: i64, polling_interval_ms: i64) -> i64 {
    now_ms + polling_interval_ms.clamp(1_000, 3_600_000)
}

/// The reason of a YouTube error answer (`quotaExceeded`, `liveChatEnded`, ...).
pub fn error_reason(body: &str) -> Option<String> {
    let v: Value = serde_json::from_str(body).ok()?;
    v["error"]["errors"][0]["reason"].as_str().map(str::to_string)
}

/// `(broadcast id, live chat id)` of the first broadcast in a `liveBroadcasts.list` answer
/// that has a chat.
pub fn broadcast_chat(body: &str) -> Option<(String, String)> {
    let v: Value = serde_json::from_str(body).ok()?;
    v["items"].as_array()?.iter().find_map(|b| Some((b["id"].as_str()?.to_string(), b["snippet"]["liveChatId"].as_str()?.to_string())))
}

/// The body of `liveChatMessages.insert`.
pub fn insert_body(live_chat_id: &str, text: &str) -> Value {
    let text: String = text.chars().take(MESSAGE_MAX).collect();
    json!({"snippet": {"liveChatId": live_chat_id, "type": "textMessageEvent", "textMessageDetails": {"messageText": text}}})
}

/// The quota day a time counts against (`YYYY-MM-DD` in Pacific time, where YouTube's day
/// starts): UTC-7 from the second Sunday of March to the first Sunday of November (at 2 a.m.
/// local), UTC-8 otherwise.
pub fn quota_day(utc_ms: i64) -> String {
    let standard = utc_ms - 8 * 3_600_000;
    let (year, _, _) = civil(standard);
    let dst_start = days_from_civil(year, 3, second_sunday(year, 3)) * 86_400_000 + 2 * 3_600_000;
    let dst_end = days_from_civil(year, 11, first_sunday(year, 11)) * 86_400_000 + 3_600_000;
    let local = if (dst_start..dst_end).contains(&standard) { standard + 3_600_000 } else { standard };
    let (y, m, d) = civil(local);
    format!("{y:04}-{m:02}-{d:02}")
}

fn civil(ms: i64) -> (i64, i64, i64) {
    let text = crate::util::time::rfc3339(ms);
    let part = |r: std::ops::Range<usize>| text[r].parse::<i64>().unwrap_or(0);
    (part(0..4), part(5..7), part(8..10))
}

fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let ms = parse_rfc3339(&format!("{year:04}-{month:02}-{day:02}T00:00:00Z")).unwrap_or(0);
    ms.div_euclid(86_400_000)
}

/// Day of the month of the first Sunday (1970-01-01 was a Thursday).
fn first_sunday(year: i64, month: i64) -> i64 {
    let weekday = (days_from_civil(year, month, 1) + 4).rem_euclid(7); // 0 = Sunday
    1 + (7 - weekday) % 7
}

fn second_sunday(year: i64, month: i64) -> i64 {
    first_sunday(year, month) + 7
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A page as the YouTube Data API documents `liveChatMessages.list` answers.
    const PAGE: &str = r#"{
      "kind": "youtube#liveChatMessageListResponse", "etag": "x", "nextPageToken": "GIDk3cH2",
      "pollingIntervalMillis": 5123, "offlineAt": null, "pageInfo": {"totalResults": 3, "resultsPerPage": 3},
      "items": [
        {"kind": "youtube#liveChatMessage", "id": "LCC.1", "snippet": {"type": "textMessageEvent", "liveChatId": "Cg0KC",
          "authorChannelId": "UCviewer1", "publishedAt": "2026-12-01T10:00:01.5+00:00", "hasDisplayContent": true,
          "displayMessage": "!sr Song - Artist", "textMessageDetails": {"messageText": "!sr Song - Artist"}},
         "authorDetails": {"channelId": "UCviewer1", "displayName": "Viewer One", "isChatOwner": false}},
        {"kind": "youtube#liveChatMessage", "id": "LCC.2", "snippet": {"type": "superChatEvent", "liveChatId": "Cg0KC", "displayMessage": "$5"},
         "authorDetails": {"channelId": "UCviewer2", "displayName": "Viewer Two"}},
        {"kind": "youtube#liveChatMessage", "id": "LCC.3", "snippet": {"type": "textMessageEvent", "authorChannelId": "UCviewer3",
          "publishedAt": "2026-12-01T10:00:02Z", "displayMessage": "hello"}, "authorDetails": {"channelId": "UCviewer3", "displayName": "Three"}}
      ]
    }"#;

    #[test]
    fn reads_text_messages_the_page_token_and_the_interval() {
        let page = parse_page(PAGE).unwrap();
        assert_eq!((page.next_page_token.as_deref(), page.polling_interval_ms, page.ended), (Some("GIDk3cH2"), 5123, false));
        assert_eq!(page.messages.len(), 2, "a Super Chat is not a text message");
        assert_eq!((page.messages[0].author_name.as_str(), page.messages[0].text.as_str()), ("Viewer One", "!sr Song - Artist"));
        assert_eq!(page.messages[1].text, "hello");
        assert!(parse_page(r#"{"items": [], "offlineAt": "2026-12-01T11:00:00Z"}"#).unwrap().ended);
        assert!(parse_page("{}").is_err());
        assert_eq!(next_poll_at(1000, 5123), 6123);
        assert_eq!(next_poll_at(1000, 0), 2000, "never faster than a second");
    }

    #[test]
    fn reads_errors_broadcasts_and_writes_replies() {
        let quota = r#"{"error": {"code": 403, "message": "quota", "errors": [{"message": "quota", "domain": "youtube.quota", "reason": "quotaExceeded"}]}}"#;
        assert_eq!(error_reason(quota).as_deref(), Some("quotaExceeded"));
        assert_eq!(error_reason("nope"), None);
        let broadcasts = r#"{"items": [{"id": "b1", "snippet": {"title": "Live", "liveChatId": "Cg0KC"}}]}"#;
        assert_eq!(broadcast_chat(broadcasts), Some(("b1".into(), "Cg0KC".into())));
        assert_eq!(broadcast_chat(r#"{"items": []}"#), None);
        let body = insert_body("Cg0KC", &"x".repeat(300));
        assert_eq!(body["snippet"]["textMessageDetails"]["messageText"].as_str().unwrap().len(), MESSAGE_MAX);
    }

    #[test]
    fn the_quota_day_is_pacific() {
        let at = |t: &str| parse_rfc3339(t).unwrap();
        assert_eq!(quota_day(at("2026-12-01T07:59:00Z")), "2026-11-30", "UTC-8 in winter");
        assert_eq!(quota_day(at("2026-12-01T08:00:00Z")), "2026-12-01");
        assert_eq!(quota_day(at("2026-07-01T06:59:00Z")), "2026-06-30", "UTC-7 in summer");
        assert_eq!(quota_day(at("2026-07-01T07:00:00Z")), "2026-07-01");
        // 2026: DST from 8 March 10:00 UTC to 1 November 09:00 UTC.
        assert_eq!(quota_day(at("2026-03-08T07:30:00Z")), "2026-03-07");
        assert_eq!(quota_day(at("2026-03-09T07:30:00Z")), "2026-03-09");
    }
}
