//! Tools for creators on stream: the OBS overlay (a browser source showing the queue), a
//! connected Twitch channel's token and actions, and a connected YouTube live chat's token,
//! quota budget and replies.

pub mod overlay;
pub mod twitch;
pub mod youtube;
