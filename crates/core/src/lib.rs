//! Fanline's pure rules. Nothing here touches the Workers runtime, so every rule is unit-tested
//! and fuzzed natively; the Workers crates are a thin I/O shell around it.
//!
//! - `manifest`: what makes one micro-app different from another, parsed and checked once.
//! - `lifecycle`: the request state machine (a leaf: it depends on nothing here).
//! - `app_state`: an app's own lifecycle (draft, live, paused, invite-only, archived).
//! - `catalog`: each app's kind and lowest price, and the catalog's search, filters and pages.
//! - `intake`: body shapes, validation and pricing, and the intake plan.
//! - `money`: amounts, payment providers' wire formats, auctions.
//! - `trust`: client keys, sign-in, moderation, triage, webhook signatures.
//! - `delivery`: payloads, destinations' wire formats, outbound safety, retries, outbox states.
//! - `kpi`: the creator's numbers and the fan's wait estimate, from D1's aggregates.
//! - `live`: tools for creators on stream (the OBS overlay's view of the queue).
//! - `webhook`: what an incoming provider event did.
//! - `util`: base64 and RFC 3339 time.

pub mod app_state;
pub mod catalog;
pub mod delivery;
pub mod intake;
pub mod kpi;
pub mod lifecycle;
pub mod live;
pub mod manifest;
pub mod money;
pub mod trust;
pub mod util;
pub mod webhook;
