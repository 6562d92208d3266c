//! An app manifest: everything that makes one micro-app different from another. Parsed once,
//! checked for sense, then trusted by the rest of the crate.

pub mod bake;
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
    /// The creator id that owns the app; its catalog row is registered under it (the local
    /// stack's first creator when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
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
    /// Where the iframe embed may be shown.
    #[serde(default)]
    pub embed: EmbedRules,
    /// Requests from a live stream's chat (`!sr Song - Artist`) and channel-points redemptions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat: Option<ChatRules>,
}

/// An optional part of an app Worker, named as the `fanline-edge` cargo feature that builds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feature {
    /// Fan sign-in (OAuth, email links, sessions, linked identities): `identity` or `chat`.
    SignIn,
    /// PayPal orders and their approval return: `pricing.providers` lists `paypal`.
    Paypal,
    /// Credit packs and tiers, their checkouts and a fan's balance: `pricing.credit_packs` or
    /// `pricing.tiers`.
    Credits,
    /// Opening, listing and showing auctions: `auction`.
    Auctions,
}

impl Feature {
    pub const ALL: [Feature; 4] = [Feature::SignIn, Feature::Paypal, Feature::Credits, Feature::Auctions];

    pub fn cargo_name(self) -> &'static str {
        match self {
            Self::SignIn => "sign-in",
            Self::Paypal => "paypal",
            Self::Credits => "credits",
            Self::Auctions => "auctions",
        }
    }
}

/// How a chat command (or a redemption's text) becomes a request.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ChatRules {
    /// The command viewers type, e.g. `!sr`.
    pub command: String,
    /// Text fields filled, in order, from the text after the command split on `separator`.
    pub fields: Vec<String>,
    #[serde(default = "default_chat_separator")]
    pub separator: String,
    /// A text field that records the viewer's Twitch login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub viewer_field: Option<String>,
    /// Add-ons a chat request buys with credits when the viewer has linked their Twitch to a
    /// fan (`POST .../api/me/links`); other viewers send the plain request.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add_ons: Vec<String>,
}

fn every_request() -> Option<u64> {
    Some(0)
}

fn default_chat_separator() -> String {
    " - ".to_string()
}

/// The creator's sites that may frame the app's iframe embed (`/apps/<slug>/embed`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct EmbedRules {
    /// Origins (`https://mysite.example`, `https://*.mysite.example`); empty means any site.
    #[serde(default)]
    pub sites: Vec<String>,
}

impl EmbedRules {
    /// Whether a page of `origin` (`https://host[:port]`, as browsers send it) may embed the
    /// app: any when no sites are listed, else a listed one (`*.` covering its subdomains).
    pub fn allows(&self, origin: &str) -> bool {
        self.sites.is_empty()
            || self.sites.iter().any(|site| match site.split_once("://*.") {
                Some((scheme, parent)) => origin.strip_prefix(scheme).and_then(|o| o.strip_prefix("://")).is_some_and(|host| {
                    host.strip_suffix(parent).is_some_and(|sub| sub.len() > 1 && sub.ends_with('.') && !sub[..sub.len() - 1].contains(['/', ':']))
                }),
                None => site == origin,
            })
    }

    /// Whether a page on `host` (a bare host name, as Turnstile reports where its widget was
    /// solved) may show the app: any when no sites are listed, else a listed site's host (its
    /// subdomains for `*.`), whatever the scheme and port.
    pub fn allows_host(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        self.sites.is_empty()
            || self.sites.iter().any(|site| {
                let site_host = crate::util::origin::host_of(site);
                match site_host.strip_prefix("*.") {
                    Some(parent) => host.strip_suffix(parent).is_some_and(|sub| sub.len() > 1 && sub.ends_with('.')),
                    None => host == site_host,
                }
            })
    }

