//! A credit-pack purchase's state: waiting for its Checkout Session, then paid (its credits in
//! the ledger), expired, or refunded (what is left of its credits taken back).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PurchaseStatus {
    AwaitingPayment,
    Paid,
    Expired,
    Refunded,
}

impl PurchaseStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AwaitingPayment => "awaiting_payment",
            Self::Paid => "paid",
            Self::Expired => "expired",
            Self::Refunded => "refunded",
        }
    }
}
