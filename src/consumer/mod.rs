//! The fulfilment queue's consumer: each message names the outbox rows of one state change,
//! each delivered by `deliver`, all of them concurrently. A message is acknowledged when every
//! row is finished and retried otherwise, after the longest wait one of its rows asks for; a
//! retry skips the rows already finished, so each failing row is attempted once per delivery
//! of its message and reaches the dead-letter queue after the queue's `max_retries`, as a
//! one-row message would. The handler itself never fails (a failing queue handler would fail
//! the whole batch). Messages from the dead-letter queue mark their unfinished rows dead, so
//! the creator sees them and can replay them.

mod deliver;

use fanline_edge::db;
use fanline_edge::delivery::outbox::Job;
use fanline_edge::platform::config::now_ms;
use worker::{console_warn, Env, MessageBatch, MessageExt, QueueRetryOptionsBuilder};

pub const DEAD_LETTER_QUEUE: &str = "fanline-fulfilment-dlq";

pub async fn consume(batch: MessageBatch<Job>, env: &Env) {
    let from_dead_letters = batch.queue() == DEAD_LETTER_QUEUE;
    // The raw messages pair with the typed ones (same order), so one that does not read as a
    // `Job` can still be acknowledged and dropped instead of retried forever. The batch's rows
    // are delivered concurrently: each is claimed in D1 first, so no row is sent twice.
    let handled = batch.raw_iter().zip(batch.iter()).map(|(raw, typed)| async move {
        let Ok(message) = typed else {
            console_warn!("dropping malformed fulfilment message {}", raw.id());
            raw.ack();
            return;
        };
        let rows: Vec<&str> = message.body().rows().collect();
        if from_dead_letters {
            let marked = match db::db(env) {
                Ok(db) => futures_util::future::join_all(rows.iter().map(|id| db::outbox::mark_dead(&db, id, now_ms()))).await.into_iter().collect(),
                Err(e) => Err(e),
            };
            match marked {
                Ok(()) => message.ack(),
                Err(_) => message.retry(),
            }
            return;
        }
        let deliveries = futures_util::future::join_all(rows.iter().map(|id| deliver::deliver(env, id))).await;
        let wait = deliveries
            .iter()
            .filter_map(|d| match d {
                deliver::Delivery::Done => None,
                deliver::Delivery::RetryIn(secs) => Some(*secs),
            })
            .max();
        match wait {
            None => message.ack(),
            Some(secs) => message.retry_with_options(&QueueRetryOptionsBuilder::new().with_delay_seconds(secs).build()),
        }
    });
    futures_util::future::join_all(handled).await;
}