    /// The `frame-ancestors` source list of the embed page's Content-Security-Policy.
    pub fn frame_ancestors(&self) -> String {
        if self.sites.is_empty() {
            "*".into()
        } else {
            self.sites.join(" ")
        }
    }
}

/// An origin a CSP source list can hold as it is: a scheme, a host (its first label may be
/// `*`) and a port, nothing else, so a manifest can never write another directive.
fn is_site_origin(site: &str) -> bool {
    let Some((scheme, rest)) = site.split_once("://") else { return false };
    let (host, port) = rest.rsplit_once(':').map_or((rest, None), |(h, p)| (h, Some(p)));
    let labels: Vec<&str> = host.split('.').collect();
    matches!(scheme, "https" | "http")
        && port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()))
        && !host.is_empty()
        && labels
            .iter()
            .enumerate()
            .all(|(i, l)| (i == 0 && *l == "*" && labels.len() > 2) || (!l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')))
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
    /// Sign-in is required for requests priced at least this much (0: every request; `null`:
    /// never, sign-in is only offered, e.g. for patrons to get their tier).
    #[serde(default = "every_request")]
    pub required_from: Option<u64>,
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
    /// The viewer in a stream's chat (and their channel-points redemption), for requests the
    /// hub relayed from Twitch; added by Fanline, never routed in a manifest.
    Twitch,
    /// The viewer in a YouTube live chat, for requests the hub relayed from it; likewise.
    Youtube,
}

impl DestinationKind {
    pub const ALL: [Self; 11] = [
        Self::Discord,
        Self::Webhook,
        Self::Email,
        Self::Feedback,
        Self::CreatorEmail,
        Self::Trello,
        Self::Sms,
        Self::Notion,
        Self::Airtable,
        Self::Twitch,
        Self::Youtube,
    ];

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
            Self::Twitch => "twitch",
            Self::Youtube => "youtube",
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

/// Largest upload a file field may allow: 25 MiB, well inside a Worker's request body limit.
pub const MAX_FILE_BYTES: u64 = 26_214_400;

/// One thing wrong with a manifest, where it is (`fields[2].max_bytes`) and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

#[derive(Default)]
struct Problems(Vec<Problem>);

impl Problems {
    fn add(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(Problem { path: path.into(), message: message.into() });
    }
}

impl Manifest {
    pub fn parse(json: &str) -> Result<Self, String> {
        Self::parse_all(json).map_err(|problems| problems.first().map_or_else(|| "manifest: invalid".into(), |p| format!("manifest: {p}")))
    }

    /// Every problem with a manifest that reads as JSON of the right shape; a shape problem
    /// (unknown key, wrong type) is one problem, at the line and column serde stopped at.
    pub fn parse_all(json: &str) -> Result<Self, Vec<Problem>> {
        let manifest: Manifest = serde_json::from_str(json).map_err(|e| vec![Problem { path: "$".into(), message: e.to_string() }])?;
        let mut problems = Problems::default();
        manifest.check(&mut problems);
        if problems.0.is_empty() {
            Ok(manifest)
        } else {
            Err(problems.0)
        }
    }

    fn check(&self, p: &mut Problems) {
        if !is_slug(&self.slug) {
            p.add("slug", format!("'{}' must be 1-40 of a-z, 0-9 and '-'", self.slug));
        }
        if self.title.trim().is_empty() {
            p.add("title", "is empty");
        }
        if self.fields.is_empty() {
            p.add("fields", "an app needs at least one field");
        }
        let mut names = BTreeSet::new();
        for (i, field) in self.fields.iter().enumerate() {
            let at = |key: &str| format!("fields[{i}].{key}");
            if !is_identifier(&field.name) || RESERVED_FIELD_NAMES.contains(&field.name.as_str()) {
                p.add(
                    at("name"),
                    format!(
                        "'{}' is not allowed: 1-40 of a-z, 0-9 and '_', starting with a letter, and none of {}",
                        field.name,
                        RESERVED_FIELD_NAMES.join(", ")
                    ),
                );
            } else if !names.insert(field.name.as_str()) {
                p.add(at("name"), format!("'{}' appears twice", field.name));
            }
            match field.kind {
                FieldKind::Choice if field.options.is_empty() => p.add(at("options"), "a choice field needs options"),
                FieldKind::Choice
                    if field.options.iter().enumerate().any(|(j, o)| o.value.trim().is_empty() || field.options[..j].iter().any(|q| q.value == o.value)) =>
                {
                    p.add(at("options"), "an option's value is empty or repeated")
                }
                FieldKind::File if field.accept.is_empty() => p.add(at("accept"), "a file field lists the media types it accepts"),
                FieldKind::File if field.max_bytes.is_none() => p.add(at("max_bytes"), "a file field needs max_bytes"),
                _ => {}
            }
            match field.max_bytes {
                Some(0) => p.add(at("max_bytes"), "must be at least 1"),
                Some(max) if max > MAX_FILE_BYTES => p.add(at("max_bytes"), format!("must be at most {MAX_FILE_BYTES} (it is {max})")),
                _ => {}
            }
            for (j, media_type) in field.accept.iter().enumerate() {
                if media::extension_for(media_type).is_none() {
                    p.add(format!("fields[{i}].accept[{j}]"), format!("unsupported type '{media_type}'"));
                }
            }
        }
        let mut add_on_ids = BTreeSet::new();
        for (i, add_on) in self.pricing.add_ons.iter().enumerate() {
            if !is_identifier(&add_on.id) || !add_on_ids.insert(add_on.id.as_str()) {
                p.add(format!("pricing.add_ons[{i}].id"), format!("'{}' is invalid or repeated", add_on.id));
            }
            if add_on.amount == 0 {
                p.add(format!("pricing.add_ons[{i}].amount"), "an add-on must cost something");
            }
        }
        if let Some(tips) = &self.pricing.tips {
            if tips.min == 0 || tips.min > tips.max || tips.suggested.iter().any(|s| *s < tips.min || *s > tips.max) {
                p.add("pricing.tips", "tips need 0 < min <= max, and suggested amounts within them");
            }
        }
        if self.pricing.platform_fee_bps > 5_000 {
            p.add("pricing.platform_fee_bps", "must be at most 5000 (50%)");
        }
        if self.pricing.hold.is_some_and(|h| !(1..=144).contains(&h.accept_within_hours)) {
            p.add("pricing.hold.accept_within_hours", "must be 1 to 144 (card authorizations lapse after about 7 days)");
        }
        if let Some(honeypot) = &self.moderation.honeypot_field {
            if !is_identifier(honeypot) || names.contains(honeypot.as_str()) || RESERVED_FIELD_NAMES.contains(&honeypot.as_str()) {
                p.add("moderation.honeypot_field", format!("'{honeypot}' must be a name no field or body key uses"));
            }
        }
        if let Some(identity) = &self.identity {
            let repeated = identity.providers.iter().enumerate().any(|(i, q)| identity.providers[..i].contains(q));
            if identity.providers.is_empty() || repeated || identity.providers.contains(&crate::trust::identity::Provider::Youtube) {
                p.add("identity.providers", "lists each of twitch, discord, google, patreon, email at most once, at least one");
            }
        }
        let mut ids = BTreeSet::new();
        for (i, pack) in self.pricing.credit_packs.iter().enumerate() {
            if !is_identifier(&pack.id) || !ids.insert(pack.id.as_str()) || pack.credits == 0 || pack.amount == 0 {
                p.add(format!("pricing.credit_packs[{i}]"), format!("'{}' needs a unique id, credits > 0 and an amount > 0", pack.id));
            }
        }
        if self.pricing.credits_per_request == 0 {
            p.add("pricing.credits_per_request", "must be at least 1");
        }
        let mut ids = BTreeSet::new();
        for (i, tier) in self.pricing.tiers.iter().enumerate() {
            if !is_identifier(&tier.id) || !ids.insert(tier.id.as_str()) || tier.amount == 0 || tier.discount_bps > 10_000 {
                p.add(format!("pricing.tiers[{i}]"), format!("'{}' needs a unique id, an amount > 0 and discount_bps <= 10000", tier.id));
            }
        }
        if self.pricing.providers.is_empty() || self.pricing.providers.iter().enumerate().any(|(i, q)| self.pricing.providers[..i].contains(q)) {
            p.add("pricing.providers", "lists each provider once, at least one");
        }
        if let Some(auction) = &self.auction {
            if auction.starting_bid == 0 || auction.min_increment == 0 {
                p.add("auction", "an auction needs starting_bid > 0 and min_increment > 0");
            }
            if auction.max_extension_secs > 3600 {
                p.add("auction.max_extension_secs", "must be at most 3600 (card holds must outlast the auction)");
            }
            if self.pricing.base != 0
                || self.pricing.hold.is_some()
                || !self.pricing.credit_packs.is_empty()
                || !self.pricing.tiers.is_empty()
                || self.pricing.providers != [Provider::Stripe]
            {
                p.add("pricing", "an auction app is priced by its bids (always held, through Stripe): no base, hold, credit packs, tiers or other providers");
            }
        }
        if self.pricing.hold.is_some() && self.pricing.providers.contains(&Provider::Paypal) {
            p.add("pricing.providers", "held payments are Stripe-only; remove paypal");
        }
        for (event, routes) in &self.routing {
            if event != WAITING_EVENT && crate::lifecycle::Status::from_event_name(event).is_none() {
                p.add(format!("routing.{event}"), "cannot route an unknown event");
            }
            for (i, route) in routes.iter().enumerate() {
                self.check_route(&format!("routing.{event}[{i}]"), route, p);
            }
        }
        if self.reminder_after_hours == Some(0) {
            p.add("reminder_after_hours", "must be at least 1");
        }
        if let Some(chat) = &self.chat {
            let command_ok = (2..=25).contains(&chat.command.len()) && !chat.command.contains(char::is_whitespace) && chat.command.is_ascii();
            if !command_ok {
                p.add("chat.command", "must be 2 to 25 ASCII characters without spaces, e.g. !sr");
            }
            if chat.fields.is_empty() || chat.separator.trim().is_empty() {
                p.add("chat.fields", "lists at least one field, and separator is not blank");
            }
            let text_field = |name: &str| self.field(name).is_some_and(|f| matches!(f.kind, FieldKind::Text | FieldKind::Textarea));
            for (i, name) in chat.fields.iter().chain(&chat.viewer_field).enumerate() {
                if !text_field(name) {
                    p.add(format!("chat.fields[{i}]"), format!("'{name}' must be a text field of the app"));
                }
            }
            for id in &chat.add_ons {
                if self.add_on(id).is_none() {
                    p.add("chat.add_ons", format!("'{id}' is not an add-on of the app"));
                }
            }
        }
        for (i, site) in self.embed.sites.iter().enumerate() {
            if !is_site_origin(site) {
                p.add(
                    format!("embed.sites[{i}]"),
                    format!("'{site}' must be an origin such as https://mysite.example (https://*.mysite.example for its subdomains), without a path"),
                );
            }
        }
    }

    /// Providers a fan may sign in with here: the identity rules', and Twitch for an app that
    /// takes chat requests (a viewer links their Twitch to their credits).
    pub fn sign_in_providers(&self) -> Vec<crate::trust::identity::Provider> {
        let mut providers = self.identity.as_ref().map(|i| i.providers.clone()).unwrap_or_default();
        if self.chat.is_some() && !providers.contains(&crate::trust::identity::Provider::Twitch) {
            providers.push(crate::trust::identity::Provider::Twitch);
        }
        providers
    }

    /// The optional parts of an app Worker this manifest uses, so each Worker compiles only
    /// those (`scripts/build-worker.sh` passes them to cargo as `fanline-edge` features).
    pub fn features(&self) -> Vec<Feature> {
        let pricing = &self.pricing;
        [
            (Feature::SignIn, !self.sign_in_providers().is_empty()),
            (Feature::Paypal, pricing.providers.contains(&Provider::Paypal)),
            (Feature::Credits, !pricing.credit_packs.is_empty() || !pricing.tiers.is_empty()),
            (Feature::Auctions, self.auction.is_some()),
        ]
        .into_iter()
        .filter_map(|(feature, used)| used.then_some(feature))
        .collect()
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

    fn check_route(&self, at: &str, route: &Route, p: &mut Problems) {
        if matches!(route.to, DestinationKind::Twitch | DestinationKind::Youtube) {
            p.add(at, "chat replies (twitch, youtube) are added by Fanline to requests from a stream's chat; they are not routed");
        }
        if route.to == DestinationKind::Webhook && (route.title.is_some() || route.template.is_some()) {
            p.add(at, "a webhook carries the whole request as JSON; it takes no title or template");
        }
        for (key, text) in [("title", &route.title), ("template", &route.template)] {
            let Some(text) = text else { continue };
            let at = format!("{at}.{key}");
            if text.trim().is_empty() || text.len() > 2000 {
                p.add(&at, "must be 1-2000 characters");
            }
            match template::placeholders(text) {
                Err(e) => p.add(&at, e),
                Ok(names) => {
                    for name in names.into_iter().filter(|n| !template::BUILTINS.contains(n) && self.field(n).is_none()) {
                        p.add(&at, format!("unknown placeholder {{{{{name}}}}}; use a field name or one of {}", template::BUILTINS.join(", ")));
                    }
                }
            }
        }
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
    fn every_problem_is_reported_with_its_json_path() {
        let mut m: serde_json::Value = serde_json::from_str(PIXEL).unwrap();
        m["fields"][4]["max_bytes"] = 30_000_000.into();
        m["fields"][0]["name"] = "tip".into();
        m["pricing"]["platform_fee_bps"] = 9_000.into();
        m["routing"]["request.queued"] = serde_json::json!([{"to": "sms", "template": "{{nope}}"}]);
        let problems = Manifest::parse_all(&m.to_string()).unwrap_err();
        let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(paths, ["fields[0].name", "fields[4].max_bytes", "pricing.platform_fee_bps", "routing.request.queued[0].template"]);
        assert_eq!(problems[1].to_string(), "fields[4].max_bytes: must be at most 26214400 (it is 30000000)");
        assert!(Manifest::parse_all(PIXEL).is_ok());
    }

    #[test]
    fn each_app_worker_compiles_only_the_features_its_manifest_uses() {
        let features = |text: &str| Manifest::parse(text).unwrap().features();
        assert_eq!(features(SONG), [Feature::SignIn, Feature::Paypal, Feature::Credits]);
        assert_eq!(features(PIXEL), []);
        assert_eq!(features(SHOUTOUT), [Feature::SignIn]);
        assert_eq!(features(include_str!("../../../../apps/stream-slot/manifest.json")), [Feature::Auctions]);
        // Chat requests link a viewer's Twitch, so they need sign-in without `identity`.
        let chat_only = with(|m| {
            m.as_object_mut().unwrap().remove("identity");
            m["pricing"]["providers"] = serde_json::json!(["stripe"]);
            m["pricing"]["credit_packs"] = serde_json::json!([]);
            m["pricing"]["tiers"] = serde_json::json!([]);
        })
        .unwrap();
        assert_eq!(chat_only.features(), [Feature::SignIn]);
        let tiers_only = with(|m| m["pricing"]["credit_packs"] = serde_json::json!([])).unwrap();
        assert!(tiers_only.features().contains(&Feature::Credits));
    }

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

    /// docs/manifest.md's reference table lists exactly the keys the parser accepts: an unknown
    /// key put into each object makes serde name every key it expected there.
    #[test]
    fn docs_manifest_reference_matches_the_parser() {
        const DOC: &str = include_str!("../../../../docs/manifest.md");
        let mut documented: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for key in DOC.lines().filter(|l| l.starts_with("| `")).filter_map(|l| l.split('`').nth(1)) {
            let (location, name) = key.rsplit_once('.').unwrap_or(("", key));
            documented.entry(location).or_default().insert(name);
        }
        let full = serde_json::json!({
            "slug": "s", "title": "t",
            "fields": [{"name": "a", "label": "A", "type": "text"}],
            "pricing": {"currency": "usd", "add_ons": [{"id": "x", "label": "X", "amount": 1}], "tips": {"min": 1, "max": 2},
                "hold": {"accept_within_hours": 1}, "credit_packs": [{"id": "p", "label": "P", "credits": 1, "amount": 1}],
                "tiers": [{"id": "t", "label": "T", "amount": 1, "interval": "month"}]},
            "moderation": {}, "auction": {"starting_bid": 1, "min_increment": 1, "anti_snipe_secs": 1}, "limits": {},
            "identity": {"providers": ["twitch"]}, "turnstile": {"site_key": "k"}, "embed": {},
            "chat": {"command": "!a", "fields": ["a"]}
        });
        let locations = ["", "fields[]", "pricing", "pricing.add_ons[]", "pricing.tips", "pricing.hold", "pricing.credit_packs[]", "pricing.tiers[]"];
        let locations = locations.into_iter().chain(["moderation", "auction", "limits", "identity", "turnstile", "embed", "chat"]);
        for location in locations {
            let mut manifest = full.clone();
            let mut at = &mut manifest;
            for part in location.split('.').filter(|p| !p.is_empty()) {
                at = match part.strip_suffix("[]") {
                    Some(list) => &mut at[list][0],
                    None => &mut at[part],
                };
            }
            at["zz_unknown"] = true.into();
            let error = serde_json::from_value::<Manifest>(manifest).unwrap_err().to_string();
            let expected = error.split_once("expected").unwrap_or_else(|| panic!("{location}: {error}")).1;
            let accepted: BTreeSet<&str> = expected.split('`').skip(1).step_by(2).collect();
            assert_eq!(documented.get(location).cloned().unwrap_or_default(), accepted, "docs/manifest.md, keys under `{location}`");
        }
    }

    #[test]
    fn embed_sites_are_plain_origins_that_cannot_write_csp() {
        assert_eq!(with(|_| {}).unwrap().embed.frame_ancestors(), "*");
        let sites = with(|m| m["embed"] = serde_json::json!({"sites": ["https://dj.example", "https://*.dj.example", "http://localhost:3000"]})).unwrap();
        assert_eq!(sites.embed.frame_ancestors(), "https://dj.example https://*.dj.example http://localhost:3000");
        for (origin, allowed) in [
            ("https://dj.example", true),
            ("https://shop.dj.example", true),
            ("https://a.b.dj.example", true),
            ("http://localhost:3000", true),
            ("http://dj.example", false),
            ("https://evil-dj.example", false),
            ("https://dj.example.evil.test", false),
            ("https://x.dj.example:8443", false),
            ("http://localhost:3001", false),
        ] {
            assert_eq!(sites.embed.allows(origin), allowed, "{origin}");
        }
        assert!(with(|_| {}).unwrap().embed.allows("https://anything.example"));
        for bad in [
            "dj.example",
            "https://dj.example/page",
            "https://dj.example; script-src *",
            "https://a b",
            "javascript://x",
            "https://*.example",
            "https://dj.example:",
            "*",
        ] {
            let err = with(|m| m["embed"] = serde_json::json!({"sites": [bad]})).unwrap_err();
            assert!(err.contains("embed.sites[0]"), "{bad}: {err}");
        }
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
