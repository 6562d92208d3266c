//! The outbox's safety nets: rows whose queue send was lost, and reminders for requests left
//! waiting on the creator.

use fanline_core::manifest::{DEFAULT_REMINDER_HOURS, WAITING_EVENT};
use fanline_edge::db;
use fanline_edge::delivery::outbox::{self, enqueue, enqueue_ids};
use fanline_edge::platform::ctx::Ctx;
use fanline_edge::platform::error::ApiResult;

/// Rows committed but never attempted this long after: their queue send was lost (a crash
/// between the commit and the send); and claims this old: their consumer died (the lease is a
/// minute). A duplicate message for a row that is in fact queued is harmless (the claim and the
/// state check make it one send).
const SWEEP_AFTER_MS: i64 = 2 * 60 * 1000;

/// Rows attempted but untouched this long: longer than the queue holds any retry (12 hours), so
/// the retry's message was dropped (the consumer's D1 writes failed through every delivery and
/// the dead-letter queue's too). Without this they would stay pending, neither retried nor dead.
const STALE_AFTER_MS: i64 = 13 * 3600 * 1000;

pub async fn sweep(ctx: Ctx<'_>, now: i64) -> ApiResult<usize> {
    let stuck = db::outbox::to_sweep(ctx.db, now - SWEEP_AFTER_MS, now - STALE_AFTER_MS).await?;
    let n = stuck.len();
    enqueue_ids(ctx.env, stuck).await;
    Ok(n)
}

/// Raises `request.waiting` once for each request left queued (or held for review) longer than
/// its app's `reminder_after_hours`, for the apps that route that event.
pub async fn remind_waiting(ctx: Ctx<'_>, now: i64) -> ApiResult<usize> {
    let mut raised = 0;
    for app in db::apps::list(ctx.db).await? {
        let Ok(manifest) = app.manifest() else { continue };
        if manifest.routes_for(WAITING_EVENT).is_empty() {
            continue;
        }
        let hours = i64::from(manifest.reminder_after_hours.unwrap_or(DEFAULT_REMINDER_HOURS));
        for id in db::requests::waiting_unreminded(ctx.db, &app.slug, now - hours * 3_600_000, WAITING_EVENT).await? {
            let Some(row) = db::requests::get(ctx.db, &id).await? else { continue };
            let summary = outbox::summary(&manifest, &row, ctx.origin, &outbox::fan_key_secret(ctx.env));
            let entries = outbox::entries_for_event(&manifest, &row, &summary, WAITING_EVENT, |i| format!("wait_{}_{i}", row.id));
            db::commit_all(ctx.db, outbox::statements(ctx.db, &row, &entries, now)?).await?;
            enqueue(ctx.env, &entries).await;
            raised += 1;
        }
    }
    Ok(raised)
}
