//! Turning what a fan sent into a submission the app accepts: every field checked against the
//! manifest, every problem reported per field at once, the price computed here and only here.

use crate::intake::FieldError;
use crate::manifest::{AddOn, FieldKind, Manifest, Provider};
use crate::money::Money;
use crate::trust::client::is_email;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// What arrived, before any checking. Built from a JSON body or a multipart form.
#[derive(Debug, Default, Clone)]
pub struct RawSubmission {
    pub fields: Map<String, Value>,
    pub add_ons: Vec<String>,
    /// The fan's tip in minor units, as sent (a number, or text from a form).
    pub tip: Option<Value>,
    pub files: Vec<RawFile>,
    /// `stripe` (card, the default), `paypal` or `credits`, as sent.
    pub pay_with: Option<String>,
    /// An auction bid in minor units, as sent.
    pub bid: Option<Value>,
    /// The form's signed token (when it was shown), for the minimum fill time.
    pub form_token: Option<String>,
    /// What arrived in the manifest's honeypot field, which real people leave empty.
    pub honeypot: Option<String>,
    /// The Cloudflare Turnstile token (`cf-turnstile-response` in a form).
    pub turnstile_token: Option<String>,
}

#[derive(Debug, Clone)]
pub struct RawFile {
    pub field: String,
    pub declared_type: String,
    pub size: u64,
    /// The file's bytes (or at least its first few), to tell its real type.
    pub head: Vec<u8>,
}

/// A submission that passed every check. Only `validate` builds one.
#[derive(Debug, Clone)]
pub struct Submission {
    // Private: only `validate` builds a submission and only `validate` and the intake plan
    // (`intake::plan`) may change what it costs.
    fields: BTreeMap<String, Value>,
    add_ons: Vec<AddOn>,
    files: Vec<AcceptedFile>,
    /// What the fan pays for, line by line; `price` is their sum.
    lines: Vec<PriceLine>,
    price: Money,
    payment: Payment,
}

/// How the fan pays for a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payment {
    /// Nothing to pay.
    Free,
    Provider(Provider),
    /// From the fan's prepaid balance at this app, instead of money.
    Credits(u32),
}

/// One priced item of a request: the app itself, a priced choice, an add-on or a tip.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PriceLine {
    pub label: String,
    pub amount: u64,
}

pub const TIP_LABEL: &str = "Tip";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptedFile {
    pub field: String,
    pub media_type: &'static str,
    pub size: u64,
}

impl Submission {
    pub fn fields(&self) -> &BTreeMap<String, Value> {
        &self.fields
    }

    pub fn add_ons(&self) -> &[AddOn] {
        &self.add_ons
    }

    /// Accepted files, in the manifest's field order.
    pub fn files(&self) -> &[AcceptedFile] {
        &self.files
    }

    /// What the fan pays for, line by line; `price` is their sum.
    pub fn lines(&self) -> &[PriceLine] {
        &self.lines
    }

    pub fn price(&self) -> &Money {
        &self.price
    }

    pub fn payment(&self) -> Payment {
        self.payment
    }

    /// The fan's email, if the app asked for one; used for confirmations.
    pub fn email(&self, manifest: &Manifest) -> Option<String> {
        manifest.fields.iter().filter(|f| f.kind == FieldKind::Email).find_map(|f| self.fields.get(&f.name).and_then(Value::as_str).map(str::to_string))
    }

    /// All free text the fan wrote, for moderation.
    pub fn text(&self) -> Vec<(&str, &str)> {
        self.fields.iter().filter_map(|(k, v)| v.as_str().map(|s| (k.as_str(), s))).collect()
    }
}

