//! An app manifest: everything that makes one micro-app different from another. Parsed once,
//! checked for sense, then trusted by the rest of the crate.

pub mod media;
pub mod template;

use crate::money::amount::Interval;
use crate::money::auction::AuctionRules;
use crate::money::{Currency, Money};
use crate::trust::moderation::ModerationRules;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub slug: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub fields: Vec<Field>,
    pub pricing: Pricing,
    #[serde(default)]
    pub moderation: ModerationRules,
    /// Makes the app an auction for scarce slots: fans bid, each bid is a held payment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auction: Option<AuctionRules>,
    /// Quotas per fan and the queue's capacity (the creator can override them in D1).
    #[serde(default)]
    pub limits: Limits,
    /// Sign-in through OAuth (Twitch, Discord, Google) for every request, or from a price up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<IdentityRules>,
    /// Cloudflare Turnstile: intake requires a token that siteverify accepts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turnstile: Option<TurnstileRules>,
    /// Event type (`request.queued`, ..., or `request.waiting`) to the targets notified of it,
    /// each written as `"discord"` or `{"to": "trello", "title": "...", "template": "..."}`.
    #[serde(default)]
    pub routing: BTreeMap<String, Vec<Route>>,
    /// A request still queued (or held for review) this many hours after it got there raises
    /// `request.waiting` once, for a reminder. Only used when `request.waiting` is routed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reminder_after_hours: Option<u32>,
}

/// The pseudo-event the reminder sweep raises; every other routed event is a state entered.
pub const WAITING_EVENT: &str = "request.waiting";
/// Hours before `request.waiting` when the manifest does not say.
pub const DEFAULT_REMINDER_HOURS: u32 = 24;

/// One target of one event. `title` names the thing created (Trello card, Notion page, email
/// subject); `template` is the message text (Discord content, SMS, card description, email
/// body). Both take `{{placeholders}}`; without them each target has a sensible default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Route {
    pub to: DestinationKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
}

