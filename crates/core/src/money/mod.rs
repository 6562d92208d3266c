//! Money: amounts and currencies, who took a payment, the providers' wire formats (Stripe,
//! PayPal), credit-pack purchases and the rules of live auctions.

pub mod amount;
pub mod auction;
pub mod paypal;
pub mod provider;
pub mod purchase;
pub mod stripe;

pub use amount::{Currency, Money};
pub use provider::PaymentProvider;
