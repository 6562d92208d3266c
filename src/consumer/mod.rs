//! The fulfilment queue's consumer: each message names one outbox row, delivered by
//! `deliver`; each message is acknowledged or retried on its own, and the handler itself never
//! fails (a failing queue handler would fail the whole batch). Messages from the dead-letter
//! queue mark their row dead, so the creator sees it and can replay it.

mod deliver;

use fanline_edge::db;
use fanline_edge::delivery::outbox::Job;
use fanline_edge::platform::config::now_ms;
use worker::{console_warn, Env, MessageBatch, MessageExt, QueueRetryOptionsBuilder, RawMessage};

pub const DEAD_LETTER_QUEUE: &str = "fanline-fulfilment-dlq";

pub async fn consume(batch: MessageBatch<Job>, env: &Env) {
    let from_dead_letters = batch.queue() == DEAD_LETTER_QUEUE;
    // The raw messages pair with the typed ones (same order), so one that does not read as a
    // `Job` can still be acknowledged and dropped instead of retried forever.
    let messages: Vec<_> = batch.raw_iter().zip(batch.iter()).collect();
    if from_dead_letters {
        let marked = messages.iter().map(|(raw, typed)| async move {
            let Ok(message) = typed else { return drop_malformed(raw) };
            let marked = match db::db(env) {
                Ok(db) => db::outbox::mark_dead(&db, &message.body().outbox_id, now_ms()).await,
                Err(e) => Err(e),
            };
            match marked {
                Ok(()) => message.ack(),
                Err(_) => {
                    message.retry_with_options(&QueueRetryOptionsBuilder::new().with_delay_seconds(deliver::outage_delay(env, message.timestamp())).build())
                }
            }
        });
        futures_util::future::join_all(marked).await;
        return;
    }
    // Every row of the batch, with its settings and request, in one round trip. If that read
    // fails, each message is retried as a delivery that could not run.
    let ids: Vec<&str> = messages.iter().filter_map(|(_, typed)| typed.as_ref().ok()).map(|m| m.body().outbox_id.as_str()).collect();
    let read = match db::db(env) {
        Ok(db) => db::outbox::for_delivery(&db, &ids).await,
        Err(e) => Err(e),
    };
    let rows = match read {
        Ok(rows) => rows,
        Err(e) => {
            console_warn!("the rows of a fulfilment batch could not be read: {e}");
            for (raw, typed) in &messages {
                match typed {
                    Ok(message) => {
                        message.retry_with_options(&QueueRetryOptionsBuilder::new().with_delay_seconds(deliver::outage_delay(env, message.timestamp())).build())
                    }
                    Err(_) => drop_malformed(raw),
                }
            }
            return;
        }
    };
    // The batch's rows are delivered concurrently: each is claimed in D1 first, so no row is
    // sent twice.
    let rows = &rows;
    let handled = messages.iter().map(|(raw, typed)| async move {
        let Ok(message) = typed else { return drop_malformed(raw) };
        match deliver::deliver(env, rows, &message.body().outbox_id).await {
            deliver::Delivery::Done => message.ack(),
            deliver::Delivery::RetryIn(secs) => message.retry_with_options(&QueueRetryOptionsBuilder::new().with_delay_seconds(secs).build()),
            deliver::Delivery::CouldNotRun => {
                message.retry_with_options(&QueueRetryOptionsBuilder::new().with_delay_seconds(deliver::outage_delay(env, message.timestamp())).build())
            }
        }
    });
    futures_util::future::join_all(handled).await;
}

fn drop_malformed(raw: &RawMessage) {
    console_warn!("dropping malformed fulfilment message {}", raw.id());
    raw.ack();
}
