//! Delivery: what each destination receives when a request changes state (payloads rendered
//! from the manifest's templates), the wire format and settings of each destination, which addresses the platform
//! may send to, when to retry, and the outbox row's states.

pub mod destination;
pub mod payload;
pub mod retry;
pub mod safety;
pub mod state;
