//! Stripe's wire formats: webhook signature verification, the events we act on, and the
//! form body for creating a Checkout Session.

use crate::money::Money;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

/// Stripe's own default: a signed event older (or newer) than this is refused.
pub const DEFAULT_TOLERANCE_SECS: i64 = 300;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureError {
    MissingHeader,
    Malformed,
    NoV1Signature,
    OutsideTolerance,
    Mismatch,
}

impl SignatureError {
    pub fn message(&self) -> &'static str {
        match self {
            Self::MissingHeader => "Stripe-Signature header is missing",
            Self::Malformed => "Stripe-Signature header is malformed",
            Self::NoV1Signature => "Stripe-Signature has no v1 signature",
            Self::OutsideTolerance => "Stripe-Signature timestamp is outside the tolerance window",
            Self::Mismatch => "no Stripe-Signature v1 signature matches the payload",
        }
    }
}

/// Checks `Stripe-Signature` (`t=<unix>,v1=<hex>[,v1=...]`) over the raw body. Any one `v1`
/// may match, so a rotated secret keeps working; `v0` and unknown schemes are ignored. The
/// timestamp must be within `tolerance` seconds either way of `now`. Comparison is constant-time.
pub fn verify_signature(header: Option<&str>, payload: &[u8], secret: &str, now: i64, tolerance: i64) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::MissingHeader)?;
    let mut timestamp = None;
    let mut candidates = Vec::new();
    for part in header.split(',') {
        let (key, value) = part.trim().split_once('=').ok_or(SignatureError::Malformed)?;
        match key {
            "t" if timestamp.is_none() => timestamp = Some(value.parse::<i64>().map_err(|_| SignatureError::Malformed)?),
            "t" => return Err(SignatureError::Malformed),
            "v1" => candidates.push(value),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if candidates.is_empty() {
        return Err(SignatureError::NoV1Signature);
    }
    // abs_diff cannot overflow, whatever timestamp a forger writes.
    if now.abs_diff(timestamp) > tolerance.unsigned_abs() {
        return Err(SignatureError::OutsideTolerance);
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).map_err(|_| SignatureError::Malformed)?;
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    let matches = candidates.iter().filter_map(|c| hex::decode(c).ok()).any(|sig| mac.clone().verify_slice(&sig).is_ok());
    if matches {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// Builds a header the way Stripe does, to check our verifier against Stripe's vector.
#[cfg(test)]
fn sign(payload: &[u8], secret: &str, timestamp: i64) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts any key length");
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(payload);
    format!("t={timestamp},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// The envelope of every Stripe event.
#[derive(Debug, Deserialize)]
pub struct Event {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// Unix seconds; orders events about one object, since Stripe may deliver them out of order.
    #[serde(default)]
    pub created: i64,
    pub data: EventData,
}

#[derive(Debug, Deserialize)]
pub struct EventData {
    pub object: serde_json::Value,
}

impl Event {
    pub fn parse(body: &[u8]) -> Result<Self, String> {
        serde_json::from_slice(body).map_err(|e| format!("not a Stripe event: {e}"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckoutOutcome {
    /// `checkout.session.completed` or `checkout.session.async_payment_succeeded`.
    Completed,
    /// `checkout.session.expired`: the fan never paid.
    Expired,
    /// `checkout.session.async_payment_failed`: a delayed method (a bank debit) completed the
    /// session unpaid and then failed, so the session will never pay nor expire.
    Failed,
}

impl CheckoutOutcome {
    /// The session is over without money: whatever it was for is given up.
    pub fn unpaid_for_good(self) -> bool {
        matches!(self, Self::Expired | Self::Failed)
    }
}

/// The parts of a Checkout Session event that move a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutEvent {
    pub outcome: CheckoutOutcome,
    pub session_id: String,
    /// `client_reference_id`: the request, credit purchase or tier signup paid for.
    pub reference: String,
    pub paid: bool,
    pub amount_total: Option<u64>,
    pub currency: Option<String>,
    pub payment_intent: Option<String>,
    /// What was bought: a request, a credit pack or a subscriber tier.
    pub purpose: Purpose,
    /// For a tier: the subscription the session started.
    pub subscription: Option<String>,
}

/// What a Checkout Session pays for; sent as `metadata[kind]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// `client_reference_id` is a request id.
    Request,
    /// `client_reference_id` is a credit purchase id.
    CreditPack,
    /// `client_reference_id` is a signup id; the subscription carries the fan and tier.
    Tier,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Request => "request",
            Self::CreditPack => "credit_pack",
            Self::Tier => "tier",
        }
    }
}

/// Reads a Checkout Session event; we put the request id in `client_reference_id` (and in
/// metadata, for the dashboard). Other events are `None`.
pub fn checkout_event(event: &Event) -> Option<CheckoutEvent> {
    let outcome = match event.kind.as_str() {
        "checkout.session.completed" | "checkout.session.async_payment_succeeded" => CheckoutOutcome::Completed,
        "checkout.session.expired" => CheckoutOutcome::Expired,
        "checkout.session.async_payment_failed" => CheckoutOutcome::Failed,
        _ => return None,
    };
    let o = &event.data.object;
    let reference = o["client_reference_id"].as_str().or_else(|| o["metadata"]["request_id"].as_str())?;
    Some(CheckoutEvent {
        outcome,
        session_id: o["id"].as_str()?.to_string(),
        reference: reference.to_string(),
        paid: o["payment_status"].as_str() == Some("paid"),
        amount_total: o["amount_total"].as_u64(),
        currency: o["currency"].as_str().map(str::to_string),
        payment_intent: o["payment_intent"].as_str().map(str::to_string),
        purpose: match o["metadata"]["kind"].as_str() {
            Some("credit_pack") => Purpose::CreditPack,
            Some("tier") => Purpose::Tier,
            _ => Purpose::Request,
        },
        subscription: o["subscription"].as_str().map(str::to_string),
    })
}

/// A subscription's state as one `customer.subscription.*` event reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionEvent {
    pub id: String,
    pub status: String,
    pub fan_id: String,
    pub app_slug: String,
    pub tier: String,
    /// Unix seconds; the tier counts until then while the status is active or trialing.
    pub current_period_end: i64,
    /// The event's own time, to ignore an older event arriving after a newer one.
    pub event_created: i64,
}

/// How far along its life each subscription status is. Event times are whole seconds, and
/// Stripe often creates a subscription `incomplete` and makes it `active` in the same second;
/// when two events of one subscription share a second, the later stage is the newer one.
const SUBSCRIPTION_STAGES: [(&str, i64); 8] =
    [("incomplete", 0), ("trialing", 1), ("active", 2), ("past_due", 3), ("unpaid", 4), ("paused", 4), ("incomplete_expired", 5), ("canceled", 5)];

/// A status column's stage in SQL (an unknown status counts as the earliest).
pub fn subscription_stage_sql(column: &str) -> String {
    let arms: String = SUBSCRIPTION_STAGES.iter().map(|(s, n)| format!(" WHEN '{s}' THEN {n}")).collect();
    format!("(CASE {column}{arms} ELSE 0 END)")
}

impl SubscriptionEvent {
    pub fn grants_tier(&self, now_secs: i64) -> bool {
        matches!(self.status.as_str(), "active" | "trialing") && self.current_period_end > now_secs
    }
}

/// `customer.subscription.created`, `.updated` and `.deleted`, for subscriptions Fanline
/// started (their metadata names the fan, app and tier).
pub fn subscription_event(event: &Event) -> Option<SubscriptionEvent> {
    if !matches!(event.kind.as_str(), "customer.subscription.created" | "customer.subscription.updated" | "customer.subscription.deleted") {
        return None;
    }
    let o = &event.data.object;
    let m = &o["metadata"];
    // Since API version 2025-03-31 the period lives on each subscription item.
    let period_end = o["current_period_end"].as_i64().or_else(|| o["items"]["data"][0]["current_period_end"].as_i64()).unwrap_or(0);
    Some(SubscriptionEvent {
        id: o["id"].as_str()?.to_string(),
        status: if event.kind == "customer.subscription.deleted" { "canceled".into() } else { o["status"].as_str()?.to_string() },
        fan_id: m["fan_id"].as_str()?.to_string(),
        app_slug: m["app"].as_str()?.to_string(),
        tier: m["tier"].as_str()?.to_string(),
        current_period_end: period_end,
        event_created: event.created,
    })
}

/// One payment of a tier (the first invoice or a renewal), from `invoice.paid`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierPayment {
    pub invoice_id: String,
    pub subscription_id: String,
    pub fan_id: String,
    pub app_slug: String,
    pub tier: String,
    pub amount: u64,
    pub currency: String,
    /// What Stripe kept for the platform (Connect invoices only).
    pub application_fee: Option<u64>,
    /// How a refund of this payment is matched to it.
    pub payment_intent: Option<String>,
    /// Unix seconds.
    pub paid_at: i64,
}

/// `invoice.paid` for a subscription Fanline started. The subscription's metadata snapshot
/// sits under `parent.subscription_details` since API version 2025-03-31, under
/// `subscription_details` before; the PaymentIntent under `payments` or at the top.
pub fn tier_payment(event: &Event) -> Option<TierPayment> {
    if event.kind != "invoice.paid" {
        return None;
    }
    let o = &event.data.object;
    let details = if o["parent"]["subscription_details"].is_object() { &o["parent"]["subscription_details"] } else { &o["subscription_details"] };
    let subscription = details["subscription"].as_str().or_else(|| o["subscription"].as_str())?;
    let m = &details["metadata"];
    let payment_intent = o["payments"]["data"]
        .as_array()
        .and_then(|ps| ps.iter().find_map(|p| p["payment"]["payment_intent"].as_str()))
        .or_else(|| o["payment_intent"].as_str());
    Some(TierPayment {
        invoice_id: o["id"].as_str()?.to_string(),
        subscription_id: subscription.to_string(),
        fan_id: m["fan_id"].as_str()?.to_string(),
        app_slug: m["app"].as_str()?.to_string(),
        tier: m["tier"].as_str()?.to_string(),
        amount: o["amount_paid"].as_u64()?,
        currency: o["currency"].as_str()?.to_string(),
        application_fee: o["application_fee_amount"].as_u64(),
        payment_intent: payment_intent.map(str::to_string),
        paid_at: o["status_transitions"]["paid_at"].as_i64().unwrap_or(event.created),
    })
}

/// Charge and dispute events, matched to a request through the PaymentIntent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChargeEvent {
    /// `charge.refunded`: `amount_refunded` is the running total; `full` when nothing is left.
    Refunded { payment_intent: String, amount_refunded: u64, full: bool },
    /// `refund.created` (sent for every refund since API version 2024-10-28): one refund,
    /// itemized. `made_here` when our API made it (its metadata names the request), so the
    /// call that made it records it; anything else was made in Stripe's dashboard.
    RefundCreated { payment_intent: String, refund_id: String, amount: u64, reason: Option<String>, made_here: bool },
    /// `charge.dispute.created`.
    DisputeOpened { payment_intent: String, dispute_id: String, amount: u64, reason: String },
    /// `charge.dispute.closed`: `won` when the creator kept the money.
    DisputeClosed { payment_intent: String, dispute_id: String, won: bool, status: String },
}

impl ChargeEvent {
    pub fn payment_intent(&self) -> &str {
        match self {
            Self::Refunded { payment_intent, .. }
            | Self::RefundCreated { payment_intent, .. }
            | Self::DisputeOpened { payment_intent, .. }
            | Self::DisputeClosed { payment_intent, .. } => payment_intent,
        }
    }
}

pub fn charge_event(event: &Event) -> Option<ChargeEvent> {
    let o = &event.data.object;
    let payment_intent = o["payment_intent"].as_str()?.to_string();
    match event.kind.as_str() {
        "charge.refunded" => {
            Some(ChargeEvent::Refunded { payment_intent, amount_refunded: o["amount_refunded"].as_u64()?, full: o["refunded"].as_bool().unwrap_or(false) })
        }
        // A refund that failed or was canceled gave nothing back.
        "refund.created" if !matches!(o["status"].as_str(), Some("failed" | "canceled")) => Some(ChargeEvent::RefundCreated {
            payment_intent,
            refund_id: o["id"].as_str()?.to_string(),
            amount: o["amount"].as_u64()?,
            reason: o["reason"].as_str().map(str::to_string),
            made_here: o["metadata"]["request_id"].is_string(),
        }),
        "charge.dispute.created" => Some(ChargeEvent::DisputeOpened {
            payment_intent,
            dispute_id: o["id"].as_str()?.to_string(),
            amount: o["amount"].as_u64().unwrap_or(0),
            reason: o["reason"].as_str().unwrap_or("general").to_string(),
        }),
        "charge.dispute.closed" => {
            let status = o["status"].as_str()?.to_string();
            Some(ChargeEvent::DisputeClosed {
                payment_intent,
                dispute_id: o["id"].as_str()?.to_string(),
                won: status == "won" || status == "warning_closed",
                status,
            })
        }
        _ => None,
    }
}

/// Form body for `POST /v1/refunds`. Refunding a destination charge takes the money back from
/// the creator's connected account and returns the marketplace's fee in proportion, so
/// neither keeps a cut of money the fan got back.
pub fn refund_form(payment_intent: &str, amount: u64, request_id: &str, reason: Option<&str>, destination_charge: bool) -> String {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("payment_intent", payment_intent);
    form.append_pair("amount", &amount.to_string());
    if destination_charge {
        form.append_pair("reverse_transfer", "true");
        form.append_pair("refund_application_fee", "true");
    }
    form.append_pair("metadata[request_id]", request_id);
    if let Some(reason) = reason {
        form.append_pair("metadata[reason]", reason);
    }
    form.finish()
}

pub struct CheckoutLine {
    pub name: String,
    pub amount: Money,
}

/// Everything a Checkout Session needs.
pub struct CheckoutRequest<'a> {
    /// The id of what is paid for (see `Purpose`); the session's `client_reference_id`.
    pub reference: &'a str,
    pub purpose: Purpose,
    pub app_slug: &'a str,
    pub lines: &'a [CheckoutLine],
    pub success_url: &'a str,
    pub cancel_url: &'a str,
    pub customer_email: Option<&'a str>,
    /// Only authorize the card (`capture_method=manual`); capture when the creator accepts.
    pub hold: bool,
    /// A destination charge: the creator's connected account receives the payment and the
    /// marketplace keeps `application_fee` (minor units).
    pub connect: Option<Connect<'a>>,
    /// A subscription billed every interval (a tier) instead of a one-off payment.
    pub subscription: Option<Subscription<'a>>,
    /// When the session stops taking payment (Unix seconds; Stripe allows 30 min to 24 h).
    pub expires_at: Option<i64>,
}

