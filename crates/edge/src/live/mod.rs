//! Tools for creators on stream: the OBS overlay (a browser source showing the queue), a
//! connected Twitch channel's token and actions, and a connected YouTube live chat's token,
//! quota budget and replies.

pub mod overlay;
pub mod twitch;
pub mod youtube;

/// Stored tokens no key opens: the provider is as good as refusing them until the creator
/// connects the channel again.
fn unreadable(service: &'static str) -> crate::providers::ProviderError {
    crate::providers::ProviderError::Refused { service, status: 401, message: "the channel's stored tokens cannot be read; connect it again".into() }
}
