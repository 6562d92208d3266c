//! Outside input that reaches the pure logic from providers and fans' browsers, for the
//! no-panic tests and `bin/fuzz.rs`: valid seeds in each provider's real shape, mutated, fed to
//! the parser that reads them. The `*_holds` checks also say whether an accepted input was
//! genuine, by an independent reading of the scheme.
// Each user takes the functions it needs.
#![allow(dead_code)]

use super::rng::Rng;
use fanline_core::catalog;
use fanline_core::intake::ids;
use fanline_core::live::{chat, twitch, youtube};
use fanline_core::manifest::Manifest;
use fanline_core::money::{kofi, patreon, paypal, stripe, Currency};
use fanline_core::trust::identity::{self, AttachmentLink, Identity, LiveOrigin, Provider, Redemption};
use fanline_core::trust::sealed::{Key, Stored};
use fanline_core::util::time;
use hmac::{Hmac, Mac};
use md5::Md5;
use sha2::Sha256;

/// A few edits of `seed`: flips, inserts of interesting bytes, deletions, duplications.
pub fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    const INTERESTING: [&[u8]; 14] =
        [b"\0", b"\xff", b"\xc3\xa9", b"\xe2\x80\x8b", b"\xcc\x81", b"\xef\xbb\xbf", b"=", b",", b"\r\n", b"--", b"\"", b"{", b"}", b"9223372036854775808"];
    let mut out = seed.to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(out.len() + 1);
        match rng.below(5) {
            0 if !out.is_empty() => {
                let i = at.min(out.len() - 1);
                out[i] ^= 1 << rng.below(8);
            }
            1 => {
                let insert = rng.pick(&INTERESTING).to_vec();
                out.splice(at..at, insert);
            }
            2 if !out.is_empty() => {
                let end = (at + rng.below(16)).min(out.len());
                out.drain(at.min(end)..end);
            }
            3 if !out.is_empty() => {
                let start = rng.below(out.len());
                let end = (start + rng.below(64)).min(out.len());
                let copy = out[start..end].to_vec();
                out.splice(at..at, copy);
            }
            _ => out.insert(at, rng.next() as u8),
        }
    }
    out
}

fn mutated_text(rng: &mut Rng, seed: &str) -> String {
    String::from_utf8_lossy(&mutate(rng, seed.as_bytes())).into_owned()
}

const STRIPE_EVENTS: [&str; 7] = [
    r#"{"id":"evt_1","type":"checkout.session.completed","created":1700000000,"data":{"object":{"id":"cs_1","client_reference_id":"req_1","payment_status":"paid","amount_total":300,"currency":"usd","payment_intent":"pi_1","metadata":{"request_id":"req_1","kind":"tier"},"subscription":"sub_1"}}}"#,
    r#"{"id":"evt_2","type":"refund.created","created":1700000000,"data":{"object":{"id":"re_1","amount":100,"payment_intent":"pi_1","status":"succeeded","reason":"requested_by_customer","metadata":{"request_id":"req_1"}}}}"#,
    r#"{"id":"evt_3","type":"charge.refunded","created":1700000000,"data":{"object":{"payment_intent":"pi_1","amount_refunded":300,"refunded":true}}}"#,
    r#"{"id":"evt_4","type":"charge.dispute.closed","created":1700000000,"data":{"object":{"id":"dp_1","payment_intent":"pi_1","status":"won","amount":300,"reason":"fraudulent"}}}"#,
    r#"{"id":"evt_5","type":"customer.subscription.updated","created":1700000000,"data":{"object":{"id":"sub_1","status":"active","items":{"data":[{"current_period_end":1702592000}]},"metadata":{"fan_id":"fan_1","app":"song-request","tier":"fan_club"}}}}"#,
    r#"{"id":"evt_6","type":"invoice.paid","created":1700000000,"data":{"object":{"id":"in_1","amount_paid":500,"currency":"usd","application_fee_amount":50,"parent":{"subscription_details":{"subscription":"sub_1","metadata":{"fan_id":"fan_1","app":"song-request","tier":"fan_club"}}},"payments":{"data":[{"payment":{"payment_intent":"pi_2"}}]},"status_transitions":{"paid_at":1700000001}}}}"#,
    r#"{"id":"evt_7","type":"checkout.session.expired","created":1700000000,"data":{"object":{"id":"cs_2","metadata":{"request_id":"req_2"}}}}"#,
];