pub struct Subscription<'a> {
    pub interval: crate::money::amount::Interval,
    pub fan_id: &'a str,
    pub tier: &'a str,
    /// The marketplace's share of each invoice, as Stripe wants it for subscriptions.
    pub platform_fee_bps: u32,
}

pub struct Connect<'a> {
    pub destination: &'a str,
    pub application_fee: u64,
}

/// The marketplace's cut: `bps` basis points of `total`, rounded half up, in minor units.
pub fn application_fee(total: u64, bps: u32) -> u64 {
    ((u128::from(total) * u128::from(bps) + 5_000) / 10_000) as u64
}

/// Form body for `POST /v1/checkout/sessions`, Stripe's bracketed form encoding.
pub fn checkout_session_form(c: &CheckoutRequest) -> String {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    if let Some(at) = c.expires_at {
        form.append_pair("expires_at", &at.to_string());
    }
    let reference_key = match c.purpose {
        Purpose::Request => "request_id",
        Purpose::CreditPack => "credit_purchase_id",
        Purpose::Tier => "signup_id",
    };
    if let Some(sub) = &c.subscription {
        form.append_pair("mode", "subscription");
        if let Some(connect) = &c.connect {
            // Fee percent allows two decimals: basis points / 100.
            form.append_pair("subscription_data[application_fee_percent]", &format!("{}.{:02}", sub.platform_fee_bps / 100, sub.platform_fee_bps % 100));
            form.append_pair("subscription_data[transfer_data][destination]", connect.destination);
        }
        for (key, value) in [("kind", c.purpose.as_str()), ("app", c.app_slug), ("fan_id", sub.fan_id), ("tier", sub.tier)] {
            form.append_pair(&format!("subscription_data[metadata][{key}]"), value);
        }
    } else {
        form.append_pair("mode", "payment");
        if c.hold {
            form.append_pair("payment_intent_data[capture_method]", "manual");
        }
        if let Some(connect) = &c.connect {
            form.append_pair("payment_intent_data[application_fee_amount]", &connect.application_fee.to_string());
            form.append_pair("payment_intent_data[transfer_data][destination]", connect.destination);
        }
        form.append_pair(&format!("payment_intent_data[metadata][{reference_key}]"), c.reference);
        form.append_pair("payment_intent_data[metadata][kind]", c.purpose.as_str());
    }
    form.append_pair("client_reference_id", c.reference);
    form.append_pair("success_url", c.success_url);
    form.append_pair("cancel_url", c.cancel_url);
    form.append_pair(&format!("metadata[{reference_key}]"), c.reference);
    form.append_pair("metadata[kind]", c.purpose.as_str());
    form.append_pair("metadata[app]", c.app_slug);
    if let Some(email) = c.customer_email {
        form.append_pair("customer_email", email);
    }
    for (i, line) in c.lines.iter().enumerate() {
        let p = format!("line_items[{i}]");
        form.append_pair(&format!("{p}[quantity]"), "1");
        form.append_pair(&format!("{p}[price_data][currency]"), line.amount.currency.as_str());
        form.append_pair(&format!("{p}[price_data][unit_amount]"), &line.amount.amount.to_string());
        form.append_pair(&format!("{p}[price_data][product_data][name]"), &line.name);
        if let Some(sub) = &c.subscription {
            form.append_pair(&format!("{p}[price_data][recurring][interval]"), sub.interval.as_str());
        }
    }
    form.finish()
}

