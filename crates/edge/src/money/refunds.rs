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
}

/// Refunds `amount` of the request's payment; `key` makes a retry return the first refund.
pub async fn refund(env: &Env, row: &RequestRow, amount: u64, reason: Option<&str>, key: &str) -> ApiResult<Refund> {
    let (id, amount) = match (row.provider, &row.payment_intent_id, &row.paypal_capture_id) {
        (PaymentProvider::Paypal, _, Some(capture_id)) => {
            let currency = Currency::parse(&row.currency).map_err(ApiError::Internal)?;
            paypal::refund(env, capture_id, &Money::new(amount, currency), key).await?
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
            stripe::refund(env, &call).await?
        }
        (_, None, _) => return Err(ApiError::internal(format!("{} is paid but has no payment reference", row.id))),
    };
    Ok(Refund { id, amount })
}
