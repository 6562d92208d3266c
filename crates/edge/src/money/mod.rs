//! Money, as every Worker handles it: opening payments (Checkout, PayPal orders), held
//! payments, refunds, credit packs, subscriber tiers and auction bids. Payment webhooks and
//! the cron that closes auctions and releases lapsed holds are the hub's, in `src/`.

pub mod auctions;
pub mod checkout;
pub mod credits;
pub mod holds;
pub mod paypal;
pub mod refunds;
pub mod tiers;
