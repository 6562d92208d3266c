//! Moving a request: the state change, its history and its outbox rows in one D1 batch, then
//! the rows on the queue. Every state change in every Worker goes through `advance`.

use crate::db::{self, requests::RequestRow, BatchOutcome};
use crate::delivery::{fan_mail, outbox};
use crate::platform::config::now_ms;
use crate::platform::ctx::{By, Ctx};
use crate::platform::error::{ApiError, ApiResult};
use fanline_core::lifecycle::Status;
use fanline_core::manifest::Manifest;
use worker::D1PreparedStatement;

/// A walk of one request through `path`, with whatever else must commit with it (a payment
/// fact, a refund record, credits given back, the provider event's row).
pub struct Move<'a> {
    pub path: &'a [Status],
    pub by: By<'a>,
    pub extra: Vec<D1PreparedStatement>,
}

impl<'a> Move<'a> {
    pub fn to(path: &'a [Status], by: By<'a>) -> Self {
        Self { path, by, extra: Vec::new() }
    }

    /// A move by `by` whose path the decision taking it picks (`along`), with what the caller
    /// needs committed with it whichever path that is (a webhook's event row).
    pub fn by(by: By<'a>) -> Self {
        Self::to(&[], by)
    }

    pub fn along(mut self, path: &'a [Status]) -> Self {
        self.path = path;
        self
    }

    pub fn with(mut self, extra: impl IntoIterator<Item = D1PreparedStatement>) -> Self {
        self.extra.extend(extra);
        self
    }
}

/// `Ok(false)` means the request moved under us (another writer won) and nothing was written.
pub async fn advance(ctx: Ctx<'_>, manifest: &Manifest, row: &RequestRow, mv: Move<'_>) -> ApiResult<bool> {
    row.status.walk(mv.path).map_err(|e| ApiError::Conflict { code: "invalid_transition", message: e.to_string() })?;
    let now = now_ms();
    let mut moved = row.clone();
    moved.status = mv.path.last().copied().unwrap_or(row.status);
    let fan_secret = outbox::fan_key_secret(ctx.env);
    let mut entries = outbox::entries(manifest, &moved, outbox::Links { origin: ctx.origin, fan_secret: &fan_secret }, mv.path);
    let transition = db::requests::Transition { request_id: &row.id, from_version: row.version, path: mv.path, actor: mv.by.actor, reason: mv.by.reason, now };
    let mut statements = db::requests::transition_statements(ctx.db, &transition)?;
    statements.extend(fan_mail::budget_fan_mail(ctx.db, row, false, &mut entries, now).await?);
    statements.extend(mv.extra);
    statements.extend(outbox::statements(ctx.db, row, &entries, now)?);
    match db::commit(ctx.db, statements).await? {
        BatchOutcome::Committed => {
            outbox::enqueue(ctx.env, &entries).await;
            Ok(true)
        }
        BatchOutcome::Conflict(_) => Ok(false),
        BatchOutcome::Refused(why) => Err(ApiError::internal(format!("a state change was refused: {why:?}"))),
    }
}