const PAYPAL_EVENTS: [&str; 3] = [
    r#"{"id":"WH-1","event_type":"CHECKOUT.ORDER.APPROVED","resource":{"id":"5O190127TN364715T","purchase_units":[{"custom_id":"req_1"}]}}"#,
    r#"{"id":"WH-2","event_type":"PAYMENT.CAPTURE.COMPLETED","resource":{"id":"3C679366HH908993F","custom_id":"req_1","amount":{"value":"3.00","currency_code":"USD"},"supplementary_data":{"related_ids":{"order_id":"5O190127TN364715T"}}}}"#,
    r#"{"id":"WH-3","event_type":"PAYMENT.CAPTURE.REFUNDED","resource":{"id":"1JU08902781691411","amount":{"value":"1.00","currency_code":"USD"},"links":[{"rel":"up","href":"https://api.paypal.com/v2/payments/captures/3C679366HH908993F"}]}}"#,
];

const KOFI_PAYMENT: &str = r#"data=%7B%22verification_token%22%3A%22tok%22%2C%22message_id%22%3A%22m1%22%2C%22timestamp%22%3A%222026-12-01T04%3A40%3A00Z%22%2C%22type%22%3A%22Shop+Order%22%2C%22email%22%3A%22Fan%40Example.com%22%2C%22amount%22%3A%223.00%22%2C%22currency%22%3A%22USD%22%2C%22tier_name%22%3A%22Gold%22%2C%22shop_items%22%3A%5B%7B%22direct_link_code%22%3A%221a2b3c4d5e%22%2C%22quantity%22%3A2%7D%5D%7D"#;

const PATREON_MEMBER: &str = r#"{"data":{"id":"m-1","attributes":{"patron_status":"active_patron","last_charge_date":"2026-11-01T00:00:00.000+00:00","pledge_relationship_start":"2026-10-01T00:00:00Z"},"relationships":{"user":{"data":{"id":"u1"}},"campaign":{"data":{"id":"1234567"}},"currently_entitled_tiers":{"data":[{"id":"9876543","type":"tier"}]}}}}"#;

