//! Money: amounts and currencies, who took a payment, the providers' wire formats (Stripe,
//! PayPal), credit-pack purchases, the rules of live auctions, and memberships fans pay for
//! elsewhere (Ko-fi, Patreon).

pub mod amount;
pub mod auction;
pub mod kofi;
pub mod patreon;
pub mod paypal;
pub mod provider;
pub mod purchase;
pub mod stripe;

pub use amount::{Currency, Money};
pub use provider::PaymentProvider;