#[cfg(test)]
mod tests {
    #[test]
    fn extreme_timestamps_are_refused_without_overflow() {
        for t in [i64::MIN, i64::MIN + 1, i64::MAX, -1] {
            let header = format!("t={t},v1=00");
            assert_eq!(verify_signature(Some(&header), b"{}", "whsec_x", 1_700_000_000, DEFAULT_TOLERANCE_SECS), Err(SignatureError::OutsideTolerance), "{t}");
        }
    }

    use super::*;

    const SECRET: &str = "whsec_test_secret";
    const BODY: &[u8] = br#"{"id":"evt_test_webhook","object":"event"}"#;
    const T: i64 = 1492774577;
    const V1: &str = "88a022085c6bdb887b02cb26ff76dd681234d9675c0f22844059f55552a8883a";

    #[test]
    fn accepts_the_independent_vector() {
        let header = format!("t={T},v1={V1}");
        assert_eq!(verify_signature(Some(&header), BODY, SECRET, T, 300), Ok(()));
        assert_eq!(sign(BODY, SECRET, T), header);
    }

    #[test]
    fn any_v1_may_match_and_v0_is_ignored() {
        let other = "0".repeat(64);
        let header = format!("t={T},v1={other},v1={V1},v0={other}");
        assert_eq!(verify_signature(Some(&header), BODY, SECRET, T, 300), Ok(()));
        let first_only = format!("t={T},v1={V1},v1={other}");
        assert_eq!(verify_signature(Some(&first_only), BODY, SECRET, T, 300), Ok(()));
        let v0_only = format!("t={T},v0={V1}");
        assert_eq!(verify_signature(Some(&v0_only), BODY, SECRET, T, 300), Err(SignatureError::NoV1Signature));
    }

