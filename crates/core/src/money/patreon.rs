//! Patreon: its webhook signature (`X-Patreon-Signature`, the hex HMAC-MD5 of the raw body
//! keyed by the webhook's secret, as Patreon documents) and what a `members:pledge:*` event
//! says about one patron's membership, mapped to an app's tier by the creator's settings.

use crate::util::time::parse_rfc3339;
use hmac::{Hmac, Mac};
use md5::Md5;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The creator's Patreon settings at one app.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The Patreon campaign whose events these are (its webhooks name it).
    pub campaign_id: String,
    /// Patreon tier id -> the app's tier id.
    pub tiers: BTreeMap<String, String>,
}

impl Settings {
    /// Checked against the app (`is_tier`: an id among its tiers).
    pub fn check(&self, is_tier: impl Fn(&str) -> bool) -> Result<(), String> {
        if self.campaign_id.is_empty() || self.campaign_id.len() > 40 || !self.campaign_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err("campaign_id is your Patreon campaign's id (digits)".into());
        }
        if self.tiers.is_empty() {
            return Err("tiers maps at least one Patreon tier id to a tier of the app".into());
        }
        match self.tiers.values().find(|t| !is_tier(t)) {
            Some(unknown) => Err(format!("tiers: '{unknown}' is not a tier of the app")),
            None => Ok(()),
        }
    }
}

/// Whether `signature` (hex) is the HMAC-MD5 of `body` under `secret`, compared in constant time.
pub fn verify(secret: &str, body: &[u8], signature: Option<&str>) -> bool {
    // A secret that could not be read arrives empty, and an empty HMAC key is one anyone has.
    if secret.is_empty() {
        return false;
    }
    let Some(given) = signature.and_then(|s| hex::decode(s.trim()).ok()) else { return false };
    let Ok(mut mac) = Hmac::<Md5>::new_from_slice(secret.as_bytes()) else { return false };
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

/// The three pledge events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Trigger {
    Create,
    Update,
    Delete,
}

impl Trigger {
    pub fn parse(header: &str) -> Option<Self> {
        match header {
            "members:pledge:create" => Some(Self::Create),
            "members:pledge:update" => Some(Self::Update),
            "members:pledge:delete" => Some(Self::Delete),
            _ => None,
        }
    }
}

/// One patron's membership as an event reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub member_id: String,
    pub user_id: String,
    pub campaign_id: String,
    pub tier_ids: Vec<String>,
    pub active: bool,
    /// Orders this event against others about the same member (see `order`).
    pub order: i64,
}

/// Reads a member event's JSON:API body. Patreon puts no event time on a delivery, so events
/// are ordered by what the member carries: the later of the pledge's start and its last
/// charge, with a delete winning a tie (then an update, then a create).
pub fn member(trigger: Trigger, body: &[u8]) -> Result<Member, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("body is not JSON: {e}"))?;
    let data = &v["data"];
    let id = |rel: &str| data["relationships"][rel]["data"]["id"].as_str().map(str::to_string).ok_or_else(|| format!("relationships.{rel} is missing"));
    let attributes = &data["attributes"];
    let at = |k: &str| attributes[k].as_str().and_then(parse_rfc3339).unwrap_or(0);
    let order = at("last_charge_date").max(at("pledge_relationship_start")).max(0) * 4 + trigger as i64;
    Ok(Member {
        member_id: data["id"].as_str().filter(|s| !s.is_empty() && s.len() <= 64).ok_or("data.id is missing")?.to_string(),
        user_id: id("user")?,
        campaign_id: id("campaign")?,
        tier_ids: data["relationships"]["currently_entitled_tiers"]["data"]
            .as_array()
            .map(|tiers| tiers.iter().filter_map(|t| t["id"].as_str().map(str::to_string)).collect())
            .unwrap_or_default(),
        active: trigger != Trigger::Delete && attributes["patron_status"].as_str() == Some("active_patron"),
        order,
    })
}

/// The campaign an event is about, read before the signature is checked (it picks the secret).
pub fn campaign_of(body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    v["data"]["relationships"]["campaign"]["data"]["id"].as_str().map(str::to_string)
}

/// An event's identity for acting once: Patreon gives none, so the trigger and exact body.
pub fn event_id(trigger: &str, body: &[u8]) -> String {
    let mut hash = Sha256::new();
    hash.update(trigger.as_bytes());
    hash.update(b"\n");
    hash.update(body);
    format!("ptr_{}", hex::encode(&hash.finalize()[..16]))
}

