//! PayPal's wire formats for one-off payments: the Orders v2 body, amounts as decimal text,
//! and the webhook events we act on. PayPal signs webhooks with certificates; we ask its
//! verify-webhook-signature API rather than verify them ourselves.

use crate::money::Money;
use serde_json::{json, Value};

/// PayPal writes amounts as decimal strings in major units: 1500 cents is `"15.00"`.
pub fn amount_value(money: &Money) -> String {
    match money.currency.decimals() {
        0 => money.amount.to_string(),
        d => {
            let unit = 10u64.pow(d);
            format!("{}.{:0w$}", money.amount / unit, money.amount % unit, w = d as usize)
        }
    }
}

/// Reads a PayPal amount back into minor units; `None` unless it is exact.
pub fn parse_amount(value: &str, currency: &crate::money::Currency) -> Option<u64> {
    let d = currency.decimals() as usize;
    let (major, minor) = value.split_once('.').unwrap_or((value, ""));
    if major.is_empty() || !major.bytes().all(|b| b.is_ascii_digit()) || minor.len() > d || !minor.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let minor = format!("{minor:0<d$}");
    major.parse::<u64>().ok()?.checked_mul(10u64.pow(d as u32))?.checked_add(if d == 0 { 0 } else { minor.parse().ok()? })
}

/// `POST /v2/checkout/orders` for one request: capture on approval, the request id as both
/// reference and custom id so every later event leads back to it.
pub fn order_body(request_id: &str, description: &str, price: &Money, return_url: &str, cancel_url: &str) -> Value {
    json!({
        "intent": "CAPTURE",
        "purchase_units": [{
            "reference_id": request_id,
            "custom_id": request_id,
            "description": description.chars().take(127).collect::<String>(),
            "amount": {"currency_code": price.currency.as_str().to_ascii_uppercase(), "value": amount_value(price)},
        }],
        "payment_source": {"paypal": {"experience_context": {
            "return_url": return_url,
            "cancel_url": cancel_url,
            "user_action": "PAY_NOW",
            "shipping_preference": "NO_SHIPPING",
        }}},
    })
}

/// Where the fan approves an order: the `payer-action` link (or `approve`, in older responses).
pub fn approve_url(order: &Value) -> Option<&str> {
    order["links"].as_array()?.iter().find(|l| matches!(l["rel"].as_str(), Some("payer-action" | "approve")))?["href"].as_str()
}

/// The completed capture in a capture-order response.
pub fn completed_capture(order: &Value) -> Option<(&str, &Value)> {
    let capture = &order["purchase_units"][0]["payments"]["captures"][0];
    (capture["status"] == "COMPLETED").then_some(())?;
    Some((capture["id"].as_str()?, &capture["amount"]))
}

/// The webhook events that move a PayPal-paid request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// `CHECKOUT.ORDER.APPROVED`: the fan approved but may never come back; we capture.
    OrderApproved { order_id: String, request_id: String },
    /// `PAYMENT.CAPTURE.COMPLETED`: the money is taken.
    CaptureCompleted { capture_id: String, order_id: Option<String>, request_id: String, amount: String, currency: String },
    /// `PAYMENT.CAPTURE.REFUNDED`: a refund of part or all of a capture.
    CaptureRefunded { refund_id: String, capture_id: String, amount: String, currency: String },
}

/// `(event id, event type, what it means for us)`; unknown types are `None` in the third place.
pub fn parse_event(body: &[u8]) -> Result<(String, String, Option<Event>), String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("not a PayPal event: {e}"))?;
    let id = v["id"].as_str().ok_or("a PayPal event has an id")?.to_string();
    let kind = v["event_type"].as_str().ok_or("a PayPal event has an event_type")?.to_string();
    let r = &v["resource"];
    let event = match kind.as_str() {
        "CHECKOUT.ORDER.APPROVED" => {
            (|| Some(Event::OrderApproved { order_id: r["id"].as_str()?.into(), request_id: r["purchase_units"][0]["custom_id"].as_str()?.into() }))()
        }
        "PAYMENT.CAPTURE.COMPLETED" => (|| {
            Some(Event::CaptureCompleted {
                capture_id: r["id"].as_str()?.into(),
                order_id: r["supplementary_data"]["related_ids"]["order_id"].as_str().map(str::to_string),
                request_id: r["custom_id"].as_str()?.into(),
                amount: r["amount"]["value"].as_str()?.into(),
                currency: r["amount"]["currency_code"].as_str()?.to_ascii_lowercase(),
            })
        })(),
        "PAYMENT.CAPTURE.REFUNDED" => (|| {
            // A refund names its capture through its `up` link.
            let up = r["links"].as_array()?.iter().find(|l| l["rel"] == "up")?["href"].as_str()?;
            Some(Event::CaptureRefunded {
                refund_id: r["id"].as_str()?.into(),
                capture_id: up.rsplit('/').next()?.into(),
                amount: r["amount"]["value"].as_str()?.into(),
                currency: r["amount"]["currency_code"].as_str()?.to_ascii_lowercase(),
            })
        })(),
        _ => None,
    };
    Ok((id, kind, event))
}