    #[test]
    fn tolerance_applies_both_ways() {
        let header = format!("t={T},v1={V1}");
        assert_eq!(verify_signature(Some(&header), BODY, SECRET, T + 300, 300), Ok(()));
        assert_eq!(verify_signature(Some(&header), BODY, SECRET, T + 301, 300), Err(SignatureError::OutsideTolerance));
        assert_eq!(verify_signature(Some(&header), BODY, SECRET, T - 301, 300), Err(SignatureError::OutsideTolerance));
    }

    #[test]
    fn rejects_tampering_and_garbage() {
        let header = format!("t={T},v1={V1}");
        assert_eq!(verify_signature(Some(&header), b"{}", SECRET, T, 300), Err(SignatureError::Mismatch));
        assert_eq!(verify_signature(Some(&header), BODY, "whsec_other", T, 300), Err(SignatureError::Mismatch));
        assert_eq!(verify_signature(None, BODY, SECRET, T, 300), Err(SignatureError::MissingHeader));
        for bad in ["", "garbage", "t=abc,v1=00", &format!("v1={V1}"), &format!("t={T},t={T},v1={V1}")] {
            assert_eq!(verify_signature(Some(bad), BODY, SECRET, T, 300), Err(SignatureError::Malformed), "{bad}");
        }
        let not_hex = format!("t={T},v1=zz");
        assert_eq!(verify_signature(Some(&not_hex), BODY, SECRET, T, 300), Err(SignatureError::Mismatch));
    }