pub fn validate(manifest: &Manifest, raw: &RawSubmission) -> Result<Submission, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut fields = BTreeMap::new();
    let mut files = Vec::new();

    for name in raw.fields.keys() {
        match manifest.field(name) {
            None => errors.push(FieldError::new(name, "unknown_field", "This app has no such field.")),
            Some(f) if f.kind == FieldKind::File => {
                errors.push(FieldError::new(name, "file_expected", "Send this field as a file in a multipart/form-data request."))
            }
            Some(_) => {}
        }
    }

    for field in &manifest.fields {
        if field.kind == FieldKind::File {
            let mut sent = raw.files.iter().filter(|f| f.field == field.name);
            match (sent.next(), sent.next()) {
                (_, Some(_)) => errors.push(FieldError::new(&field.name, "too_many_files", "Attach one file only.")),
                (None, None) if field.required => errors.push(FieldError::new(&field.name, "required", "Attach a file.")),
                (None, None) => {}
                (Some(file), None) => match check_file(field, file) {
                    Ok(accepted) => files.push(accepted),
                    Err(e) => errors.push(e),
                },
            }
            continue;
        }
        match check_value(field, raw.fields.get(&field.name)) {
            Ok(Some(value)) => {
                fields.insert(field.name.clone(), value);
            }
            Ok(None) if field.required => errors.push(FieldError::new(&field.name, "required", "This field is required.")),
            Ok(None) => {}
            Err(e) => errors.push(e),
        }
        // A required checkbox ("I agree") is only answered by ticking it.
        if field.required && field.kind == FieldKind::Checkbox && fields.get(&field.name) == Some(&Value::Bool(false)) {
            fields.remove(&field.name);
            errors.push(FieldError::new(&field.name, "required", "Tick this box to continue."));
        }
    }
    for file in &raw.files {
        if manifest.field(&file.field).is_none_or(|f| f.kind != FieldKind::File) {
            errors.push(FieldError::new(&file.field, "unexpected_file", "This field does not take a file."));
        }
    }

    let mut add_ons: Vec<AddOn> = Vec::new();
    for id in &raw.add_ons {
        match manifest.add_on(id) {
            Some(a) if !add_ons.contains(a) => add_ons.push(a.clone()),
            Some(_) => {}
            None => errors.push(FieldError::new("add_ons", "unknown_add_on", format!("'{id}' is not offered by this app."))),
        }
    }

    let tip = match check_tip(manifest, raw.tip.as_ref()) {
        Ok(tip) => tip,
        Err(e) => {
            errors.push(e);
            0
        }
    };
    let bid = match check_bid(manifest, raw.bid.as_ref()) {
        Ok(bid) => bid,
        Err(e) => {
            errors.push(e);
            None
        }
    };
    let chosen = match check_pay_with(manifest, raw.pay_with.as_deref(), tip) {
        Ok(chosen) => chosen,
        Err(e) => {
            errors.push(e);
            None
        }
    };

    if !errors.is_empty() {
        return Err(errors);
    }
    let mut lines = price_lines(manifest, &fields, &add_ons, tip);
    if let Some(bid) = bid {
        lines.insert(0, PriceLine { label: format!("Bid: {}", manifest.title), amount: bid });
    }
    let total = lines.iter().fold(0u64, |sum, l| sum.saturating_add(l.amount));
    let payment = match chosen {
        _ if total == 0 => Payment::Free,
        Some(p) => p,
        None => Payment::Provider(manifest.pricing.providers[0]),
    };
    Ok(Submission { fields, add_ons, files, lines, price: Money::new(total, manifest.pricing.currency.clone()), payment })
}

impl Submission {
    /// Takes `bps` basis points off every line but the tip (rounded half up per line), and
    /// says so in each line's label. Subscriber discounts use it.
    pub(crate) fn discount(&mut self, bps: u32, because: &str) {
        if bps == 0 {
            return;
        }
        for line in self.lines.iter_mut().filter(|l| l.label != TIP_LABEL) {
            let off = crate::money::stripe::application_fee(line.amount, bps.min(10_000));
            if off > 0 {
                line.amount -= off;
                line.label = format!("{} ({because})", line.label);
            }
        }
        self.price.amount = self.lines.iter().fold(0u64, |sum, l| sum.saturating_add(l.amount));
        if self.price.amount == 0 && matches!(self.payment, Payment::Provider(_)) {
            self.payment = Payment::Free;
        }
    }

