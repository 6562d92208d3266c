//! Whatever a fan, a webhook sender or a manifest author sends, the pure logic answers with a
//! value or an error, never a panic (a panic would take the Worker's request down with it).
//! Inputs come from a fixed-seed generator, so a failure reproduces exactly.

use fanline_core::delivery::destination::{self, ApiBases, CallContext, MailAccount, Settings};
use fanline_core::delivery::payload;
use fanline_core::delivery::safety::Policy;
use fanline_core::intake::plan;
use fanline_core::intake::submission::{validate, RawFile, RawSubmission};
use fanline_core::manifest::{DestinationKind, Manifest, Route};
use fanline_core::money::stripe;
use fanline_core::trust::{moderation, standard_webhooks};
use fanline_core::util::base64;
use serde_json::{json, Map, Value};

const SONG: &str = include_str!("../../../apps/song-request/manifest.json");
const PIXEL: &str = include_str!("../../../apps/pixel-icon/manifest.json");

mod common;
use common::inputs;
use common::rng::Rng;

/// Inputs of every shape, built on the shared generator.
impl Rng {
    fn bytes(&mut self, max: usize) -> Vec<u8> {
        (0..self.below(max + 1)).map(|_| self.next() as u8).collect()
    }
    /// Text mixing ASCII, separators, multi-byte letters, combining marks and controls.
    fn text(&mut self, max: usize) -> String {
        const PIECES: [&str; 16] = ["a", "Z", " ", ",", "=", "v1", "t=", "é", "ß", "\u{301}", "🎵", "\0", "\n", "http://x.y", "free", "NSFW"];
        (0..self.below(max + 1)).map(|_| PIECES[self.below(PIECES.len())]).collect()
    }
    fn value(&mut self, depth: u32) -> Value {
        match self.below(if depth == 0 { 5 } else { 7 }) {
            0 => Value::Null,
            1 => json!(self.next().is_multiple_of(2)),
            2 => json!(self.next() as i64),
            3 | 4 => json!(self.text(40)),
            5 => Value::Array((0..self.below(4)).map(|_| self.value(depth - 1)).collect()),
            _ => Value::Object((0..self.below(4)).map(|_| (self.text(6), self.value(depth - 1))).collect()),
        }
    }
}

#[test]
fn submissions_of_any_shape_are_answered() {
    let manifests =
        [Manifest::parse(SONG).unwrap(), Manifest::parse(PIXEL).unwrap(), Manifest::parse(include_str!("../../../apps/stream-slot/manifest.json")).unwrap()];
    let names = ["song", "artist", "message", "email", "subject", "style", "palette", "reference", "x"];
    let mut rng = Rng(0x5eed_0001);
    for i in 0..20_000 {
        let manifest = &manifests[i % manifests.len()];
        let mut fields = Map::new();
        for _ in 0..rng.below(6) {
            fields.insert(names[rng.below(names.len())].to_string(), rng.value(2));
        }
        let files = (0..rng.below(3))
            .map(|_| RawFile {
                field: names[rng.below(names.len())].to_string(),
                declared_type: rng.text(5),
                size: rng.next() % 5_000_000,
                head: rng.bytes(16),
            })
            .collect();
        let add_ons = (0..rng.below(3)).map(|_| ["priority", "rush", "", "x"][rng.below(4)].to_string()).collect();
        let tip = (rng.below(3) == 0).then(|| rng.value(1));
        let pay_with = (rng.below(3) == 0).then(|| ["credits", "paypal", "stripe", "", "gold"][rng.below(5)].to_string());
        let bid = (rng.below(3) == 0).then(|| rng.value(1));
        let form_token =
            (rng.below(3) == 0).then(|| [rng.text(20), format!("{}.{}", rng.next() % 10_000, rng.text(64)), "1.".into(), ".".into()][rng.below(4)].clone());
        let honeypot = (rng.below(4) == 0).then(|| rng.text(8));
        let fill_secs = form_token.as_deref().and_then(|t| moderation::fill_secs(b"secret", &manifest.slug, "198.51.100.1", t, rng.next() as i64));
        let raw = RawSubmission { fields, add_ons, tip, files, pay_with, bid, form_token, honeypot, turnstile_token: None };
        if let Ok(s) = validate(manifest, &raw) {
            assert_eq!(s.lines().iter().map(|l| l.amount).sum::<u64>(), s.price().amount);
            let inputs = plan::Inputs {
                manifest,
                signals: moderation::Signals { honeypot: raw.honeypot.as_deref(), fill_secs },
                blocked: (rng.below(4) == 0).then_some(fanline_core::trust::client::BlockKind::Ip),
                tier: manifest.pricing.tiers.get(rng.below(2)),
                has_fan: rng.below(2) == 0,
            };
            if let Ok(plan) = plan::plan(s, &inputs) {
                let s = &plan.submission;
                assert_eq!(s.lines().iter().map(|l| l.amount).sum::<u64>(), s.price().amount);
                assert!(plan.verdict.reasons.is_empty() == (plan.verdict.decision == moderation::Decision::Allow));
                assert_eq!(plan.checkout.is_some(), plan.status() == fanline_core::lifecycle::Status::AwaitingPayment);
            }
        }
    }
}

