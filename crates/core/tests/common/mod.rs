//! What the no-panic tests and `bin/fuzz.rs` share.
pub mod inputs;
pub mod rng;