    /// The request is paid from the fan's credit balance: one line saying so, nothing to charge.
    pub(crate) fn paid_with_credits(&mut self, label: String) {
        self.lines = vec![PriceLine { label, amount: 0 }];
        self.price.amount = 0;
    }
}

/// `pay_with`: a provider the app takes, or `credits` when it sells credit packs.
fn check_pay_with(manifest: &Manifest, pay_with: Option<&str>, tip: u64) -> Result<Option<Payment>, FieldError> {
    let Some(choice) = pay_with.map(str::trim).filter(|s| !s.is_empty()) else { return Ok(None) };
    if choice == "credits" {
        if manifest.pricing.credit_packs.is_empty() {
            return Err(FieldError::new("pay_with", "credits_not_accepted", "This app does not sell credit packs."));
        }
        if tip > 0 {
            return Err(FieldError::new("tip", "tip_needs_card", "A tip is money; pay by card to add one."));
        }
        return Ok(Some(Payment::Credits(manifest.pricing.credits_per_request)));
    }
    let offered = || manifest.pricing.providers.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(", ");
    match manifest.pricing.providers.iter().find(|p| p.as_str() == choice) {
        Some(p) => Ok(Some(Payment::Provider(*p))),
        None => Err(FieldError::new(
            "pay_with",
            "payment_method_not_accepted",
            format!("Pay with one of: {}{}.", offered(), if manifest.pricing.credit_packs.is_empty() { "" } else { ", credits" }),
        )),
    }
}

/// An auction app needs a bid of at least its starting bid; other apps take none. Whether the
/// bid beats the others is the auction's call, not the form's.
fn check_bid(manifest: &Manifest, bid: Option<&Value>) -> Result<Option<u64>, FieldError> {
    let sent = match bid {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => {
            Some(n.as_u64().ok_or_else(|| FieldError::new("bid", "invalid_bid", "A bid is a whole number of the currency's smallest unit (cents)."))?)
        }
        Some(Value::String(s)) => Some(
            s.trim().parse::<u64>().map_err(|_| FieldError::new("bid", "invalid_bid", "A bid is a whole number of the currency's smallest unit (cents)."))?,
        ),
        Some(_) => return Err(FieldError::new("bid", "invalid_bid", "A bid is a whole number of the currency's smallest unit (cents).")),
    };
    match (&manifest.auction, sent) {
        (None, None) => Ok(None),
        (None, Some(_)) => Err(FieldError::new("bid", "bids_not_accepted", "This app is not an auction.")),
        (Some(_), None) => Err(FieldError::new("bid", "required", "Enter your bid.")),
        (Some(rules), Some(amount)) if amount < rules.starting_bid => Err(FieldError::new(
            "bid",
            "bid_too_low",
            format!("Bids start at {}.", Money::new(rules.starting_bid, manifest.pricing.currency.clone()).display()),
        )),
        (Some(_), Some(amount)) if amount > MAX_BID => {
            Err(FieldError::new("bid", "bid_too_high", format!("Bids go up to {}.", Money::new(MAX_BID, manifest.pricing.currency.clone()).display())))
        }
        (Some(_), Some(amount)) => Ok(Some(amount)),
    }
}

/// The highest bid taken (in minor units): far above any real slot, far below where amounts
/// stop being exact as JavaScript numbers or fit Stripe's eight-digit limit.
pub const MAX_BID: u64 = 99_999_999;

