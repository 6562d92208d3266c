//! Who took a request's payment, as stored with the request and shown in the API.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentProvider {
    /// A free request.
    None,
    /// Paid from the fan's prepaid credit balance.
    Credits,
    Stripe,
    Paypal,
}

impl PaymentProvider {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Credits => "credits",
            Self::Stripe => "stripe",
            Self::Paypal => "paypal",
        }
    }
}
