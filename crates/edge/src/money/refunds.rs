//! Refunding a request's payment with whichever provider took it, recorded once by the
//! provider's refund id.

use crate::db::requests::RequestRow;
use crate::platform::error::{ApiError, ApiResult};
use crate::providers::{paypal, stripe};
use fanline_core::money::{Currency, Money, PaymentProvider};
use worker::Env;

pub struct Refund {
    pub id: String,
    pub amount: u64,
    /// The provider's refunded total for the payment, when it tells (see `RefundRecord`).
    pub provider_total: Option<u64>,
}

/// Refunds `amount` of the request's payment; `key` makes a retry return the first refund.
pub async fn refund(env: &Env, row: &RequestRow, amount: u64, reason: Option<&str>, key: &str) -> ApiResult<Refund> {
    let refund = match (row.provider, &row.payment_intent_id, &row.paypal_capture_id) {
        (PaymentProvider::Paypal, _, Some(capture_id)) => {
            let currency = Currency::parse(&row.currency).map_err(ApiError::Internal)?;
            // PayPal reports every refund, the dashboard's included, as its own event with its
            // own id, so the sum of recorded refunds is exact there.
            let (id, amount) = paypal::refund(env, capture_id, &Money::new(amount, currency), key).await?;
            Refund { id, amount, provider_total: None }
        }
        (PaymentProvider::Paypal, _, None) => return Err(ApiError::internal(format!("{} has no paypal capture", row.id))),
        (_, Some(payment_intent), _) => {
            let call = stripe::RefundCall {
                payment_intent,
                amount,
                request_id: &row.id,
                reason,
                destination_charge: row.application_fee.is_some(),
                idempotency_key: key,
            };
            let r = stripe::refund(env, &call).await?;
            Refund { id: r.id, amount: r.amount, provider_total: r.charge_total }
        }
        (_, None, _) => return Err(ApiError::internal(format!("{} is paid but has no payment reference", row.id))),
    };
    Ok(refund)
}
