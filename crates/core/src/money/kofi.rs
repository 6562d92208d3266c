//! Ko-fi: its webhook (a form post whose `data` field is JSON, vouched for by the account's
//! `verification_token`) and what a payment earns at an app under the creator's settings:
//! credits for donations and shop items, a tier for a membership's month.

use crate::money::Currency;
use crate::trust::client::constant_time_eq;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// A Ko-fi membership payment keeps its tier this long; the next monthly payment extends it
/// (Ko-fi sends no event when a membership ends: it simply stops paying).
pub const MEMBERSHIP_MS: i64 = 31 * 24 * 3600 * 1000;

/// How the creator turns Ko-fi payments into credits and tiers at one app.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Minor units of a donation per credit (300: each $3 is one credit); none: donations earn
    /// no credits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credit_price: Option<u64>,
    /// Ko-fi membership tier name -> the app's tier id.
    #[serde(default)]
    pub tiers: BTreeMap<String, String>,
    /// Ko-fi shop item (`direct_link_code`) -> credits per item bought.
    #[serde(default)]
    pub shop_items: BTreeMap<String, u32>,
}

impl Settings {
    /// What the creator sent, checked against the app (`is_tier`: an id among its tiers;
    /// `sells_credits`: it has credit packs).
    pub fn check(&self, is_tier: impl Fn(&str) -> bool, sells_credits: bool) -> Result<(), String> {
        if self.credit_price == Some(0) {
            return Err("credit_price must be at least 1 (minor units per credit)".into());
        }
        if let Some(unknown) = self.tiers.values().find(|t| !is_tier(t)) {
            return Err(format!("tiers: '{unknown}' is not a tier of the app"));
        }
        if (self.credit_price.is_some() || !self.shop_items.is_empty()) && !sells_credits {
            return Err("the app sells no credit packs, so Ko-fi payments cannot earn credits here".into());
        }
        if self.shop_items.values().any(|n| *n == 0 || *n > 1000) {
            return Err("shop_items give 1 to 1000 credits per item".into());
        }
        Ok(())
    }
}

/// The hash a verification token is stored and looked up by (never the token itself).
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.trim().as_bytes()))
}

/// Whether `token` is the one whose hash was stored, compared in constant time.
pub fn token_matches(token: &str, stored_hash: &str) -> bool {
    constant_time_eq(token_hash(token).as_bytes(), stored_hash.as_bytes())
}

/// The kinds of Ko-fi payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Donation,
    Subscription,
    Commission,
    ShopOrder,
}

/// One payment, as Ko-fi describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Payment {
    pub verification_token: String,
    pub message_id: String,
    pub kind: Kind,
    pub email: Option<String>,
    /// Minor units.
    pub amount: u64,
    pub currency: Option<Currency>,
    pub tier_name: Option<String>,
    /// `(direct_link_code, quantity)`.
    pub shop_items: Vec<(String, u32)>,
    pub timestamp_ms: Option<i64>,
}

/// Reads the `data` field of Ko-fi's form post.
pub fn parse(form_body: &[u8]) -> Result<Payment, String> {
    let data = url::form_urlencoded::parse(form_body).find(|(k, _)| k == "data").map(|(_, v)| v.into_owned()).ok_or("the form has no 'data' field")?;
    let v: Value = serde_json::from_str(&data).map_err(|e| format!("'data' is not JSON: {e}"))?;
    let text = |k: &str| v[k].as_str().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    let kind = match v["type"].as_str() {
        Some("Donation") => Kind::Donation,
        Some("Subscription") => Kind::Subscription,
        Some("Commission") => Kind::Commission,
        Some("Shop Order") => Kind::ShopOrder,
        other => return Err(format!("unknown payment type {other:?}")),
    };
    let shop_items = v["shop_items"]
        .as_array()
        .map(|items| {
            items.iter().filter_map(|i| Some((i["direct_link_code"].as_str()?.to_string(), i["quantity"].as_u64().unwrap_or(1).min(1000) as u32))).collect()
        })
        .unwrap_or_default();
    Ok(Payment {
        verification_token: text("verification_token").ok_or("'verification_token' is missing")?,
        message_id: text("message_id").filter(|m| m.len() <= 100).ok_or("'message_id' is missing")?,
        kind,
        email: text("email").map(|e| e.to_lowercase()),
        amount: text("amount").and_then(|a| minor_units(&a)).unwrap_or(0),
        currency: text("currency").and_then(|c| Currency::parse(&c).ok()),
        tier_name: text("tier_name"),
        shop_items,
        timestamp_ms: text("timestamp").and_then(|t| crate::util::time::parse_rfc3339(&t)),
    })
}

