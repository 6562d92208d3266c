//! The human review queue's decisions (trust, sitting above money because a decision moves it), made by the creator through the API or by an outside
//! moderation service through its signed webhook (`src/webhooks/moderation.rs`). Approving
//! continues the pipeline (a held card is captured first); rejecting releases the hold,
//! refunds the charge or returns the credits.

use crate::db::{
    self,
    requests::{RefundRecord, RequestRow},
};
use crate::lifecycle::{self, Move};
use crate::money::{auctions, credits, holds, refunds};
use crate::platform::ctx::Ctx;
use crate::platform::error::{ApiError, ApiResult};
use fanline_core::lifecycle::Status;
use fanline_core::manifest::Manifest;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewDecision {
    Approve,
    Reject,
}

/// Applies a review decision; the event records who made it and why (`mv.by`), and whatever
/// `mv` carries commits with the state change (a webhook's event row, so a concurrent duplicate
/// of the webhook cannot act too).
pub async fn decide(ctx: Ctx<'_>, manifest: &Manifest, row: &RequestRow, decision: ReviewDecision, mv: Move<'_>) -> ApiResult<()> {
    if row.status != Status::HeldForReview {
        return Err(ApiError::Conflict { code: "not_held_for_review", message: format!("This request is {}, not held for review.", row.status.as_str()) });
    }
    let paid = row.is_charged() || row.credits_spent > 0;
    // An auction bid is settled by the close: approving puts it among the bids (hold kept),
    // and once the auction has closed there is no slot left to approve it into.
    if let (ReviewDecision::Approve, Some(auction_id)) = (decision, &row.auction_id) {
        if !auctions::accepts_holds(ctx.db, auction_id).await? {
            return Err(ApiError::Conflict { code: "auction_closed", message: "This bid's auction has closed; it can only be rejected.".into() });
        }
    }
    if decision == ReviewDecision::Reject && row.is_uncaptured_hold() {
        return moved(holds::settle(ctx, manifest, row, holds::HoldDecision::Decline, mv).await?);
    }
    let by = mv.by;
    let (path, extra): (&[Status], Vec<_>) = match decision {
        ReviewDecision::Approve if row.auction_id.is_some() => (&[Status::Queued], Vec::new()),
        ReviewDecision::Approve if row.is_uncaptured_hold() => (&[Status::Queued], vec![holds::capture_for_review(ctx, row).await?]),
        ReviewDecision::Approve if paid => (&[Status::Queued], Vec::new()),
        ReviewDecision::Approve => (&[Status::Validated, Status::Queued], Vec::new()),
        ReviewDecision::Reject if row.credits_spent > 0 => (&[Status::Rejected], credits::give_back(ctx.db, row, "rejected in review")?.into_iter().collect()),
        ReviewDecision::Reject if paid => {
            let amount = (row.amount - row.amount_refunded).max(0) as u64;
            let refund = refunds::refund(ctx.env, row, amount, by.reason, &format!("review-refund-{}", row.id)).await?;
            let record = RefundRecord {
                id: &refund.id,
                request_id: &row.id,
                amount: refund.amount,
                reason: by.reason,
                actor: by.actor,
                idempotency_key: None,
                provider_total: refund.provider_total,
            };
            (&[Status::Refunded], db::requests::refund_statements(ctx.db, &record)?)
        }
        ReviewDecision::Reject => (&[Status::Rejected], Vec::new()),
    };
    moved(lifecycle::advance(ctx, manifest, row, mv.along(path).with(extra)).await?)
}

fn moved(moved: bool) -> ApiResult<()> {
    if moved {
        Ok(())
    } else {
        Err(ApiError::concurrent_update("deciding on it"))
    }
}
