//! Delivery, the producer side every app runs: outbox rows written with each state change and
//! queued. The consumer side (sending, retries, the dead-letter queue) is the hub's, in `src/`.

pub mod outbox;
