//! What intake reads about an app before deciding, in one round trip: the app's owner, state
//! and their payout account (`apps`, `creators`), whether the fan's access token is a live
//! invite (`app_invites`), the creator's own limits (`app_limits`) and whether the owner's
//! block list names this sender (`blocklist`); and the guard that lets intake plan on a context
//! it read before, checked inside the intake batch instead of read again before it.

use super::first;
use super::limits::{Sender, Verdict};
use crate::platform::error::{ApiError, ApiResult};
use fanline_core::app_state::AppState;
use fanline_core::manifest::{DestinationKind, Limits};
use fanline_core::trust::client::BlockKind;
use serde::Deserialize;
use worker::D1Database;

#[derive(Debug, Clone)]
pub struct IntakeContext {
    pub creator_id: String,
    /// The creator's connected Stripe account, when they connected one.
    pub stripe_account: Option<String>,
    /// The creator's limits, when they set their own (else the manifest's apply).
    pub limits: Option<Limits>,
    /// The kind of the block-list entry that names the sender.
    pub blocked: Option<BlockKind>,
    pub state: AppState,
    /// What the creator says while the app is paused or archived.
    pub state_message: Option<String>,
    pub successor: Option<String>,
    /// The fan's access token is a live invite of this app.
    pub invited: bool,
    /// The destination kinds the creator set up and enabled, sorted, comma-separated.
    pub destinations: String,
}

impl IntakeContext {
    pub fn has_destination(&self, kind: DestinationKind) -> bool {
        self.destinations.split(',').any(|k| k == kind.as_str())
    }
}

/// The app's enabled destination kinds as `IntakeContext::destinations` holds them.
const SET_UP_DESTINATIONS: &str =
    "(SELECT group_concat(kind, ',') FROM (SELECT kind FROM destinations d WHERE d.app_slug = a.slug AND d.enabled = 1 ORDER BY kind))";

/// `None` when the app is not registered with the marketplace.
/// `invite_hash` is the SHA-256 (hex) of the access token the fan sent, or empty.
pub async fn context(db: &D1Database, app_slug: &str, sender: &Sender<'_>, invite_hash: &str) -> ApiResult<Option<IntakeContext>> {
    #[derive(Deserialize)]
    struct Row {
        creator_id: String,
        stripe_account: Option<String>,
        limits_set: Option<String>,
        max_open_per_fan: Option<i64>,
        max_per_fan_per_day: Option<i64>,
        capacity: Option<i64>,
        blocked: Option<String>,
        state: String,
        state_message: Option<String>,
        successor: Option<String>,
        invited: Option<i64>,
        destinations: Option<String>,
    }
    let row: Option<Row> = first(
        db,
        &format!(
            "SELECT a.creator_id, c.stripe_account, a.state, a.state_message, a.successor, {SET_UP_DESTINATIONS} AS destinations,
                (SELECT 1 FROM app_invites i WHERE i.app_slug = a.slug AND i.token_hash = ?6 AND i.revoked_at IS NULL) AS invited, l.app_slug AS limits_set, l.max_open_per_fan, l.max_per_fan_per_day, l.capacity,
                (SELECT b.kind FROM blocklist b WHERE b.creator_id = a.creator_id
                   AND ((b.kind = 'ip' AND b.value IN (?2, ?3)) OR (b.kind = 'email' AND b.value = ?4) OR (b.kind = 'fan' AND b.value IN (?5, ?7))) LIMIT 1) AS blocked
           FROM apps a JOIN creators c ON c.id = a.creator_id LEFT JOIN app_limits l ON l.app_slug = a.slug
          WHERE a.slug = ?1"
        ),
        &[app_slug.into(), sender.ip.into(), sender.ip_key.into(), sender.email.into(), sender.fan_id.into(), invite_hash.into(), sender.identity.into()],
    )
    .await?;
    let n = |v: Option<i64>| v.map(|v| v.clamp(0, i64::from(u32::MAX)) as u32);
    let Some(r) = row else { return Ok(None) };
    // The table's CHECK allows only the kinds this build knows; anything else is refused, never
    // read as "not blocked".
    let blocked = match r.blocked.as_deref() {
        None => None,
        Some(kind) => Some(BlockKind::parse(kind).ok_or_else(|| ApiError::internal(format!("block-list kind '{kind}' is not one this build knows")))?),
    };
    Ok(Some(IntakeContext {
        creator_id: r.creator_id,
        stripe_account: r.stripe_account,
        limits: r.limits_set.map(|_| Limits {
            max_open_per_fan: n(r.max_open_per_fan),
            max_per_fan_per_day: n(r.max_per_fan_per_day),
            capacity: n(r.capacity),
        }),
        blocked,
        // A state this build does not know is treated as paused: refuse rather than guess.
        state: AppState::parse(&r.state).unwrap_or(AppState::Paused),
        state_message: r.state_message,
        successor: r.successor,
        invited: r.invited.is_some(),
        destinations: r.destinations.unwrap_or_default(),
    }))
}

/// 1 while `known` (read earlier, for a sender it did not block and without an invite) is still
/// the app's context and the owner's block list does not name `sender`: the intake batch's
/// `app_context` guard, so a Worker can plan on the context it read for an earlier request and
/// still commit exactly what a fresh read would have allowed.
pub fn still_current<'a>(app_slug: &'a str, known: &'a IntakeContext, sender: &Sender<'a>) -> Verdict<'a> {
    let limits = match &known.limits {
        None => "l.app_slug IS NULL".to_string(),
        Some(_) => "l.app_slug IS NOT NULL AND l.max_open_per_fan IS ? AND l.max_per_fan_per_day IS ? AND l.capacity IS ?".to_string(),
    };
    let mut args = vec![
        app_slug.into(),
        known.creator_id.as_str().into(),
        known.state.as_str().into(),
        known.state_message.as_deref().into(),
        known.successor.as_deref().into(),
        known.stripe_account.as_deref().into(),
    ];
    if let Some(l) = &known.limits {
        let n = |v: Option<u32>| v.map_or(super::Arg::Null, |v| super::Arg::Int(i64::from(v)));
        args.extend([n(l.max_open_per_fan), n(l.max_per_fan_per_day), n(l.capacity)]);
    }
    args.push(known.destinations.as_str().into());
    args.extend([sender.ip.into(), sender.ip_key.into(), sender.email.into(), sender.fan_id.into(), sender.identity.into()]);
    Verdict {
        sql: format!(
            "EXISTS (SELECT 1 FROM apps a JOIN creators c ON c.id = a.creator_id LEFT JOIN app_limits l ON l.app_slug = a.slug
                      WHERE a.slug = ? AND a.creator_id = ? AND a.state = ? AND a.state_message IS ? AND a.successor IS ? AND c.stripe_account IS ?
                        AND {limits} AND coalesce({SET_UP_DESTINATIONS}, '') = ?
                        AND NOT EXISTS (SELECT 1 FROM blocklist b WHERE b.creator_id = a.creator_id
                              AND ((b.kind = 'ip' AND b.value IN (?, ?)) OR (b.kind = 'email' AND b.value = ?) OR (b.kind = 'fan' AND b.value IN (?, ?)))))"
        ),
        args,
    }
}
