//! The creator API that spans an app rather than one request, under `/api/`: the creator's
//! profile and payout account, each app's destinations, delivery log, queue and limits, and
//! the creator's block list. Every call takes `Authorization: Bearer <api key>`.

pub mod account;
pub mod blocklist;
pub mod deliveries;
pub mod destinations;
pub mod limits;
pub mod queue;
