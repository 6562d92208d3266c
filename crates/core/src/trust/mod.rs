//! Trust: who a request comes from (client keys, sign-in identity), whether it is wanted
//! (moderation rules, triage), and the signatures that prove who sent a webhook.

pub mod client;
pub mod human_check;
pub mod identity;
pub mod moderation;
pub mod sealed;
pub mod standard_webhooks;
pub mod triage;
