//! Tools for creators who are live: the OBS overlay's view of the queue, Twitch EventSub
//! (verification, messages, subscriptions), YouTube Live chat (pages, quota) and requests from
//! a stream's chat.

pub mod chat;
pub mod overlay;
pub mod twitch;
pub mod youtube;
