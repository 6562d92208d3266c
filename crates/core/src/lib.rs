//! Fanline's pure request logic. Nothing here touches the Workers runtime, so every rule is
//! unit-tested and fuzzed natively; the Workers crates are a thin I/O shell around it.

pub mod attachment;
pub mod auction;
pub mod base64;
pub mod client;
pub mod delivery;
pub mod identity;
pub mod ids;
pub mod manifest;
pub mod moderation;
pub mod money;
pub mod multipart;
pub mod outbound;
pub mod paypal;
pub mod routing;
pub mod standard_webhooks;
pub mod state;
pub mod stripe;
pub mod submission;
pub mod targets;
pub mod template;
pub mod triage;

/// One field-level problem with a submission, shown to the fan next to the field.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    pub field: String,
    pub code: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        Self { field: field.into(), code, message: message.into() }
    }
}
