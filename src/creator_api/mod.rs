//! The creator API that spans an app rather than one request, under `/api/`: the creator's
//! profile and payout account, each app's destinations, delivery log, queue and limits, and
//! the creator's block list, their API keys and KPIs, each app's OBS overlay link, its Twitch and YouTube connections and its Ko-fi and Patreon memberships. Every call takes `Authorization: Bearer
//! <api key>` (or, forwarded by the console, the creator's session).

pub mod account;
pub mod blocklist;
pub mod deliveries;
pub mod destinations;
pub mod keys;
pub mod kpis;
pub mod lifecycle;
pub mod limits;
pub mod memberships;
pub mod overlay;
pub mod queue;
pub mod twitch;
pub mod youtube;
