//! The fulfilment queue's consumer: each message names one outbox row, delivered by
//! `deliver`; each message is acknowledged or retried on its own, and the handler itself never
//! fails (a failing queue handler would fail the whole batch). Messages from the dead-letter
//! queue mark their row dead, so the creator sees it and can replay it.

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
        let outbox_id = &message.body().outbox_id;
        if from_dead_letters {
            let marked = match db::db(env) {
                Ok(db) => db::outbox::mark_dead(&db, outbox_id, now_ms()).await,
                Err(e) => Err(e),
            };
            match marked {
                Ok(()) => message.ack(),
                Err(_) => message.retry(),
            }
            return;
        }
        match deliver::deliver(env, outbox_id).await {
            deliver::Delivery::Done => message.ack(),
            deliver::Delivery::RetryIn(secs) => message.retry_with_options(&QueueRetryOptionsBuilder::new().with_delay_seconds(secs).build()),
        }
    });
    futures_util::future::join_all(handled).await;
}
