//! `./scripts/fuzz [N]`: throws N generated inputs (default 1,000,000) at each parser that
//! reads outside input — the Stripe-Signature check, the manifest parser, the multipart
//! reader, the moderation normalizer, the webhooks of Stripe, PayPal, Ko-fi, Patreon, Twitch
//! and YouTube, the text fans send outside a body, the tokens Fanline signs and the Patreon
//! and Twitch signature checks — and prints inputs per second, panics (must be 0) and, for
//! the checks that accept or refuse, false accepts (must be 0). Inputs are mutations of valid
//! seeds plus random bytes, from a fixed seed, so a run can be repeated exactly.

use fanline_core::intake::multipart;
use fanline_core::manifest::Manifest;
use fanline_core::money::stripe;
use fanline_core::trust::moderation;
use fanline_core::trust::moderation::ModerationRules;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Instant;

#[path = "../../tests/common/mod.rs"]
mod common;
use common::inputs::{self, mutate};
use common::rng::Rng;

struct Report {
    name: &'static str,
    inputs: u64,
    panics: u64,
    false_accepts: Option<u64>,
    secs: f64,
}

fn run(name: &'static str, n: u64, mut one: impl FnMut(&mut Rng) -> bool, with_accepts: bool) -> Report {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ name.len() as u64);
    let (mut panics, mut wrong) = (0, 0);
    let start = Instant::now();
    for _ in 0..n {
        match catch_unwind(AssertUnwindSafe(|| one(&mut rng))) {
            Ok(true) => {}
            Ok(false) => wrong += 1,
            Err(_) => panics += 1,
        }
    }
    Report { name, inputs: n, panics, false_accepts: with_accepts.then_some(wrong), secs: start.elapsed().as_secs_f64() }
}

fn sign(secret: &str, t: i64, payload: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key");
    mac.update(format!("{t}.").as_bytes());
    mac.update(payload);
    hex::encode(mac.finalize().into_bytes())
}

fn main() {
    let n: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1_000_000);
    std::panic::set_hook(Box::new(|_| {}));
    let now = 1_700_000_000;
    let secret = "whsec_fuzz";
    let manifests = [
        include_str!("../../../../apps/song-request/manifest.json"),
        include_str!("../../../../apps/pixel-icon/manifest.json"),
        include_str!("../../../../apps/shoutout/manifest.json"),
        include_str!("../../../../apps/stream-slot/manifest.json"),
    ];
    let body = b"--B\r\nContent-Disposition: form-data; name=\"subject\"\r\n\r\na fox\r\n--B\r\nContent-Disposition: form-data; name=\"reference\"; filename=\"r.png\"\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n\x1a\n\r\n--B--\r\n";
    let rules = ModerationRules {
        blocked_terms: vec!["free followers".into(), "crypto giveaway".into()],
        review_terms: vec!["nsfw".into()],
        max_links: Some(1),
        ..ModerationRules::default()
    };
    let texts = ["free followers", "Crypto Giveaway now", "play Africa by Toto", "see https://youtube.com/x", "ｆｒｅｅ ｆｏｌｌｏｗｅｒｓ"];

    let reports = [
        run(
            "Stripe-Signature",
            n,
            |rng| {
                let payload = mutate(rng, br#"{"id":"evt_1","type":"checkout.session.completed"}"#);
                let t = now - rng.below(400) as i64 + 200;
                let valid = format!("t={t},v1={}", sign(secret, t, &payload));
                let header = String::from_utf8_lossy(&mutate(rng, valid.as_bytes())).into_owned();
                let accepted = stripe::verify_signature(Some(&header), &payload, secret, now, 300).is_ok();
                // An independent reading of the spec: accepted only with exactly one t, within
                // 300 s, and some v1 equal to the HMAC of "t.payload".
                let mut ts = header.split(',').filter_map(|p| p.trim().strip_prefix("t="));
                let genuine = match (ts.next().and_then(|t| t.parse::<i64>().ok()), ts.next()) {
                    (Some(t), None) if now.abs_diff(t) <= 300 && header.split(',').all(|p| p.contains('=')) => {
                        let expected = sign(secret, t, &payload);
                        header.split(',').filter_map(|p| p.trim().strip_prefix("v1=")).any(|v| v.eq_ignore_ascii_case(&expected))
                    }
                    _ => false,
                };
                !accepted || genuine
            },
            true,
        ),
        run(
            "manifest parser",
            n,
            |rng| {
                let seed = *rng.pick(&manifests);
                let _ = Manifest::parse(&String::from_utf8_lossy(&mutate(rng, seed.as_bytes())));
                true
            },
            false,
        ),
        run(
            "multipart reader",
            n,
            |rng| {
                let input = mutate(rng, body);
                if let Ok(parts) = multipart::parse(&input, "B") {
                    for p in &parts {
                        let _ = p.text();
                    }
                }
                true
            },
            false,
        ),
        run(
            "moderation normalizer",
            n,
            |rng| {
                let seed = *rng.pick(&texts);
                let input = mutate(rng, seed.as_bytes());
                let text = String::from_utf8_lossy(&input);
                let _ = moderation::normalize(&text);
                let _ = moderation::moderate(&rules, &[("song", &text)], &moderation::Signals::default());
                true
            },
            false,
        ),
        run(
            "provider webhooks",
            n,
            |rng| {
                inputs::read_provider_event(rng);
                true
            },
            false,
        ),
        run(
            "text outside a body",
            n,
            |rng| {
                inputs::read_text_input(rng);
                true
            },
            false,
        ),
        run("signed tokens", n, inputs::signed_token_holds, true),
        run("X-Patreon-Signature", n, inputs::patreon_signature_holds, true),
        run("Twitch signature", n, inputs::twitch_signature_holds, true),
    ];
    println!("{:<24} {:>10} {:>12} {:>7} {:>13}", "target", "inputs", "inputs/s", "panics", "false accepts");
    let mut failed = false;
    for r in &reports {
        println!(
            "{:<24} {:>10} {:>12.0} {:>7} {:>13}",
            r.name,
            r.inputs,
            r.inputs as f64 / r.secs,
            r.panics,
            r.false_accepts.map_or("-".to_string(), |n| n.to_string())
        );
        failed |= r.panics > 0 || r.false_accepts.unwrap_or(0) > 0;
    }
    std::process::exit(i32::from(failed));
}
