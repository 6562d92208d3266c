//! Workers glue shared by the hub and every micro-app. Each module wraps one binding or one
//! piece of the HTTP surface; the decisions themselves live in `fanline_core`.

pub mod app;
pub mod auctions;
pub mod auth;
pub mod body;
pub mod credits;
pub mod error;
pub mod fans;
pub mod fulfilment;
pub mod http;
pub mod limits;
pub mod pages;
pub mod payments;
pub mod paypal;
pub mod platform;
pub mod review;
pub mod signin;
pub mod store;
pub mod tiers;
pub mod turnstile;

pub use error::ApiError;
pub use fanline_core as core;
