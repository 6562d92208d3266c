//! What intake reads about an app before deciding, in one round trip: the app's owner and
//! their payout account (`apps`, `creators`), the creator's own limits (`app_limits`) and
//! whether the owner's block list names this sender (`blocklist`).

use super::first;
use super::limits::Sender;
use crate::platform::error::ApiResult;
use fanline_core::manifest::Limits;
use serde::Deserialize;
use worker::D1Database;

#[derive(Debug, Clone)]
pub struct IntakeContext {
    pub creator_id: String,
    /// The creator's connected Stripe account, when they connected one.
    pub stripe_account: Option<String>,
    /// The creator's limits, when they set their own (else the manifest's apply).
    pub limits: Option<Limits>,
    /// The kind of the block-list entry (`ip`, `email`, `fan`) that names the sender.
    pub blocked: Option<String>,
}

/// `None` when the app is not registered with the marketplace.
pub async fn context(db: &D1Database, app_slug: &str, sender: &Sender<'_>) -> ApiResult<Option<IntakeContext>> {
    #[derive(Deserialize)]
    struct Row {
        creator_id: String,
        stripe_account: Option<String>,
        limits_set: Option<String>,
        max_open_per_fan: Option<i64>,
        max_per_fan_per_day: Option<i64>,
        capacity: Option<i64>,
        blocked: Option<String>,
    }
    let row: Option<Row> = first(
        db,
        "SELECT a.creator_id, c.stripe_account, l.app_slug AS limits_set, l.max_open_per_fan, l.max_per_fan_per_day, l.capacity,
                (SELECT b.kind FROM blocklist b WHERE b.creator_id = a.creator_id
                   AND ((b.kind = 'ip' AND b.value IN (?2, ?3)) OR (b.kind = 'email' AND b.value = ?4) OR (b.kind = 'fan' AND b.value = ?5)) LIMIT 1) AS blocked
           FROM apps a JOIN creators c ON c.id = a.creator_id LEFT JOIN app_limits l ON l.app_slug = a.slug
          WHERE a.slug = ?1",
        &[app_slug.into(), sender.ip.into(), sender.ip_key.into(), sender.email.into(), sender.fan_id.into()],
    )
    .await?;
    let n = |v: Option<i64>| v.map(|v| v.clamp(0, i64::from(u32::MAX)) as u32);
    Ok(row.map(|r| IntakeContext {
        creator_id: r.creator_id,
        stripe_account: r.stripe_account,
        limits: r.limits_set.map(|_| Limits {
            max_open_per_fan: n(r.max_open_per_fan),
            max_per_fan_per_day: n(r.max_per_fan_per_day),
            capacity: n(r.capacity),
        }),
        blocked: r.blocked,
    }))
}
