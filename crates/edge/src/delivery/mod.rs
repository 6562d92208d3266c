//! Delivery, the producer side every app runs: outbox rows written with each state change and
//! queued, and the budget of mail to addresses fans typed. The consumer side (sending, retries, the dead-letter queue) is the hub's, in `src/`.

pub mod fan_mail;
pub mod outbox;
