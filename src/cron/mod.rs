//! The hub's cron trigger: closes auctions that have ended, re-queues outbox rows no consumer
//! is working on, raises reminders for requests waiting too long, releases held payments
//! the creator did not accept in time, seals stored credentials not yet sealed under the
//! current key and forgets expired short-lived rows (every ten minutes); reads connected
//! YouTube live chats (every minute). The event's scheduled time is the clock, so a test can run it forward. Each job logs and carries on when another fails.

mod auctions;
mod holds;
mod outbox;
mod prune;
mod reseal;
mod youtube;

use fanline_edge::db;
use fanline_edge::platform::ctx::Ctx;
use worker::{console_error, console_log, Env};

/// The schedule that reads live chats; every other one runs the housekeeping jobs.
pub const LIVE_CHATS: &str = "* * * * *";

pub async fn run(env: &Env, cron: &str, now: i64, origin: &str) {
    let db = match db::db(env) {
        Ok(db) => db,
        Err(e) => {
            console_error!("the cron trigger has no database: {e}");
            return;
        }
    };
    let ctx = Ctx { env, db: &db, origin };
    if cron == LIVE_CHATS {
        report("relayed {} YouTube chat commands", "reading YouTube chats", youtube::poll(ctx, now).await);
        return;
    }
    report("closed {} auctions", "closing auctions", auctions::close_due(ctx, now).await);
    report("re-queued {} outbox rows no consumer was working on", "sweeping the outbox", outbox::sweep(ctx, now).await);
    report("raised request.waiting for {} requests", "reminding of waiting requests", outbox::remind_waiting(ctx, now).await);
    report("released {} lapsed holds", "releasing lapsed holds", holds::release_lapsed(ctx, now).await);
    report("sealed {} stored credentials under CREDENTIALS_KEY", "sealing stored credentials", reseal::reseal(ctx).await);
    report("forgot {} expired sign-in, idempotency, mail and session rows", "pruning", prune::prune(ctx, now).await);
}

fn report(done: &str, job: &str, result: fanline_edge::platform::error::ApiResult<usize>) {
    match result {
        Ok(0) => {}
        Ok(n) => console_log!("{}", done.replace("{}", &n.to_string())),
        Err(e) => console_error!("{job} failed: {e}"),
    }
}
