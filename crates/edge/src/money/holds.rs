//! Held payments (card authorizations): captured when the creator accepts, released when they
//! decline or let the acceptance window pass. Stripe is called first with a per-request
//! idempotency key, so retrying after a lost race is harmless.

use crate::db::{self, requests::RequestRow};
use crate::lifecycle::{self, Move};
use crate::platform::config::now_ms;
use crate::platform::ctx::{By, Ctx};
use crate::platform::error::{ApiError, ApiResult};
use crate::providers::{stripe, ProviderError};
use fanline_core::lifecycle::Status;
use fanline_core::manifest::Manifest;

/// What happens to a held payment, and the state the request moves to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldDecision {
    /// Capture; the request becomes `accepted` (and then `fulfilled` when completing).
    Accept { then_fulfil: bool },
    /// Release; the request becomes `rejected`.
    Decline,
    /// Release because the creator did not act in time; the request becomes `expired`.
    Lapse,
}

/// Captures or releases a request's hold at Stripe, then moves the request (`mv`, along the
/// decision's path). A capture Stripe refuses for good (the authorization lapsed) comes back
/// as the provider's refusal.
pub async fn settle(ctx: Ctx<'_>, manifest: &Manifest, row: &RequestRow, decision: HoldDecision, mv: Move<'_>) -> ApiResult<bool> {
    let payment_intent = row.payment_intent_id.as_deref().ok_or_else(|| ApiError::internal(format!("hold on {} has no payment intent", row.id)))?;
    let (path, fact): (&[Status], _) = match decision {
        HoldDecision::Accept { then_fulfil } => {
            stripe::capture(ctx.env, payment_intent, &row.id).await?;
            (if then_fulfil { &[Status::Accepted, Status::Fulfilled] } else { &[Status::Accepted] }, db::requests::set_captured(ctx.db, &row.id, now_ms())?)
        }
        HoldDecision::Decline | HoldDecision::Lapse => {
            let why = if decision == HoldDecision::Lapse { "abandoned" } else { "requested_by_customer" };
            if let Err(refused) = stripe::release(ctx.env, payment_intent, &row.id, why).await {
                let lapse = (decision == HoldDecision::Lapse).then_some(mv);
                return settle_captured(ctx, manifest, row, refused, lapse).await;
            }
            (if decision == HoldDecision::Lapse { &[Status::Expired] } else { &[Status::Rejected] }, db::requests::clear_hold(ctx.db, &row.id)?)
        }
    };
    lifecycle::advance(ctx, manifest, row, mv.along(path).with([fact])).await
}

/// Stripe's status of a captured PaymentIntent.
const CAPTURED: &str = "succeeded";

/// A release Stripe refused because the payment is no longer held: an accept captured it and
/// then lost its D1 write (a concurrent change won, or D1 failed), so the request still looks
/// held. The capture is recorded, so the hold is never released again: a lapse completes the
/// accept that captured it (`lapse`: its move); a decline is refused (409 `already_captured`),
/// the creator refunds or accepts instead. Any other refusal is returned as it was.
async fn settle_captured(ctx: Ctx<'_>, manifest: &Manifest, row: &RequestRow, refused: ProviderError, lapse: Option<Move<'_>>) -> ApiResult<bool> {
    let (ProviderError::Refused { .. }, Some(payment_intent)) = (&refused, row.payment_intent_id.as_deref()) else { return Err(refused.into()) };
    if stripe::payment_intent(ctx.env, payment_intent).await?.0 != CAPTURED {
        return Err(refused.into());
    }
    let captured = db::requests::set_captured(ctx.db, &row.id, now_ms())?;
    if let Some(lapse) = lapse {
        let mv = Move { by: By::new(lapse.by.actor, Some("captured when the creator accepted")), ..lapse };
        return lifecycle::advance(ctx, manifest, row, mv.along(&[Status::Accepted]).with([captured])).await;
    }
    db::commit_all(ctx.db, vec![captured]).await?;
    Err(ApiError::Conflict { code: "already_captured", message: "this payment was captured when the request was accepted: accept or refund it instead".into() })
}

/// Captures the hold of a request approved in review (it stays in the pipeline, see `review`).
pub async fn capture_for_review(ctx: Ctx<'_>, row: &RequestRow) -> ApiResult<worker::D1PreparedStatement> {
    let payment_intent = row.payment_intent_id.as_deref().ok_or_else(|| ApiError::internal(format!("hold on {} has no payment intent", row.id)))?;
    stripe::capture(ctx.env, payment_intent, &row.id).await?;
    db::requests::set_captured(ctx.db, &row.id, now_ms())
}