/// What a submission says, independent of how it was spelled on the wire (JSON, form or
/// multipart with any boundary): the fields, add-ons, tip, bid, payment choice and every
/// file's bytes. The same Idempotency-Key must come with the same fingerprint. Tokens that
/// are single-use or time-bound (Turnstile, form token) are left out, so a retry may renew them.
pub fn fingerprint(raw: &RawSubmission, file_bytes: &[Vec<u8>], scope: &str) -> String {
    use sha2::{Digest, Sha256};
    let files: Vec<(String, String)> = raw.files.iter().zip(file_bytes).map(|(f, b)| (f.field.clone(), hex::encode(Sha256::digest(b)))).collect();
    let canonical = serde_json::json!({
        "scope": scope,
        "fields": raw.fields,
        "add_ons": raw.add_ons,
        "tip": raw.tip,
        "bid": raw.bid,
        "pay_with": raw.pay_with,
        "files": files,
    });
    hex::encode(Sha256::digest(serde_json::to_string(&canonical).unwrap_or_default().as_bytes()))
}

/// The server's price for a request, line by line; nothing the client says about money is
/// used except the tip, which is the fan's own choice within the manifest's bounds.
fn price_lines(manifest: &Manifest, fields: &BTreeMap<String, Value>, add_ons: &[AddOn], tip: u64) -> Vec<PriceLine> {
    let mut lines = Vec::new();
    if manifest.pricing.base > 0 {
        lines.push(PriceLine { label: manifest.title.clone(), amount: manifest.pricing.base });
    }
    for field in manifest.fields.iter().filter(|f| f.kind == FieldKind::Choice) {
        let chosen = fields.get(&field.name).and_then(Value::as_str);
        if let Some(option) = field.options.iter().find(|o| Some(o.value.as_str()) == chosen && o.price > 0) {
            lines.push(PriceLine { label: format!("{}: {}", field.label, option.value), amount: option.price });
        }
    }
    lines.extend(add_ons.iter().map(|a| PriceLine { label: a.label.clone(), amount: a.amount }));
    if tip > 0 {
        lines.push(PriceLine { label: TIP_LABEL.into(), amount: tip });
    }
    lines
}

fn check_tip(manifest: &Manifest, tip: Option<&Value>) -> Result<u64, FieldError> {
    let amount = match tip {
        None | Some(Value::Null) => return Ok(0),
        Some(Value::String(s)) if s.trim().is_empty() || s.trim() == "0" => return Ok(0),
        Some(Value::Number(n)) if n.as_u64() == Some(0) => return Ok(0),
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.trim().parse::<u64>().ok(),
        Some(_) => None,
    }
    .ok_or_else(|| FieldError::new("tip", "invalid_tip", "A tip is a whole number of the currency's smallest unit (cents)."))?;
    let Some(rules) = &manifest.pricing.tips else {
        return Err(FieldError::new("tip", "tips_not_accepted", "This app does not take tips."));
    };
    if amount < rules.min || amount > rules.max {
        let (min, max) = (Money::new(rules.min, manifest.pricing.currency.clone()), Money::new(rules.max, manifest.pricing.currency.clone()));
        return Err(FieldError::new("tip", "tip_out_of_range", format!("A tip must be between {} and {}.", min.display(), max.display())));
    }
    Ok(amount)
}

fn check_file(field: &crate::manifest::Field, file: &RawFile) -> Result<AcceptedFile, FieldError> {
    let max = field.max_bytes.unwrap_or(0);
    if file.size > max {
        return Err(FieldError::new(&field.name, "file_too_large", format!("The file is larger than {max} bytes.")));
    }
    if file.size == 0 {
        return Err(FieldError::new(&field.name, "required", "The file is empty."));
    }
    let allowed = field.accept.join(", ");
    match crate::manifest::media::sniff(&file.head) {
        Some(actual) if field.accept.iter().any(|t| t == actual) => Ok(AcceptedFile { field: field.name.clone(), media_type: actual, size: file.size }),
        _ => Err(FieldError::new(&field.name, "file_type_not_allowed", format!("Accepted types: {allowed}."))),
    }
}