    #[test]
    fn a_later_stage_wins_within_one_second() {
        let stage = |status: &str| SUBSCRIPTION_STAGES.iter().find(|(s, _)| *s == status).map(|(_, n)| *n);
        assert!(stage("active") > stage("incomplete"));
        assert!(stage("canceled") > stage("active"));
        let sql = subscription_stage_sql("s.status");
        assert!(sql.starts_with("(CASE s.status WHEN 'incomplete' THEN 0") && sql.contains(" WHEN 'active' THEN 2") && sql.ends_with(" ELSE 0 END)"), "{sql}");
    }

    #[test]
    fn reads_checkout_session_events() {
        let event = Event::parse(
            br#"{"id":"evt_1","type":"checkout.session.completed","data":{"object":{"id":"cs_1","client_reference_id":"req_x","payment_status":"paid","amount_total":300,"currency":"usd","payment_intent":"pi_1"}}}"#,
        )
        .unwrap();
        let c = checkout_event(&event).unwrap();
        assert_eq!(
            (c.outcome, c.session_id.as_str(), c.reference.as_str(), c.paid, c.amount_total),
            (CheckoutOutcome::Completed, "cs_1", "req_x", true, Some(300))
        );
        let expired = Event::parse(
            br#"{"id":"evt_3","type":"checkout.session.expired","data":{"object":{"id":"cs_1","metadata":{"request_id":"req_y"},"payment_status":"unpaid"}}}"#,
        )
        .unwrap();
        let e = checkout_event(&expired).unwrap();
        assert_eq!((e.outcome, e.reference.as_str(), e.paid), (CheckoutOutcome::Expired, "req_y", false));
        let failed = Event::parse(
            br#"{"id":"evt_4","type":"checkout.session.async_payment_failed","data":{"object":{"id":"cs_2","client_reference_id":"req_z","payment_status":"unpaid"}}}"#,
        )
        .unwrap();
        let f = checkout_event(&failed).unwrap();
        assert_eq!((f.outcome, f.reference.as_str(), f.paid), (CheckoutOutcome::Failed, "req_z", false));
        assert!(f.outcome.unpaid_for_good() && e.outcome.unpaid_for_good() && !c.outcome.unpaid_for_good());
        let other = Event::parse(br#"{"id":"evt_2","type":"charge.succeeded","data":{"object":{}}}"#).unwrap();
        assert!(checkout_event(&other).is_none());
    }

    #[test]
    fn application_fees_round_half_up_in_minor_units() {
        assert_eq!(application_fee(2500, 1000), 250);
        assert_eq!(application_fee(1999, 500), 100); // 99.95 -> 100
        assert_eq!(application_fee(1, 1000), 0);
        assert_eq!(application_fee(5, 1000), 1); // 0.5 -> 1
        assert_eq!(application_fee(0, 1000), 0);
        assert_eq!(application_fee(u64::MAX, 10_000), u64::MAX);
    }

    #[test]
    fn reads_refund_and_dispute_events() {
        let refunded = Event::parse(br#"{"id":"evt_r","type":"charge.refunded","data":{"object":{"id":"ch_1","payment_intent":"pi_1","amount":500,"amount_refunded":200,"refunded":false}}}"#).unwrap();
        assert_eq!(charge_event(&refunded), Some(ChargeEvent::Refunded { payment_intent: "pi_1".into(), amount_refunded: 200, full: false }));
        let opened = Event::parse(br#"{"id":"evt_d","type":"charge.dispute.created","data":{"object":{"id":"dp_1","payment_intent":"pi_1","amount":500,"reason":"fraudulent","status":"needs_response"}}}"#).unwrap();
        assert!(matches!(charge_event(&opened), Some(ChargeEvent::DisputeOpened { ref reason, amount: 500, .. }) if reason == "fraudulent"));
        let lost =
            Event::parse(br#"{"id":"evt_c","type":"charge.dispute.closed","data":{"object":{"id":"dp_1","payment_intent":"pi_1","status":"lost"}}}"#).unwrap();
        assert!(matches!(charge_event(&lost), Some(ChargeEvent::DisputeClosed { won: false, .. })));
        let dashboard = Event::parse(
            br#"{"id":"evt_d","type":"refund.created","data":{"object":{"id":"re_1","object":"refund","amount":300,"payment_intent":"pi_1","status":"succeeded","reason":"requested_by_customer","metadata":{}}}}"#,
        )
        .unwrap();
        assert_eq!(
            charge_event(&dashboard),
            Some(ChargeEvent::RefundCreated {
                payment_intent: "pi_1".into(),
                refund_id: "re_1".into(),
                amount: 300,
                reason: Some("requested_by_customer".into()),
                made_here: false
            })
        );
        let ours = Event::parse(br#"{"id":"evt_o","type":"refund.created","data":{"object":{"id":"re_2","amount":300,"payment_intent":"pi_1","status":"pending","metadata":{"request_id":"req_1"}}}}"#).unwrap();
        assert!(matches!(charge_event(&ours), Some(ChargeEvent::RefundCreated { made_here: true, reason: None, .. })));
        let failed =
            Event::parse(br#"{"id":"evt_f","type":"refund.created","data":{"object":{"id":"re_3","amount":300,"payment_intent":"pi_1","status":"failed"}}}"#)
                .unwrap();
        assert_eq!(charge_event(&failed), None, "a failed refund gave nothing back");
        let no_intent = Event::parse(br#"{"id":"evt_x","type":"charge.refunded","data":{"object":{"id":"ch_1"}}}"#).unwrap();
        assert_eq!(charge_event(&no_intent), None);
        assert_eq!(
            refund_form("pi_1", 200, "req_1", Some("late"), false),
            "payment_intent=pi_1&amount=200&metadata%5Brequest_id%5D=req_1&metadata%5Breason%5D=late"
        );
        assert!(refund_form("pi_1", 200, "req_1", None, true).contains("reverse_transfer=true&refund_application_fee=true"));
    }

    #[test]
    fn checkout_form_uses_stripe_brackets() {
        let usd = crate::money::Currency::parse("usd").unwrap();
        let lines = [CheckoutLine { name: "Priority & more".into(), amount: Money::new(300, usd) }];
        let form = checkout_session_form(&CheckoutRequest {
            expires_at: None,
            reference: "req_1",
            purpose: Purpose::Request,
            app_slug: "song-request",
            lines: &lines,
            success_url: "https://x/ok",
            cancel_url: "https://x/no",
            customer_email: Some("fan@example.com"),
            hold: true,
            connect: Some(Connect { destination: "acct_123", application_fee: 30 }),
            subscription: None,
        });
        assert!(form.contains("payment_intent_data%5Bapplication_fee_amount%5D=30"));
        assert!(form.contains("payment_intent_data%5Btransfer_data%5D%5Bdestination%5D=acct_123"));
        assert!(form.contains("payment_intent_data%5Bcapture_method%5D=manual"));
        assert!(form.contains("client_reference_id=req_1"));
        assert!(form.contains("line_items%5B0%5D%5Bprice_data%5D%5Bunit_amount%5D=300"));
        assert!(form.contains("Priority+%26+more"));
        assert!(form.contains("customer_email=fan%40example.com"));
        assert!(form.contains("metadata%5Bkind%5D=request"));
    }

    #[test]
    fn tier_sessions_are_subscriptions_that_carry_the_fan_and_tier() {
        let usd = crate::money::Currency::parse("usd").unwrap();
        let lines = [CheckoutLine { name: "Fan club".into(), amount: Money::new(500, usd) }];
        let form = checkout_session_form(&CheckoutRequest {
            expires_at: None,
            reference: "fan_1",
            purpose: Purpose::Tier,
            app_slug: "song-request",
            lines: &lines,
            success_url: "https://x/ok",
            cancel_url: "https://x/no",
            customer_email: None,
            hold: false,
            connect: Some(Connect { destination: "acct_123", application_fee: 0 }),
            subscription: Some(Subscription { interval: crate::money::amount::Interval::Month, fan_id: "fan_1", tier: "fan_club", platform_fee_bps: 1050 }),
        });
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(form.as_bytes()).into_owned().collect();
        let has = |k: &str, v: &str| pairs.iter().any(|(a, b)| a == k && b == v);
        assert!(has("mode", "subscription"));
        assert!(has("line_items[0][price_data][recurring][interval]", "month"));
        assert!(has("subscription_data[metadata][tier]", "fan_club"));
        assert!(has("subscription_data[application_fee_percent]", "10.50"));
        assert!(!pairs.iter().any(|(k, _)| k.starts_with("payment_intent_data")));
    }

    #[test]
    fn reads_subscription_events_and_their_period() {
        let updated = Event::parse(br#"{"id":"evt_s","type":"customer.subscription.updated","created":1700000100,"data":{"object":{"id":"sub_1","status":"active","metadata":{"fan_id":"fan_1","app":"song-request","tier":"fan_club"},"items":{"data":[{"current_period_end":1702592000}]}}}}"#).unwrap();
        let s = subscription_event(&updated).unwrap();
        assert_eq!((s.id.as_str(), s.status.as_str(), s.current_period_end, s.event_created), ("sub_1", "active", 1702592000, 1700000100));
        assert!(s.grants_tier(1700000200));
        assert!(!s.grants_tier(1702592000));
        let deleted = Event::parse(br#"{"id":"evt_d","type":"customer.subscription.deleted","created":1,"data":{"object":{"id":"sub_1","status":"active","current_period_end":5,"metadata":{"fan_id":"fan_1","app":"song-request","tier":"fan_club"}}}}"#).unwrap();
        assert!(!subscription_event(&deleted).unwrap().grants_tier(0));
        let foreign =
            Event::parse(br#"{"id":"evt_f","type":"customer.subscription.updated","data":{"object":{"id":"sub_2","status":"active","metadata":{}}}}"#).unwrap();
        assert_eq!(subscription_event(&foreign), None);
    }

    #[test]
    fn reads_a_tier_payment_in_both_invoice_shapes() {
        let basil = Event::parse(br#"{"id":"evt_i","type":"invoice.paid","created":1700000300,"data":{"object":{"id":"in_1","amount_paid":500,"currency":"usd","application_fee_amount":25,
            "parent":{"type":"subscription_details","subscription_details":{"subscription":"sub_1","metadata":{"fan_id":"fan_1","app":"song-request","tier":"fan_club"}}},
            "payments":{"data":[{"payment":{"type":"payment_intent","payment_intent":"pi_9"}}]},"status_transitions":{"paid_at":1700000200}}}}"#)
        .unwrap();
        let p = tier_payment(&basil).unwrap();
        assert_eq!(
            (p.invoice_id.as_str(), p.subscription_id.as_str(), p.fan_id.as_str(), p.app_slug.as_str(), p.tier.as_str()),
            ("in_1", "sub_1", "fan_1", "song-request", "fan_club")
        );
        assert_eq!((p.amount, p.application_fee, p.payment_intent.as_deref(), p.paid_at), (500, Some(25), Some("pi_9"), 1700000200));
        let older = Event::parse(br#"{"id":"evt_j","type":"invoice.paid","created":1700000400,"data":{"object":{"id":"in_2","amount_paid":500,"currency":"usd","subscription":"sub_1","payment_intent":"pi_8",
            "subscription_details":{"metadata":{"fan_id":"fan_1","app":"song-request","tier":"fan_club"}}}}}"#)
        .unwrap();
        let p = tier_payment(&older).unwrap();
        assert_eq!((p.subscription_id.as_str(), p.application_fee, p.payment_intent.as_deref(), p.paid_at), ("sub_1", None, Some("pi_8"), 1700000400));
        let someone_elses = Event::parse(br#"{"id":"evt_k","type":"invoice.paid","data":{"object":{"id":"in_3","amount_paid":900,"currency":"usd","subscription":"sub_x","subscription_details":{"metadata":{}}}}}"#).unwrap();
        assert_eq!(tier_payment(&someone_elses), None);
        let failed = Event::parse(br#"{"id":"evt_l","type":"invoice.payment_failed","data":{"object":{"id":"in_4"}}}"#).unwrap();
        assert_eq!(tier_payment(&failed), None);
    }
}