impl<'de> Deserialize<'de> for Route {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Detailed {
            to: DestinationKind,
            #[serde(default)]
            title: Option<String>,
            #[serde(default)]
            template: Option<String>,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Written {
            Kind(DestinationKind),
            Detailed(Detailed),
        }
        match Written::deserialize(d).map_err(|_| serde::de::Error::custom("a route is a target name (discord, webhook, email, feedback, creator_email, trello, sms, notion, airtable) or {\"to\", \"title\", \"template\"}"))? {
            Written::Kind(to) => Ok(Route { to, title: None, template: None }),
            Written::Detailed(r) => Ok(Route { to: r.to, title: r.title, template: r.template }),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Field {
    pub name: String,
    pub label: String,
    #[serde(rename = "type")]
    pub kind: FieldKind,
    #[serde(default)]
    pub required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// For `choice`: the allowed values, each with an optional price added to the request's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<ChoiceOption>,
    /// For `file`: allowed media types (checked against the file's bytes, not only its label).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accept: Vec<String>,
    /// For `file`: largest accepted size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_bytes: Option<u64>,
}

/// A choice, written in a manifest either as `"pastel"` or as `{"value": "animated", "price": 1500}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "ChoiceOptionSpec")]
pub struct ChoiceOption {
    pub value: String,
    /// Minor units added to the price when chosen.
    pub price: u64,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ChoiceOptionSpec {
    Plain(String),
    Priced {
        value: String,
        #[serde(default)]
        price: u64,
    },
}

impl From<ChoiceOptionSpec> for ChoiceOption {
    fn from(spec: ChoiceOptionSpec) -> Self {
        match spec {
            ChoiceOptionSpec::Plain(value) => Self { value, price: 0 },
            ChoiceOptionSpec::Priced { value, price } => Self { value, price },
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    Text,
    Textarea,
    Email,
    Url,
    Choice,
    Checkbox,
    File,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pricing {
    pub currency: Currency,
    /// Price of every request in minor units; 0 makes the app free unless an add-on is chosen.
    #[serde(default)]
    pub base: u64,
    #[serde(default)]
    pub add_ons: Vec<AddOn>,
    /// When present, fans may add a tip of their choosing within these bounds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tips: Option<TipRules>,
    /// When present, payment is only authorized at checkout and captured when the creator
    /// accepts; declining, or not acting in time, releases the hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold: Option<HoldRules>,
    /// The marketplace's cut in basis points (1000 = 10%), taken as a Stripe Connect
    /// application fee when the creator has a connected account.
    #[serde(default)]
    pub platform_fee_bps: u32,
    /// Prepaid bundles of requests a fan buys once and spends without a card.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub credit_packs: Vec<CreditPack>,
    /// Credits one request costs when paid from a pack (default 1).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub credits_per_request: u32,
    /// Subscriber tiers: a monthly or yearly Stripe subscription for a discount and/or priority.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tiers: Vec<Tier>,
    /// Payment providers a fan may choose from; the first is the default.
    #[serde(default = "stripe_only")]
    pub providers: Vec<Provider>,
}

fn one() -> u32 {
    1
}
fn is_one(n: &u32) -> bool {
    *n == 1
}
fn stripe_only() -> Vec<Provider> {
    vec![Provider::Stripe]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    Stripe,
    Paypal,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stripe => "stripe",
            Self::Paypal => "paypal",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CreditPack {
    pub id: String,
    pub label: String,
    /// Credits the pack adds to the fan's balance.
    pub credits: u32,
    /// What the pack costs, in minor units of the app's currency.
    pub amount: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    pub id: String,
    pub label: String,
    /// Price per billing interval, in minor units.
    pub amount: u64,
    pub interval: Interval,
    /// Discount on each request's price (tips excluded), in basis points.
    #[serde(default)]
    pub discount_bps: u32,
    /// Subscribers' requests go to the front of the creator's queue.
    #[serde(default)]
    pub priority: bool,
}

/// Precise limits, enforced atomically in D1 at intake. A fan is their fan token, else their
/// email, else their IP address.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Most requests one fan may have open (not yet fulfilled, closed, rejected, expired or refunded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_open_per_fan: Option<u32>,
    /// Most requests one fan may send per UTC day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_per_fan_per_day: Option<u32>,
    /// Most requests in the creator's queue (held for review, queued or accepted); the form
    /// closes while it is full and reopens as requests are done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct IdentityRules {
    /// Providers the fan may sign in with, in the order the form offers them.
    pub providers: Vec<crate::trust::identity::Provider>,
    /// Sign-in is required for requests priced at least this much (0: every request).
    #[serde(default)]
    pub required_from: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TurnstileRules {
    /// The widget's public site key (the secret key is the Worker secret TURNSTILE_SECRET_KEY).
    pub site_key: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct HoldRules {
    /// Hours the creator has to accept before the hold is released (card holds last ~7 days).
    pub accept_within_hours: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TipRules {
    pub min: u64,
    pub max: u64,
    /// Amounts the form offers as one-tap choices.
    #[serde(default)]
    pub suggested: Vec<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AddOn {
    pub id: String,
    pub label: String,
    pub amount: u64,
    /// Paying for it puts the request ahead in the creator's queue ("played next").
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub priority: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DestinationKind {
    Discord,
    Webhook,
    /// The fan, at the email address they gave; skipped when they gave none.
    Email,
    /// The fan again, asking how it went (route it on `request.fulfilled`).
    Feedback,
    /// The creator, at the address set in their destinations.
    CreatorEmail,
    Trello,
    /// A text message to the creator's phone through Twilio.
    Sms,
    Notion,
    Airtable,
}

impl DestinationKind {
    pub const ALL: [Self; 9] =
        [Self::Discord, Self::Webhook, Self::Email, Self::Feedback, Self::CreatorEmail, Self::Trello, Self::Sms, Self::Notion, Self::Airtable];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Discord => "discord",
            Self::Webhook => "webhook",
            Self::Email => "email",
            Self::Feedback => "feedback",
            Self::CreatorEmail => "creator_email",
            Self::Trello => "trello",
            Self::Sms => "sms",
            Self::Notion => "notion",
            Self::Airtable => "airtable",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
    /// Fan emails go to the address on the request; every other kind needs the creator's settings.
    pub fn is_fan_email(self) -> bool {
        matches!(self, Self::Email | Self::Feedback)
    }
}

/// Names the request body uses for itself; a field may not shadow them.
const RESERVED_FIELD_NAMES: [&str; 9] = ["add_ons", "bid", "fields", "form_token", "idempotency_key", "pay_with", "provider", "tip", "turnstile_token"];

impl Manifest {
    pub fn parse(json: &str) -> Result<Self, String> {
        let manifest: Manifest = serde_json::from_str(json).map_err(|e| format!("manifest: {e}"))?;
        manifest.check()?;
        Ok(manifest)
    }

    fn check(&self) -> Result<(), String> {
        if !is_slug(&self.slug) {
            return Err(format!("manifest: slug '{}' must be 1-40 of a-z, 0-9 and '-'", self.slug));
        }
        if self.title.trim().is_empty() {
            return Err("manifest: title is empty".into());
        }
        if self.fields.is_empty() {
            return Err("manifest: an app needs at least one field".into());
        }
        let mut names = BTreeSet::new();
        for field in &self.fields {
            if !is_identifier(&field.name) || RESERVED_FIELD_NAMES.contains(&field.name.as_str()) {
                return Err(format!("manifest: field name '{}' is not allowed", field.name));
            }
            if !names.insert(field.name.as_str()) {
                return Err(format!("manifest: field '{}' appears twice", field.name));
            }
            match field.kind {
                FieldKind::Choice if field.options.is_empty() => return Err(format!("manifest: choice field '{}' has no options", field.name)),
                FieldKind::Choice
                    if field.options.iter().enumerate().any(|(i, o)| o.value.trim().is_empty() || field.options[..i].iter().any(|p| p.value == o.value)) =>
                {
                    return Err(format!("manifest: choice field '{}' has an empty or repeated option", field.name))
                }
                FieldKind::File if field.accept.is_empty() || field.max_bytes.is_none() => {
                    return Err(format!("manifest: file field '{}' needs accept and max_bytes", field.name))
                }
                _ => {}
            }
            for media_type in &field.accept {
                if media::extension_for(media_type).is_none() {
                    return Err(format!("manifest: field '{}' accepts unsupported type '{media_type}'", field.name));
                }
            }
        }
        let mut add_on_ids = BTreeSet::new();
        for add_on in &self.pricing.add_ons {
            if !is_identifier(&add_on.id) || !add_on_ids.insert(add_on.id.as_str()) {
                return Err(format!("manifest: add-on id '{}' is invalid or repeated", add_on.id));
            }
            if add_on.amount == 0 {
                return Err(format!("manifest: add-on '{}' must cost something", add_on.id));
            }
        }
        if let Some(tips) = &self.pricing.tips {
            if tips.min == 0 || tips.min > tips.max || tips.suggested.iter().any(|s| *s < tips.min || *s > tips.max) {
                return Err("manifest: tips need 0 < min <= max, and suggested amounts within them".into());
            }
        }
        if self.pricing.platform_fee_bps > 5_000 {
            return Err("manifest: platform_fee_bps is at most 5000 (50%)".into());
        }
        if self.pricing.hold.is_some_and(|h| !(1..=144).contains(&h.accept_within_hours)) {
            return Err("manifest: hold.accept_within_hours must be 1 to 144 (card authorizations lapse after about 7 days)".into());
        }
        if let Some(honeypot) = &self.moderation.honeypot_field {
            if !is_identifier(honeypot) || names.contains(honeypot.as_str()) || RESERVED_FIELD_NAMES.contains(&honeypot.as_str()) || honeypot == "form_token" {
                return Err(format!("manifest: honeypot_field '{honeypot}' must be a name no field or body key uses"));
            }
        }
        if let Some(identity) = &self.identity {
            if identity.providers.is_empty() || identity.providers.iter().enumerate().any(|(i, p)| identity.providers[..i].contains(p)) {
                return Err("manifest: identity.providers lists each of twitch, discord, google at most once, at least one".into());
            }
        }
        let mut ids = BTreeSet::new();
        for pack in &self.pricing.credit_packs {
            if !is_identifier(&pack.id) || !ids.insert(pack.id.as_str()) || pack.credits == 0 || pack.amount == 0 {
                return Err(format!("manifest: credit pack '{}' needs a unique id, credits > 0 and an amount > 0", pack.id));
            }
        }
        if self.pricing.credits_per_request == 0 {
            return Err("manifest: credits_per_request is at least 1".into());
        }
        let mut ids = BTreeSet::new();
        for tier in &self.pricing.tiers {
            if !is_identifier(&tier.id) || !ids.insert(tier.id.as_str()) || tier.amount == 0 || tier.discount_bps > 10_000 {
                return Err(format!("manifest: tier '{}' needs a unique id, an amount > 0 and discount_bps <= 10000", tier.id));
            }
        }
        if self.pricing.providers.is_empty() || self.pricing.providers.iter().enumerate().any(|(i, p)| self.pricing.providers[..i].contains(p)) {
            return Err("manifest: providers lists each provider once, at least one".into());
        }
        if let Some(auction) = &self.auction {
            if auction.starting_bid == 0 || auction.min_increment == 0 {
                return Err("manifest: an auction needs starting_bid > 0 and min_increment > 0".into());
            }
            if auction.max_extension_secs > 3600 {
                return Err("manifest: auction.max_extension_secs is at most 3600 (card holds must outlast the auction)".into());
            }
            if self.pricing.base != 0
                || self.pricing.hold.is_some()
                || !self.pricing.credit_packs.is_empty()
                || !self.pricing.tiers.is_empty()
                || self.pricing.providers != [Provider::Stripe]
            {
                return Err(
                    "manifest: an auction app is priced by its bids (always held, through Stripe): no base, hold, credit packs, tiers or other providers"
                        .into(),
                );
            }
        }
        if self.pricing.hold.is_some() && self.pricing.providers.contains(&Provider::Paypal) {
            return Err("manifest: held payments are Stripe-only; remove paypal from providers".into());
        }
        for (event, routes) in &self.routing {
            if event != WAITING_EVENT && crate::lifecycle::Status::from_event_name(event).is_none() {
                return Err(format!("manifest: cannot route unknown event '{event}'"));
            }
            for route in routes {
                self.check_route(event, route)?;
            }
        }
        if self.reminder_after_hours == Some(0) {
            return Err("manifest: reminder_after_hours must be at least 1".into());
        }
        Ok(())
    }

    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    pub fn add_on(&self, id: &str) -> Option<&AddOn> {
        self.pricing.add_ons.iter().find(|a| a.id == id)
    }

    pub fn credit_pack(&self, id: &str) -> Option<&CreditPack> {
        self.pricing.credit_packs.iter().find(|p| p.id == id)
    }

    pub fn tier(&self, id: &str) -> Option<&Tier> {
        self.pricing.tiers.iter().find(|t| t.id == id)
    }

    /// Whether payment is only authorized at checkout and captured later (holds and bids).
    pub fn holds_payment(&self) -> bool {
        self.pricing.hold.is_some() || self.auction.is_some()
    }

    pub fn base_price(&self) -> Money {
        Money::new(self.pricing.base, self.pricing.currency.clone())
    }

    pub fn routes_for(&self, event: &str) -> &[Route] {
        self.routing.get(event).map(Vec::as_slice).unwrap_or(&[])
    }

    fn check_route(&self, event: &str, route: &Route) -> Result<(), String> {
        let at = format!("manifest: routing.{event} to {}", route.to.as_str());
        if route.to == DestinationKind::Webhook && (route.title.is_some() || route.template.is_some()) {
            return Err(format!("{at}: a webhook carries the whole request as JSON; it takes no title or template"));
        }
        for text in [&route.title, &route.template].into_iter().flatten() {
            if text.trim().is_empty() || text.len() > 2000 {
                return Err(format!("{at}: a title or template is 1-2000 characters"));
            }
            for name in template::placeholders(text).map_err(|e| format!("{at}: {e}"))? {
                if !template::BUILTINS.contains(&name) && self.field(name).is_none() {
                    return Err(format!("{at}: unknown placeholder {{{{{name}}}}}; use a field name or one of {}", template::BUILTINS.join(", ")));
                }
            }
        }
        Ok(())
    }
}

pub fn is_slug(s: &str) -> bool {
    (1..=40).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') && !s.starts_with('-') && !s.ends_with('-')
}

fn is_identifier(s: &str) -> bool {
    (1..=40).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') && s.as_bytes()[0].is_ascii_lowercase()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) const SONG: &str = include_str!("../../../../apps/song-request/manifest.json");
    pub(crate) const PIXEL: &str = include_str!("../../../../apps/pixel-icon/manifest.json");
    pub(crate) const SHOUTOUT: &str = include_str!("../../../../apps/shoutout/manifest.json");

    #[test]
    fn shipped_manifests_parse() {
        let song = Manifest::parse(SONG).unwrap();
        assert_eq!(song.slug, "song-request");
        assert!(song.base_price().is_zero());
        assert!(song.add_on("priority").is_some());
        let pixel = Manifest::parse(PIXEL).unwrap();
        assert!(!pixel.base_price().is_zero());
        assert_eq!(pixel.fields.iter().filter(|f| f.kind == FieldKind::File).count(), 1);
        let shoutout = Manifest::parse(SHOUTOUT).unwrap();
        assert_eq!(shoutout.pricing.hold, Some(HoldRules { accept_within_hours: 72 }));
        assert!(with(|m| m["pricing"]["hold"] = serde_json::json!({"accept_within_hours": 500})).unwrap_err().contains("hold"));
    }

    fn with(edit: impl FnOnce(&mut serde_json::Value)) -> Result<Manifest, String> {
        let mut value: serde_json::Value = serde_json::from_str(SONG).unwrap();
        edit(&mut value);
        Manifest::parse(&value.to_string())
    }

    #[test]
    fn rejects_manifests_that_make_no_sense() {
        assert!(with(|m| m["slug"] = "Bad Slug".into()).unwrap_err().contains("slug"));
        assert!(with(|m| m["fields"][1]["name"] = "song".into()).unwrap_err().contains("twice"));
        assert!(with(|m| m["fields"][0]["name"] = "add_ons".into()).is_err());
        assert!(with(|m| m["routing"]["request.exploded"] = serde_json::json!(["discord"])).is_err());
        assert!(with(|m| m["pricing"]["currency"] = "dollars".into()).is_err());
        assert!(with(|m| m["surprise"] = true.into()).unwrap_err().contains("unknown field"));
        assert!(with(|m| m["fields"][0]["type"] = "file".into()).unwrap_err().contains("accept"));
        assert!(with(|m| m["pricing"]["tips"] = serde_json::json!({"min": 500, "max": 100})).unwrap_err().contains("tips"));
        assert!(with(|m| m["pricing"]["tips"] = serde_json::json!({"min": 0, "max": 100})).is_err());
        assert!(with(|m| m["fields"][0] = serde_json::json!({"name": "c", "label": "C", "type": "choice", "options": ["a", {"value": "a", "price": 5}]}))
            .unwrap_err()
            .contains("repeated"));
    }

    #[test]
    fn routes_are_names_or_templated_targets() {
        let m = with(|m| {
            m["routing"]["request.queued"] =
                serde_json::json!(["discord", {"to": "trello", "title": "{{song}} by {{artist}}", "template": "{{price}} {{page_url}}"}])
        })
        .unwrap();
        let routes = m.routes_for("request.queued");
        assert_eq!(routes[0], Route { to: DestinationKind::Discord, title: None, template: None });
        assert_eq!(routes[1].to, DestinationKind::Trello);
        assert_eq!(routes[1].title.as_deref(), Some("{{song}} by {{artist}}"));
        assert!(with(|m| m["routing"]["request.waiting"] = serde_json::json!(["creator_email"])).is_ok());
        assert!(with(|m| m["routing"]["request.queued"] = serde_json::json!([{"to": "sms", "template": "{{nope}}"}])).unwrap_err().contains("nope"));
        assert!(with(|m| m["routing"]["request.queued"] = serde_json::json!([{"to": "sms", "template": "{{song"}])).is_err());
        assert!(with(|m| m["routing"]["request.queued"] = serde_json::json!([{"to": "webhook", "template": "x"}])).unwrap_err().contains("webhook"));
        assert!(with(|m| m["routing"]["request.queued"] = serde_json::json!(["pigeon"])).is_err());
        assert!(with(|m| m["routing"]["request.queued"] = serde_json::json!([{"to": "sms", "colour": "red"}])).is_err());
        assert!(with(|m| m["reminder_after_hours"] = 0.into()).is_err());
    }

    #[test]
    fn choice_options_may_be_plain_or_priced() {
        let pixel = Manifest::parse(PIXEL).unwrap();
        let style = pixel.field("style").unwrap();
        assert_eq!(style.options[0], ChoiceOption { value: "static".into(), price: 0 });
        assert_eq!(style.options[1].price, 1500);
        let palette = pixel.field("palette").unwrap();
        assert!(palette.options.iter().all(|o| o.price == 0));
    }
}
