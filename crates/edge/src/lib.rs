//! Workers glue shared by the hub and every micro-app: the I/O shell around `fanline_core`.
//!
//! - `app`: the micro-app Worker (route table, intake, views, creator actions, form page).
//! - `money`, `trust`, `delivery`: the areas' rules that need bindings (checkout and holds,
//!   sign-in and limits, the outbox), above the provider clients they call.
//! - `lifecycle`: moving a request (state change, history and outbox in one batch).
//! - `live`: tools for creators on stream (the OBS overlay).
//! - `review`: the review queue's decisions, above money and trust (a decision moves money).
//! - `db`: all SQL, one module per table or aggregate.
//! - `providers`: HTTP clients of outside services (Stripe, PayPal, Turnstile, OAuth, mail,
//!   delivery targets), returning `ProviderError`.
//! - `platform`: configuration, HTTP helpers, bounded bodies, `ApiError`, the handler context.

pub mod app;
pub mod db;
pub mod delivery;
pub mod lifecycle;
pub mod live;
pub mod money;
pub mod platform;
pub mod providers;
pub mod review;
pub mod trust;

/// The app's `manifest.json` (next to its Cargo.toml), checked at compile time and built into
/// its Worker as a value: `fanline_edge::app::serve(fanline_edge::manifest!(), req, env)`.
/// A manifest with problems fails the build with the list `scripts/fanline check` prints.
#[macro_export]
macro_rules! manifest {
    () => {
        $crate::__bake_manifest!($crate::__core, "manifest.json")
    };
}

#[doc(hidden)]
pub use fanline_core as __core;
#[doc(hidden)]
pub use fanline_macros::bake_manifest as __bake_manifest;