/// The app tier an active member gets: the first of their Patreon tiers that is mapped.
pub fn tier<'s>(member: &Member, settings: &'s Settings) -> Option<&'s str> {
    member.tier_ids.iter().find_map(|t| settings.tiers.get(t)).map(String::as_str).filter(|_| member.active)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "pAtReOn-WeBhOoK-sEcReT";

    fn body(status: &str, tiers: &[&str], last_charge: &str) -> String {
        serde_json::json!({
            "data": {
                "type": "member", "id": "c2b8f3c4-0000-4e6a-9a4b-1d2e3f4a5b6c",
                "attributes": {"patron_status": status, "currently_entitled_amount_cents": 500, "last_charge_date": last_charge,
                    "last_charge_status": "Paid", "pledge_relationship_start": "2026-11-01T09:00:00.000+00:00", "email": "pat@example.com"},
                "relationships": {
                    "campaign": {"data": {"id": "4242", "type": "campaign"}},
                    "user": {"data": {"id": "777", "type": "user"}},
                    "currently_entitled_tiers": {"data": tiers.iter().map(|t| serde_json::json!({"id": t, "type": "tier"})).collect::<Vec<_>>()}
                }
            }
        })
        .to_string()
    }

    #[test]
    fn verifies_the_independent_vector() {
        // Node: createHmac("md5", "pAtReOn-WeBhOoK-sEcReT").update('{"data":{"id":"1"}}').digest("hex")
        let body = br#"{"data":{"id":"1"}}"#;
        assert!(verify(SECRET, body, Some("72139fb69cf96cfc5dfcd003acdfd9dd")));
        assert!(!verify(SECRET, body, Some("72139fb69cf96cfc5dfcd003acdfd9de")));
        assert!(!verify("other", body, Some("72139fb69cf96cfc5dfcd003acdfd9dd")));
        assert!(!verify(SECRET, body, None));
        assert!(!verify(SECRET, body, Some("not hex")));
        // HMAC-MD5 of the body under an empty key: what a forger would send for an unreadable secret.
        let mut mac = Hmac::<Md5>::new_from_slice(b"").unwrap();
        mac.update(body);
        assert!(!verify("", body, Some(&hex::encode(mac.finalize().into_bytes()))));
    }

    #[test]
    fn reads_a_member_and_orders_its_events() {
        let created = member(Trigger::Create, body("active_patron", &["111"], "2026-12-01T10:00:00.000+00:00").as_bytes()).unwrap();
        assert_eq!(
            (created.user_id.as_str(), created.campaign_id.as_str(), created.tier_ids.clone(), created.active),
            ("777", "4242", vec!["111".to_string()], true)
        );
        let deleted = member(Trigger::Delete, body("active_patron", &["111"], "2026-12-01T10:00:00.000+00:00").as_bytes()).unwrap();
        assert!(!deleted.active, "a deleted pledge grants nothing");
        assert!(deleted.order > created.order, "a delete wins a tie");
        let renewed = member(Trigger::Update, body("active_patron", &["111"], "2027-01-01T10:00:00.000+00:00").as_bytes()).unwrap();
        assert!(renewed.order > deleted.order, "a later charge is newer");
        let lapsed = member(Trigger::Update, body("declined_patron", &["111"], "2026-12-01T10:00:00.000+00:00").as_bytes()).unwrap();
        assert!(!lapsed.active);
        assert!(member(Trigger::Create, b"{}").is_err());
        assert_eq!(campaign_of(body("active_patron", &[], "").as_bytes()).as_deref(), Some("4242"));
        assert_ne!(event_id("members:pledge:create", b"{}"), event_id("members:pledge:update", b"{}"));
    }

    #[test]
    fn maps_the_first_mapped_tier_of_an_active_member() {
        let settings = Settings { campaign_id: "4242".into(), tiers: [("222".to_string(), "fan_club".to_string())].into() };
        let m = member(Trigger::Update, body("active_patron", &["111", "222"], "2026-12-01T10:00:00.000+00:00").as_bytes()).unwrap();
        assert_eq!(tier(&m, &settings), Some("fan_club"));
        let gone = member(Trigger::Delete, body("active_patron", &["222"], "2026-12-01T10:00:00.000+00:00").as_bytes()).unwrap();
        assert_eq!(tier(&gone, &settings), None);
    }
}