/// `"3.00"` as 300; `None` for anything that is not a plain decimal amount.
fn minor_units(text: &str) -> Option<u64> {
    let (whole, cents) = text.split_once('.').unwrap_or((text, "0"));
    if whole.is_empty() || cents.len() > 2 || !whole.bytes().chain(cents.bytes()).all(|b| b.is_ascii_digit()) || whole.len() > 12 {
        return None;
    }
    Some(whole.parse::<u64>().ok()? * 100 + format!("{cents:0<2}").parse::<u64>().ok()?)
}

/// What a payment earns at the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Earned {
    Credits(u32),
    /// The app's tier, kept until `until_ms`.
    Tier {
        tier: String,
        until_ms: i64,
    },
    /// Nothing under the creator's settings (recorded only).
    Nothing,
    /// Paid in another currency than the app's.
    CurrencyMismatch,
}

/// What the payment earns at an app priced in `currency`.
pub fn earned(payment: &Payment, settings: &Settings, currency: &Currency, now_ms: i64) -> Earned {
    let same_currency = payment.currency.as_ref().is_none_or(|c| c == currency);
    match payment.kind {
        Kind::Subscription => match payment.tier_name.as_ref().and_then(|name| settings.tiers.get(name)) {
            Some(tier) => Earned::Tier { tier: tier.clone(), until_ms: payment.timestamp_ms.unwrap_or(now_ms).min(now_ms) + MEMBERSHIP_MS },
            // A membership without a mapped tier earns what the same money as a donation would.
            None => donation(payment, settings, same_currency),
        },
        Kind::Donation => donation(payment, settings, same_currency),
        Kind::ShopOrder => {
            let credits: u32 = payment.shop_items.iter().filter_map(|(code, qty)| settings.shop_items.get(code).map(|per| per.saturating_mul(*qty))).sum();
            if credits == 0 {
                Earned::Nothing
            } else {
                Earned::Credits(credits.min(100_000))
            }
        }
        Kind::Commission => Earned::Nothing,
    }
}