/// The body for `POST /v1/notifications/verify-webhook-signature`, from the transmission
/// headers PayPal sent and the event byte for byte as received (PayPal's signature covers a
/// CRC32 of the raw body, so re-serialising it could fail verification).
pub fn verification_body(headers: &TransmissionHeaders, webhook_id: &str, raw_event: &str) -> String {
    let head = json!({
        "auth_algo": headers.auth_algo,
        "cert_url": headers.cert_url,
        "transmission_id": headers.transmission_id,
        "transmission_sig": headers.transmission_sig,
        "transmission_time": headers.transmission_time,
        "webhook_id": webhook_id,
    })
    .to_string();
    format!("{},\"webhook_event\":{}}}", &head[..head.len() - 1], raw_event)
}

pub struct TransmissionHeaders {
    pub auth_algo: String,
    pub cert_url: String,
    pub transmission_id: String,
    pub transmission_sig: String,
    pub transmission_time: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;

    #[test]
    fn amounts_are_exact_decimal_text_both_ways() {
        let usd = Currency::parse("usd").unwrap();
        let jpy = Currency::parse("jpy").unwrap();
        assert_eq!(amount_value(&Money::new(1505, usd.clone())), "15.05");
        assert_eq!(amount_value(&Money::new(5, usd.clone())), "0.05");
        assert_eq!(amount_value(&Money::new(500, jpy.clone())), "500");
        assert_eq!(parse_amount("15.05", &usd), Some(1505));
        assert_eq!(parse_amount("15.5", &usd), Some(1550));
        assert_eq!(parse_amount("15", &usd), Some(1500));
        assert_eq!(parse_amount("15.055", &usd), None);
        assert_eq!(parse_amount("-1.00", &usd), None);
        assert_eq!(parse_amount("500", &jpy), Some(500));
        assert_eq!(parse_amount("", &usd), None);
    }

    #[test]
    fn orders_carry_the_request_and_read_back() {
        let body = order_body("req_1", "Song", &Money::new(300, Currency::parse("usd").unwrap()), "https://x/r", "https://x/c");
        assert_eq!(body["purchase_units"][0]["amount"], json!({"currency_code": "USD", "value": "3.00"}));
        assert_eq!(body["purchase_units"][0]["custom_id"], "req_1");
        let order = json!({"id": "O1", "links": [{"rel": "self", "href": "s"}, {"rel": "payer-action", "href": "https://pp/approve"}]});
        assert_eq!(approve_url(&order), Some("https://pp/approve"));
        let captured = json!({"purchase_units": [{"payments": {"captures": [{"id": "C1", "status": "COMPLETED", "amount": {"value": "3.00"}}]}}]});
        assert_eq!(completed_capture(&captured).map(|c| c.0), Some("C1"));
    }

    #[test]
    fn reads_the_events_we_act_on() {
        let (id, _, e) = parse_event(br#"{"id":"WH-1","event_type":"PAYMENT.CAPTURE.COMPLETED","resource":{"id":"C1","custom_id":"req_1","amount":{"value":"3.00","currency_code":"USD"},"supplementary_data":{"related_ids":{"order_id":"O1"}}}}"#).unwrap();
        assert_eq!(id, "WH-1");
        assert_eq!(
            e,
            Some(Event::CaptureCompleted {
                capture_id: "C1".into(),
                order_id: Some("O1".into()),
                request_id: "req_1".into(),
                amount: "3.00".into(),
                currency: "usd".into()
            })
        );
        let (_, _, r) = parse_event(br#"{"id":"WH-2","event_type":"PAYMENT.CAPTURE.REFUNDED","resource":{"id":"R1","amount":{"value":"1.00","currency_code":"USD"},"links":[{"rel":"up","href":"https://api/v2/payments/captures/C1"}]}}"#).unwrap();
        assert_eq!(r, Some(Event::CaptureRefunded { refund_id: "R1".into(), capture_id: "C1".into(), amount: "1.00".into(), currency: "usd".into() }));
        assert_eq!(parse_event(br#"{"id":"WH-3","event_type":"BILLING.PLAN.CREATED","resource":{}}"#).unwrap().2, None);
        assert!(parse_event(b"nope").is_err());
    }

    #[test]
    fn verification_keeps_the_raw_event() {
        let h = TransmissionHeaders {
            auth_algo: "SHA256withRSA".into(),
            cert_url: "https://c".into(),
            transmission_id: "t1".into(),
            transmission_sig: "sig".into(),
            transmission_time: "now".into(),
        };
        let raw = r#"{"id":"WH-1","z":1,"a":2}"#;
        let body = verification_body(&h, "WHID", raw);
        assert!(body.ends_with(r#","webhook_event":{"id":"WH-1","z":1,"a":2}}"#), "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["webhook_id"], "WHID");
    }
}
