//! Requests from live streams' chats: the relay both the Twitch EventSub handler and the
//! YouTube chat poller use to submit a viewer's request through the app's own intake.

pub mod relay;
