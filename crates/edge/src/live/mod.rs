//! Tools for creators on stream: the OBS overlay (a browser source showing the queue) and a
//! connected Twitch channel's token and actions.

pub mod overlay;
pub mod twitch;
