//! The platform frame around the rules: configuration and the runtime's clock and randomness,
//! HTTP helpers, bounded body reading, the one error type, and the context every handler
//! passes down.

pub mod body;
pub mod config;
pub mod ctx;
pub mod error;
pub mod http;
pub mod meter;
pub mod sealing;