fn check_value(field: &crate::manifest::Field, value: Option<&Value>) -> Result<Option<Value>, FieldError> {
    let value = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(v) => v,
    };
    if field.kind == FieldKind::Checkbox {
        return match value {
            Value::Bool(b) => Ok(Some(Value::Bool(*b))),
            Value::String(s) if matches!(s.as_str(), "on" | "true" | "1" | "yes") => Ok(Some(Value::Bool(true))),
            Value::String(s) if matches!(s.as_str(), "" | "off" | "false" | "0" | "no") => Ok(Some(Value::Bool(false))),
            _ => Err(FieldError::new(&field.name, "invalid_type", "Expected true or false.")),
        };
    }
    let Value::String(text) = value else {
        return Err(FieldError::new(&field.name, "invalid_type", "Expected text."));
    };
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let multiline = field.kind == FieldKind::Textarea;
    if text.chars().any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\t' || c == '\r'))) {
        return Err(FieldError::new(&field.name, "invalid_characters", "Remove control characters."));
    }
    let max = field.max_length.unwrap_or(match field.kind {
        FieldKind::Textarea => 2000,
        FieldKind::Email => 254,
        _ => 500,
    });
    if text.chars().count() > max {
        return Err(FieldError::new(&field.name, "too_long", format!("At most {max} characters.")));
    }
    match field.kind {
        FieldKind::Email if !is_email(text) => Err(FieldError::new(&field.name, "invalid_email", "Enter an email address like name@example.com.")),
        FieldKind::Url if !crate::util::origin::is_web_url(text) => Err(FieldError::new(&field.name, "invalid_url", "Enter an http or https link.")),
        FieldKind::Choice if !field.options.iter().any(|o| o.value == text) => Err(FieldError::new(
            &field.name,
            "invalid_choice",
            format!("Choose one of: {}.", field.options.iter().map(|o| o.value.as_str()).collect::<Vec<_>>().join(", ")),
        )),
        _ => Ok(Some(Value::String(text.to_string()))),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_fingerprint_ignores_spelling_and_renewable_tokens_but_not_content() {
        let mut a = RawSubmission::default();
        a.fields.insert("song".into(), Value::String("A".into()));
        a.fields.insert("email".into(), Value::String("x@y.z".into()));
        let mut b = RawSubmission::default();
        b.fields.insert("email".into(), Value::String("x@y.z".into()));
        b.fields.insert("song".into(), Value::String("A".into()));
        b.turnstile_token = Some("fresh".into());
        b.form_token = Some("other".into());
        assert_eq!(fingerprint(&a, &[], "ip:1"), fingerprint(&b, &[], "ip:1"));
        assert_ne!(fingerprint(&a, &[], "ip:1"), fingerprint(&a, &[], "ip:2"), "scoped to the client");
        b.add_ons.push("priority".into());
        assert_ne!(fingerprint(&a, &[], "ip:1"), fingerprint(&b, &[], "ip:1"));
        let mut c = a.clone();
        c.fields.insert("song".into(), Value::String("B".into()));
        assert_ne!(fingerprint(&a, &[], "ip:1"), fingerprint(&c, &[], "ip:1"));
    }

    use super::*;
    use crate::manifest::tests::{PIXEL, SONG};
    use serde_json::json;

    fn raw(fields: Value, add_ons: &[&str]) -> RawSubmission {
        RawSubmission { fields: fields.as_object().unwrap().clone(), add_ons: add_ons.iter().map(|s| s.to_string()).collect(), ..RawSubmission::default() }
    }

    #[test]
    fn pay_with_is_checked_against_the_manifest() {
        let song = Manifest::parse(SONG).unwrap();
        let mut r = raw(json!({"song": "Wonderwall"}), &["priority"]);
        assert_eq!(validate(&song, &r).unwrap().payment, Payment::Provider(Provider::Stripe));
        r.pay_with = Some("paypal".into());
        assert_eq!(validate(&song, &r).unwrap().payment, Payment::Provider(Provider::Paypal));
        r.pay_with = Some("credits".into());
        assert_eq!(validate(&song, &r).unwrap().payment, Payment::Credits(1));
        r.tip = Some(json!(200));
        assert_eq!(validate(&song, &r).unwrap_err()[0].code, "tip_needs_card");
        r.tip = None;
        r.pay_with = Some("gold".into());
        assert_eq!(validate(&song, &r).unwrap_err()[0].code, "payment_method_not_accepted");
        let free = raw(json!({"song": "Wonderwall"}), &[]);
        assert_eq!(validate(&song, &free).unwrap().payment, Payment::Free);
        let pixel = Manifest::parse(PIXEL).unwrap();
        let mut r = raw(json!({"subject": "a cat", "style": "static", "palette": "pastel"}), &[]);
        r.pay_with = Some("credits".into());
        assert!(validate(&pixel, &r).unwrap_err().iter().any(|e| e.code == "credits_not_accepted"));
    }

    #[test]
    fn discounts_spare_the_tip_and_round_half_up_per_line() {
        let song = Manifest::parse(SONG).unwrap();
        let mut r = raw(json!({"song": "Wonderwall"}), &["priority"]);
        r.tip = Some(json!(500));
        let mut s = validate(&song, &r).unwrap();
        s.discount(2500, "Fan club -25%");
        assert_eq!(s.lines.iter().map(|l| l.amount).collect::<Vec<_>>(), vec![225, 500]);
        assert_eq!(s.price.amount, 725);
        assert!(s.lines[0].label.ends_with("(Fan club -25%)"));
        let mut all = validate(&song, &raw(json!({"song": "Wonderwall"}), &["priority"])).unwrap();
        all.discount(10_000, "free");
        assert_eq!((all.price.amount, all.payment), (0, Payment::Free));
    }

    #[test]
    fn auction_apps_take_a_bid_and_others_refuse_one() {
        let auction = Manifest::parse(include_str!("../../../../apps/stream-slot/manifest.json")).unwrap();
        let mut r = raw(json!({"name": "Ana", "plan": "play together"}), &[]);
        assert_eq!(validate(&auction, &r).unwrap_err()[0].code, "required");
        r.bid = Some(json!(100));
        assert_eq!(validate(&auction, &r).unwrap_err()[0].code, "bid_too_low");
        r.bid = Some(json!("2500"));
        let s = validate(&auction, &r).unwrap();
        assert_eq!((s.price.amount, s.payment), (2500, Payment::Provider(Provider::Stripe)));
        let song = Manifest::parse(SONG).unwrap();
        let mut r = raw(json!({"song": "Wonderwall"}), &[]);
        r.bid = Some(json!(2500));
        assert_eq!(validate(&song, &r).unwrap_err()[0].code, "bids_not_accepted");
    }

    #[test]
    fn free_song_request_is_free_and_priority_costs_three_dollars() {
        let m = Manifest::parse(SONG).unwrap();
        let free = validate(&m, &raw(json!({"song": " Africa ", "artist": "Toto"}), &[])).unwrap();
        assert_eq!(free.fields["song"], "Africa");
        assert!(free.price.is_zero());
        let paid = validate(&m, &raw(json!({"song": "Africa"}), &["priority", "priority"])).unwrap();
        assert_eq!(paid.price.amount, 300);
        assert_eq!(paid.add_ons.len(), 1);
    }

    #[test]
    fn reports_every_field_problem_at_once() {
        let m = Manifest::parse(SONG).unwrap();
        let errors = validate(&m, &raw(json!({"artist": "x".repeat(121), "email": "not-an-email", "extra": 1}), &["free_money"])).unwrap_err();
        let codes: Vec<_> = errors.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert!(codes.contains(&("song", "required")));
        assert!(codes.contains(&("artist", "too_long")));
        assert!(codes.contains(&("email", "invalid_email")));
        assert!(codes.contains(&("extra", "unknown_field")));
        assert!(codes.contains(&("add_ons", "unknown_add_on")));
    }

    #[test]
    fn files_are_checked_by_content_and_size() {
        let m = Manifest::parse(PIXEL).unwrap();
        let base = json!({"subject": "a cat", "style": "static", "palette": "retro", "email": "fan@example.com"});
        let png = b"\x89PNG\r\n\x1a\nrest".to_vec();
        let file = |declared: &str, size: u64, head: Vec<u8>| RawFile { field: "reference".into(), declared_type: declared.into(), size, head };

        let mut ok = raw(base.clone(), &[]);
        ok.files.push(file("image/png", 12, png.clone()));
        let s = validate(&m, &ok).unwrap();
        assert_eq!(s.files[0].media_type, "image/png");
        assert_eq!(s.price.amount, 2500);
        assert_eq!(s.email(&m).as_deref(), Some("fan@example.com"));

        let mut lying = raw(base.clone(), &[]);
        lying.files.push(file("image/png", 12, b"MZ\x90\0".to_vec()));
        assert_eq!(validate(&m, &lying).unwrap_err()[0].code, "file_type_not_allowed");

        let mut huge = raw(base.clone(), &[]);
        huge.files.push(file("image/png", 3 * 1024 * 1024, png));
        assert_eq!(validate(&m, &huge).unwrap_err()[0].code, "file_too_large");

        let missing = raw(base, &[]);
        assert_eq!(validate(&m, &missing).unwrap_err()[0].code, "required");
    }

    #[test]
    fn priced_choices_add_ons_and_tips_make_the_lines_and_the_total() {
        let pixel = Manifest::parse(PIXEL).unwrap();
        let mut r = raw(json!({"subject": "fox", "style": "animated (4 frames)", "palette": "retro", "email": "a@b.co"}), &["rush"]);
        r.files.push(RawFile { field: "reference".into(), declared_type: "image/png".into(), size: 10, head: b"\x89PNG\r\n\x1a\n".to_vec() });
        let s = validate(&pixel, &r).unwrap();
        let lines: Vec<_> = s.lines.iter().map(|l| (l.label.as_str(), l.amount)).collect();
        assert_eq!(lines, [("Commission a 32x32 pixel icon", 2500), ("Style: animated (4 frames)", 1500), ("Rush: delivered within 48 hours", 1000)]);
        assert_eq!(s.price.amount, 5000);

        let song = Manifest::parse(SONG).unwrap();
        let mut tipped = raw(json!({"song": "Africa"}), &[]);
        tipped.tip = Some(json!(500));
        let s = validate(&song, &tipped).unwrap();
        assert_eq!((s.price.amount, s.lines.last().unwrap().label.as_str()), (500, "Tip"));
        tipped.tip = Some(json!("250"));
        assert_eq!(validate(&song, &tipped).unwrap().price.amount, 250);
        tipped.tip = Some(json!("0"));
        assert!(validate(&song, &tipped).unwrap().price.is_zero());
        for (bad, code) in [
            (json!(50), "tip_out_of_range"),
            (json!(10001), "tip_out_of_range"),
            (json!(-5), "invalid_tip"),
            (json!(2.5), "invalid_tip"),
            (json!("lots"), "invalid_tip"),
        ] {
            tipped.tip = Some(bad);
            assert_eq!(validate(&song, &tipped).unwrap_err()[0].code, code);
        }
        let mut untippable = r.clone();
        untippable.tip = Some(json!(500));
        assert_eq!(validate(&pixel, &untippable).unwrap_err()[0].code, "tips_not_accepted");
    }

    #[test]
    fn choices_and_types_are_enforced() {
        let m = Manifest::parse(PIXEL).unwrap();
        let errors = validate(&m, &raw(json!({"subject": 5, "style": "static", "palette": "neon", "email": "a@b.co"}), &[])).unwrap_err();
        let codes: Vec<_> = errors.iter().map(|e| e.code).collect();
        assert!(codes.contains(&"invalid_type"));
        assert!(codes.contains(&"invalid_choice"));
    }
}