#[test]
fn signatures_of_any_shape_are_answered() {
    let mut rng = Rng(0x5eed_0002);
    for _ in 0..20_000 {
        let header = rng.text(12);
        let body = rng.bytes(64);
        assert!(stripe::verify_signature(Some(&header), &body, "whsec_test", rng.next() as i64 >> 1, 300).is_err());
        let _ = standard_webhooks::verify(b"key", &rng.text(4), rng.next() as i64, &body, &header);
        let _ = base64::decode(&rng.text(10));
        let _ = stripe::Event::parse(&body);
    }
}

#[test]
fn manifests_of_any_shape_are_answered() {
    let base: Value = serde_json::from_str(SONG).unwrap();
    let keys = ["slug", "title", "fields", "pricing", "moderation", "routing", "description"];
    let mut rng = Rng(0x5eed_0003);
    for _ in 0..5_000 {
        let mut m = base.clone();
        for _ in 0..1 + rng.below(3) {
            let key = keys[rng.below(keys.len())];
            m[key] = rng.value(3);
        }
        let _ = Manifest::parse(&m.to_string());
    }
}

#[test]
fn every_target_payload_stays_within_limits_for_any_text() {
    let manifest = Manifest::parse(SONG).unwrap();
    let mut rng = Rng(0x5eed_0004);
    for _ in 0..2_000 {
        let mut fields = std::collections::BTreeMap::new();
        fields.insert("song".to_string(), json!(rng.text(3000)));
        fields.insert("message".to_string(), json!(rng.text(3000)));
        let summary = payload::RequestSummary {
            id: "req_1".into(),
            app: "song-request".into(),
            app_title: rng.text(400),
            status: "queued".into(),
            fields,
            add_ons: vec![rng.text(2000)],
            price: fanline_core::money::Money::new(rng.next() % 1_000_000, fanline_core::money::Currency::parse("usd").unwrap()),
            status_url: "http://x".into(),
            page_url: "http://x".into(),
            fan_page_url: "http://x".into(),
            created_at: fanline_core::util::time::rfc3339(rng.next() as i64 >> 20),
        };
        let template = format!("{}{{{{song}}}}{}", rng.text(500), rng.text(500));
        for to in DestinationKind::ALL {
            let route = Route { to, title: Some(template.clone()), template: Some(template.clone()) };
            let route = if to == DestinationKind::Webhook { Route { to, title: None, template: None } } else { route };
            let Some(payload) =
                payload::payload(&manifest, &summary, &route, &payload::Occasion { event: "request.queued", fan_address: Some("fan@example.com"), now_ms: 0 })
            else {
                continue;
            };
            let settings = all_settings().into_iter().find(|(k, _)| *k == to).map(|(_, s)| s);
            let bases = ApiBases::default();
            let mail = MailAccount { api_key: "SG.x".into(), from: "a@b.example".into() };
            let ctx = CallContext { bases: &bases, policy: Policy::default(), message_id: "msg_1", now_secs: 0, card_id: None, mail: Some(&mail) };
            if let Ok(call) = destination::call(to, settings.as_ref(), &payload, &ctx) {
                assert!(call.body.len() <= fanline_core::delivery::safety::MAX_BODY_BYTES);
            }
        }
        let message = payload::discord_message(&manifest, &summary, "request.queued", None);
        let embed = &message["embeds"][0];
        assert!(embed["title"].as_str().unwrap().chars().count() <= 256);
        assert!(message["content"].as_str().unwrap().chars().count() <= 2000);
        for f in embed["fields"].as_array().unwrap() {
            assert!(f["value"].as_str().unwrap().chars().count() <= 1024);
        }
    }
}

fn all_settings() -> Vec<(DestinationKind, Settings)> {
    let hex = "0123456789abcdef0123456789abcdef";
    [
        (DestinationKind::Discord, json!({"webhook_url": "https://discord.com/api/webhooks/1/t", "role_id": "123456789012345678"})),
        (DestinationKind::Webhook, json!({"url": "https://hooks.example/x"})),
        (DestinationKind::CreatorEmail, json!({"email": "me@creator.example"})),
        (DestinationKind::Trello, json!({"key": hex, "token": "ATTAtoken1234", "list_id": &hex[..24]})),
        (DestinationKind::Sms, json!({"account_sid": format!("AC{hex}"), "auth_token": hex, "from": "+15005550006", "to": "+15551234567"})),
        (DestinationKind::Notion, json!({"token": "ntn_token1234", "database_id": hex})),
        (DestinationKind::Airtable, json!({"token": "patTOKEN.1234", "base_id": "appABCDEFGHIJKLMN", "table": "Requests"})),
    ]
    .into_iter()
    .map(|(kind, input)| (kind, Settings::parse(kind, &input, Policy::default(), None, "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap()))
    .collect()
}

#[test]
fn provider_events_and_fans_text_of_any_shape_are_answered() {
    let mut rng = Rng(0x5eed_0005);
    for _ in 0..30_000 {
        inputs::read_provider_event(&mut rng);
        inputs::read_text_input(&mut rng);
    }
}

#[test]
fn no_altered_token_or_signature_is_accepted() {
    let mut rng = Rng(0x5eed_0006);
    for i in 0..30_000 {
        assert!(inputs::signed_token_holds(&mut rng), "signed token, input {i}");
        assert!(inputs::patreon_signature_holds(&mut rng), "Patreon signature, input {i}");
        assert!(inputs::twitch_signature_holds(&mut rng), "Twitch signature, input {i}");
    }
}
