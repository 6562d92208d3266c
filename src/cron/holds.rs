//! Releases every hold whose acceptance window has passed.

use fanline_edge::db;
use fanline_edge::lifecycle::Move;
use fanline_edge::money::holds::{self, HoldDecision};
use fanline_edge::platform::ctx::{By, Ctx};
use fanline_edge::platform::error::ApiResult;

pub async fn release_lapsed(ctx: Ctx<'_>, now: i64) -> ApiResult<usize> {
    let mut released = 0;
    for id in db::requests::lapsed_holds(ctx.db, now).await? {
        let Some(row) = db::requests::get(ctx.db, &id).await? else { continue };
        let (_, manifest) = db::apps::with_manifest(ctx.db, &row.app_slug).await?;
        match holds::settle(ctx, &manifest, &row, HoldDecision::Lapse, Move::by(By::new("schedule", Some("not accepted in time")))).await {
            Ok(true) => released += 1,
            Ok(false) => {}
            Err(e) => worker::console_warn!("releasing the hold on {id} failed: {e}"),
        }
    }
    Ok(released)
}
