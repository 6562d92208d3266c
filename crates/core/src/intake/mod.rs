//! Intake: what a fan sent (body shapes, files, ids), checked against the manifest into a
//! priced submission, and the decision about where it goes (`plan`).

pub mod attachment;
pub mod body;
pub mod ids;
pub mod multipart;
pub mod plan;
pub mod submission;

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
