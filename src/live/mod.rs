//! Tools for creators on stream: the relay both the Twitch EventSub handler and the YouTube
//! chat poller use to submit a viewer's request through the app's own intake, and the OBS
//! overlay.

pub mod overlay;
pub mod relay;