const TWITCH_MESSAGES: [(&str, &str); 4] = [
    (
        "notification",
        r#"{"subscription":{"id":"s1","type":"channel.chat.message","status":"enabled"},"event":{"broadcaster_user_id":"1001","chatter_user_id":"2002","chatter_user_login":"viewer","chatter_user_name":"Viewer","message_id":"mid","message":{"text":"!sr Africa - Toto"}}}"#,
    ),
    (
        "notification",
        r#"{"subscription":{"id":"s2","type":"channel.channel_points_custom_reward_redemption.add","status":"enabled"},"event":{"id":"rd1","broadcaster_user_id":"1001","user_id":"2002","user_login":"viewer","user_name":"Viewer","reward":{"id":"rw1"},"user_input":"Africa - Toto"}}"#,
    ),
    (
        "webhook_callback_verification",
        r#"{"challenge":"pogchamp-kappa-360noscope","subscription":{"id":"s1","type":"channel.chat.message","status":"webhook_callback_verification_pending"}}"#,
    ),
    ("revocation", r#"{"subscription":{"id":"s1","type":"channel.chat.message","status":"authorization_revoked"}}"#),
];

const YOUTUBE_PAGE: &str = r#"{"nextPageToken":"GO","pollingIntervalMillis":5000,"items":[{"id":"yt1","snippet":{"type":"textMessageEvent","publishedAt":"2026-12-01T04:40:00.123456Z","textMessageDetails":{"messageText":"!sr Africa - Toto"}},"authorDetails":{"channelId":"UC1","displayName":"Viewer"}}],"error":{"errors":[{"reason":"quotaExceeded"}]}}"#;
const YOUTUBE_BROADCASTS: &str = r#"{"items":[{"id":"b1","snippet":{"liveChatId":"chat1"}}]}"#;

/// A webhook from Stripe, PayPal, Ko-fi, Patreon, Twitch or YouTube, mutated, read by its
/// parser and everything that reads the parsed event.
pub fn read_provider_event(rng: &mut Rng) {
    match rng.below(6) {
        0 => {
            let seed = *rng.pick(&STRIPE_EVENTS);
            let body = mutate(rng, seed.as_bytes());
            if let Ok(event) = stripe::Event::parse(&body) {
                let _ = (stripe::checkout_event(&event), stripe::subscription_event(&event), stripe::tier_payment(&event), stripe::charge_event(&event));
            }
        }
        1 => {
            let seed = *rng.pick(&PAYPAL_EVENTS);
            let body = mutate(rng, seed.as_bytes());
            if let Ok((_, _, Some(paypal::Event::CaptureCompleted { amount, currency, .. } | paypal::Event::CaptureRefunded { amount, currency, .. }))) =
                paypal::parse_event(&body)
            {
                if let Ok(currency) = Currency::parse(&currency) {
                    let _ = paypal::parse_amount(&amount, &currency);
                }
            }
        }
        2 => {
            if let Ok(payment) = kofi::parse(&mutate(rng, KOFI_PAYMENT.as_bytes())) {
                let settings = kofi::Settings {
                    credit_price: Some(300),
                    tiers: [("Gold".to_string(), "fan_club".to_string())].into(),
                    shop_items: [("1a2b3c4d5e".to_string(), 5)].into(),
                };
                let _ = kofi::earned(&payment, &settings, &Currency::parse("usd").unwrap(), 1_700_000_000_000);
            }
        }
        3 => {
            let body = mutate(rng, PATREON_MEMBER.as_bytes());
            let _ = patreon::campaign_of(&body);
            let trigger = *rng.pick(&[patreon::Trigger::Create, patreon::Trigger::Update, patreon::Trigger::Delete]);
            if let Ok(member) = patreon::member(trigger, &body) {
                let settings = patreon::Settings { campaign_id: "1234567".into(), tiers: [("9876543".to_string(), "fan_club".to_string())].into() };
                let _ = patreon::tier(&member, &settings);
            }
        }
        4 => {
            let (kind, seed) = *rng.pick(&TWITCH_MESSAGES);
            if let Ok(twitch::Message::Notification { event: twitch::Event::Chat { text, viewer, .. }, .. }) =
                twitch::parse(kind, &mutate(rng, seed.as_bytes()))
            {
                chat_command(&text, &viewer.login);
            }
        }
        _ => {
            let seed = if rng.below(4) == 0 { YOUTUBE_BROADCASTS } else { YOUTUBE_PAGE };
            let body = mutated_text(rng, seed);
            let _ = (youtube::error_reason(&body), youtube::broadcast_chat(&body));
            if let Ok(page) = youtube::parse_page(&body) {
                let _ = youtube::next_poll_at(1_700_000_000_000, page.polling_interval_ms);
                for m in &page.messages {
                    chat_command(&m.text, &m.author_name);
                }
            }
        }
    }
}

fn chat_command(text: &str, viewer: &str) {
    static MANIFEST: std::sync::OnceLock<Manifest> = std::sync::OnceLock::new();
    let manifest = MANIFEST.get_or_init(|| Manifest::parse(include_str!("../../../../apps/song-request/manifest.json")).unwrap());
    let rules = manifest.chat.as_ref().unwrap();
    if let Some(argument) = twitch::command_argument(text, &rules.command) {
        let _ = chat::fields(rules, argument, viewer);
    }
}

/// What a fan's browser or a creator sends as text outside a body: stored credential text,
/// sealing keys, times, cookies, return paths, Idempotency-Keys, catalog queries.
pub fn read_text_input(rng: &mut Rng) {
    const SEEDS: [&str; 8] = [
        "sealed:v1:0a1b2c3d:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        "6c6f63616c2d6f6e6c792d66616e6c696e652d63726564656e7469616c732d31",
        "2026-12-01T04:40:00.123456789Z",
        "fl_session=abc.def; fl_oauth_state=xyz",
        "/apps/song-request/?embed=1#form",
        "quickstart-first-request",
        "q=lofi&kind=song_request&max_price=1000&creator=cr_demo&cursor=24&limit=10",
        "!sr Africa - Toto",
    ];
    let seed = *rng.pick(&SEEDS);
    let text = mutated_text(rng, seed);
    let key = Key::parse(&text).unwrap_or_else(|_| Key::parse(SEEDS[1]).unwrap());
    let _ = Stored::parse(&text).map(|s| s.is_sealed_under(&key));
    let _ = time::parse_rfc3339(&text);
    let _ = identity::cookie(&text, identity::SESSION_COOKIE);
    let _ = identity::safe_return(Some(&text), "/");
    let _ = ids::parse_idempotency_key(&text);
    let _ = catalog::parse_query(text.split('&').map(|p| p.split_once('=').unwrap_or((p, ""))));
    chat_command(&text, "viewer");
}

const SECRET: &[u8] = b"fuzz-session-secret";

/// A signed token of each kind Fanline hands out (sessions, hand-offs, relayed chat requests,
/// email links, a fan's request key, a preview token, an attachment link), mutated and read
/// back: true unless a token that is not the one issued is accepted.
pub fn signed_token_holds(rng: &mut Rng) -> bool {
    let live = rng.below(2) == 0;
    let who = Identity {
        provider: Provider::Twitch,
        sub: "2002".into(),
        name: Some("viewer".into()),
        email: None,
        live: live.then(|| LiveOrigin { channel: "1001".into(), redemption: Some(Redemption { reward_id: "rw1".into(), id: "rd1".into() }) }),
    };
    let (app, now) = ("song-request", 1_700_000_000);
    let kind = rng.below(7);
    let issued = match kind {
        0 => identity::session_value(SECRET, app, &who, now),
        1 => identity::handoff_token(SECRET, app, &who, "nonce", now),
        2 => identity::relay_token(SECRET, app, &who, now),
        3 => identity::email_link_token(SECRET, app, "fan@example.com", "/apps/song-request/", identity::Issue { now_secs: now, nonce: "n" }),
        4 => identity::fan_request_key(SECRET, "req_1"),
        5 => identity::preview_token(SECRET, app),
        _ => AttachmentLink { request_id: "req_1", field: "reference", expires: now + 60 }.tag(SECRET),
    };
    let given = mutated_text(rng, &issued);
    let accepted = match kind {
        0 => identity::read_session(SECRET, app, &[Provider::Twitch], &given, now).is_some(),
        1 => identity::read_handoff(SECRET, app, &given, now).is_some(),
        2 => identity::read_relay(SECRET, app, &given, now).is_some(),
        3 => identity::read_email_link(SECRET, app, &given, now).is_some(),
        4 => identity::is_fan_request_key(SECRET, "req_1", &given),
        5 => identity::is_preview_token(SECRET, app, &given),
        _ => AttachmentLink { request_id: "req_1", field: "reference", expires: now + 60 }.opens(SECRET, &given, now),
    };
    !accepted || given == issued
}

/// `X-Patreon-Signature` over a mutated body and signature: true unless accepted where the
/// signature is not the hex HMAC-MD5 of the body under the secret.
pub fn patreon_signature_holds(rng: &mut Rng) -> bool {
    let secret = *rng.pick(&["patreon-webhook-secret", ""]);
    let body = mutate(rng, PATREON_MEMBER.as_bytes());
    let mut mac = Hmac::<Md5>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(if rng.below(2) == 0 { &body } else { PATREON_MEMBER.as_bytes() });
    let signed = hex::encode(mac.finalize().into_bytes());
    let given = mutated_text(rng, &signed);
    let accepted = patreon::verify(secret, &body, Some(&given));
    let mut expected = Hmac::<Md5>::new_from_slice(secret.as_bytes()).unwrap();
    expected.update(&body);
    !accepted || (!secret.is_empty() && given.trim().eq_ignore_ascii_case(&hex::encode(expected.finalize().into_bytes())))
}

/// `Twitch-Eventsub-Message-Signature` over a mutated message: true unless accepted where the
/// signature is not `sha256=` and the HMAC-SHA256 of id, timestamp and body as given.
pub fn twitch_signature_holds(rng: &mut Rng) -> bool {
    let secret = "twitch-subscription-secret";
    let (_, seed) = *rng.pick(&TWITCH_MESSAGES);
    let now_ms = time::parse_rfc3339("2026-12-01T04:40:00Z").unwrap();
    let id = mutated_text(rng, "e6c2b6a4-3a4c-4b4e-9d1b-9a3f6a2d4f10");
    let sent = *rng.pick(&["2026-12-01T04:40:00.123456789Z", "2026-12-01T04:31:00Z", "2026-12-01T04:49:59.999Z"]);
    let timestamp = mutated_text(rng, sent);
    let body = mutate(rng, seed.as_bytes());
    let sign = |id: &str, timestamp: &str, body: &[u8]| {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(id.as_bytes());
        mac.update(timestamp.as_bytes());
        mac.update(body);
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    };
    let signed = if rng.below(2) == 0 { sign(&id, &timestamp, &body) } else { sign("other", &timestamp, seed.as_bytes()) };
    let given = mutated_text(rng, &signed);
    let headers = twitch::Signed { id: Some(&id), timestamp: Some(&timestamp), signature: Some(&given) };
    let accepted = twitch::verify(&headers, &body, secret, now_ms).is_ok();
    !accepted || given.eq_ignore_ascii_case(&sign(&id, &timestamp, &body))
}