fn donation(payment: &Payment, settings: &Settings, same_currency: bool) -> Earned {
    let Some(price) = settings.credit_price else { return Earned::Nothing };
    if !same_currency {
        return Earned::CurrencyMismatch;
    }
    match (payment.amount / price).min(100_000) as u32 {
        0 => Earned::Nothing,
        n => Earned::Credits(n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::tests::SONG;
    use crate::manifest::Manifest;

    /// Ko-fi's documented sample, form-encoded as Ko-fi posts it.
    fn form(overrides: &[(&str, Value)]) -> Vec<u8> {
        let mut data = serde_json::json!({
            "verification_token": "8c2a8a5e-1d3b-4b4f-9e1a-2f0d9c1d8a11", "message_id": "3a1fac0c-f960-4506-a60e-824979a74e74",
            "timestamp": "2026-12-01T10:00:00Z", "type": "Donation", "is_public": true, "from_name": "Jo Example",
            "message": "Good luck!", "amount": "7.50", "url": "https://ko-fi.com/Home/CoffeeShop?txid=0a1b2c3d", "email": "Jo.Example@Example.com",
            "currency": "USD", "is_subscription_payment": false, "is_first_subscription_payment": false,
            "kofi_transaction_id": "0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d", "shop_items": null, "tier_name": null, "shipping": null
        });
        for (k, v) in overrides {
            data[*k] = v.clone();
        }
        url::form_urlencoded::Serializer::new(String::new()).append_pair("data", &data.to_string()).finish().into_bytes()
    }

    fn settings() -> Settings {
        serde_json::from_value(serde_json::json!({"credit_price": 300, "tiers": {"Gold": "fan_club"}, "shop_items": {"1a2b3c4d5e": 5}})).unwrap()
    }

    #[test]
    fn reads_the_form_and_its_data() {
        let p = parse(&form(&[])).unwrap();
        assert_eq!((p.kind, p.amount, p.email.as_deref()), (Kind::Donation, 750, Some("jo.example@example.com")));
        assert_eq!(p.message_id, "3a1fac0c-f960-4506-a60e-824979a74e74");
        assert!(parse(b"nothing=here").is_err());
        assert!(parse(b"data=not%20json").is_err());
        assert!(parse(&form(&[("type", "Refund".into())])).is_err());
        assert!(parse(&form(&[("verification_token", Value::Null)])).is_err());
        assert_eq!(minor_units("3"), Some(300));
        assert_eq!(minor_units("3.5"), Some(350));
        assert_eq!(minor_units("-3.00"), None);
        assert_eq!(minor_units("3.001"), None);
    }

    #[test]
    fn the_token_is_compared_by_its_hash() {
        let stored = token_hash("8c2a8a5e-1d3b-4b4f-9e1a-2f0d9c1d8a11");
        assert!(token_matches(" 8c2a8a5e-1d3b-4b4f-9e1a-2f0d9c1d8a11 ", &stored));
        assert!(!token_matches("8c2a8a5e-1d3b-4b4f-9e1a-2f0d9c1d8a12", &stored));
    }

    #[test]
    fn earns_credits_tiers_or_nothing_by_the_settings() {
        let m = Manifest::parse(SONG).unwrap();
        let now = 1_800_000_000_000;
        assert_eq!(earned(&parse(&form(&[])).unwrap(), &settings(), &m.pricing.currency, now), Earned::Credits(2), "7.50 at 3.00 a credit");
        assert_eq!(earned(&parse(&form(&[("amount", "2.99".into())])).unwrap(), &settings(), &m.pricing.currency, now), Earned::Nothing);
        assert_eq!(earned(&parse(&form(&[("currency", "EUR".into())])).unwrap(), &settings(), &m.pricing.currency, now), Earned::CurrencyMismatch);
        let member = parse(&form(&[("type", "Subscription".into()), ("tier_name", "Gold".into())])).unwrap();
        let paid_at = parse_ts("2026-12-01T10:00:00Z");
        assert_eq!(earned(&member, &settings(), &m.pricing.currency, now), Earned::Tier { tier: "fan_club".into(), until_ms: paid_at + MEMBERSHIP_MS });
        let shop = parse(&form(&[
            ("type", "Shop Order".into()),
            ("shop_items", serde_json::json!([{"direct_link_code": "1a2b3c4d5e", "quantity": 2}, {"direct_link_code": "other", "quantity": 1}])),
        ]))
        .unwrap();
        assert_eq!(earned(&shop, &settings(), &m.pricing.currency, now), Earned::Credits(10));
        assert_eq!(earned(&parse(&form(&[("type", "Commission".into())])).unwrap(), &settings(), &m.pricing.currency, now), Earned::Nothing);
        assert_eq!(earned(&parse(&form(&[])).unwrap(), &Settings::default(), &m.pricing.currency, now), Earned::Nothing);
    }

    fn parse_ts(t: &str) -> i64 {
        crate::util::time::parse_rfc3339(t).unwrap()
    }

    #[test]
    fn settings_must_fit_the_app() {
        let m = Manifest::parse(SONG).unwrap();
        let is_tier = |t: &str| m.tier(t).is_some();
        assert_eq!(settings().check(is_tier, true), Ok(()));
        assert!(settings().check(is_tier, false).unwrap_err().contains("credit packs"));
        let mut bad = settings();
        bad.tiers.insert("Silver".into(), "no_such_tier".into());
        assert!(bad.check(is_tier, true).unwrap_err().contains("no_such_tier"));
        assert!(Settings { credit_price: Some(0), ..Settings::default() }.check(is_tier, true).is_err());
    }
}
