//! Closing auctions whose end has passed: one closer wins the claim (a conditional UPDATE); a
//! second run of the same close, or a concurrent one, finds nothing to claim. Settling is
//! idempotent per bid, so a closer that dies mid-way, or a provider call that fails, is
//! finished by the next run after the lease; a failing bid never stops the others.

use fanline_core::lifecycle::{groups, Status};
use fanline_core::manifest::Manifest;
use fanline_core::money::auction::{self, Bid};
use fanline_edge::db::{self, auctions::AuctionRow};
use fanline_edge::lifecycle::{self, Move};
use fanline_edge::money::holds::{self, HoldDecision};
use fanline_edge::platform::ctx::{By, Ctx};
use fanline_edge::platform::error::{ApiError, ApiResult};
use fanline_edge::providers::{stripe, ProviderError};
use worker::console_warn;

/// A closer that died mid-way is taken over after this long.
const CLOSE_LEASE_MS: i64 = 5 * 60 * 1000;

/// Closes every auction whose end has passed at `now`; how many this run closed.
pub async fn close_due(ctx: Ctx<'_>, now: i64) -> ApiResult<usize> {
    let mut closed = 0;
    for row in db::auctions::due(ctx.db, now, now - CLOSE_LEASE_MS).await? {
        match close(ctx, &row, now).await {
            Ok(true) => closed += 1,
            Ok(false) => {}
            Err(e) => console_warn!("closing auction {} failed, the next run retries: {e}", row.id),
        }
    }
    Ok(closed)
}

async fn close(ctx: Ctx<'_>, row: &AuctionRow, now: i64) -> ApiResult<bool> {
    if !db::auctions::claim_close(ctx.db, &row.id, now, now - CLOSE_LEASE_MS).await? {
        return Ok(false);
    }
    let (_, manifest) = db::apps::with_manifest(ctx.db, &row.app_slug).await?;
    let mut unsettled = expire_unpaid(ctx, &manifest, row).await?;
    let (won, failed) = capture_winners(ctx, &manifest, row).await?;
    unsettled += failed;
    unsettled += release_the_rest(ctx, &manifest, row, &won).await?;
    if unsettled > 0 {
        // Left `closing`: the next cron run after the lease takes it up again.
        return Ok(false);
    }
    db::auctions::closed(ctx.db, &row.id).await?;
    Ok(true)
}

/// Bids still at checkout can no longer be paid: their sessions expire first. A session the
/// fan completed meanwhile stays awaiting payment: its webhook releases the hold. Returns how
/// many could not be expired.
async fn expire_unpaid(ctx: Ctx<'_>, manifest: &Manifest, row: &AuctionRow) -> ApiResult<usize> {
    let mut unsettled = 0;
    for (id, session) in db::auctions::unpaid_bids(ctx.db, &row.id).await? {
        match expire_session(ctx, session.as_deref()).await {
            Ok(true) => {
                if let Some(request) = db::requests::get(ctx.db, &id).await?.filter(|r| r.status == Status::AwaitingPayment) {
                    lifecycle::advance(ctx, manifest, &request, Move::to(&[Status::Expired], By::new("auction", Some("auction ended before payment")))).await?;
                }
            }
            Ok(false) => {}
            Err(e) => {
                unsettled += 1;
                console_warn!("expiring the checkout of bid {id} failed, the next run retries: {e}");
            }
        }
    }
    Ok(unsettled)
}

/// Expires a bid's Checkout Session: `Ok(false)` when the fan paid first (its
/// `checkout.session.completed` is on its way). One Stripe will not expire is looked up.
async fn expire_session(ctx: Ctx<'_>, session: Option<&str>) -> Result<bool, ProviderError> {
    let Some(session) = session else { return Ok(true) };
    match stripe::expire_checkout(ctx.env, session).await {
        Ok(()) => Ok(true),
        Err(ProviderError::Refused { .. }) => Ok(!stripe::checkout_complete(ctx.env, session).await?),
        Err(e) => Err(e),
    }
}

/// The bids that win now: accepted bids keep their slots, the highest held bids fill the rest.
async fn winners(ctx: Ctx<'_>, row: &AuctionRow, dropped: &[String]) -> ApiResult<Vec<String>> {
    let accepted: Vec<Bid> = db::auctions::held_bids(ctx.db, &row.id, groups::TAKEN_ON).await?;
    let held: Vec<Bid> = db::auctions::held_bids(ctx.db, &row.id, &[Status::Queued]).await?.into_iter().filter(|b| !dropped.contains(&b.id)).collect();
    Ok(auction::outcome(row.slots as u32, &accepted, &held).0)
}

/// Captures the winners. A hold that can no longer be captured drops out and the next bid
/// moves up. Returns the winners and how many captures failed (retried by the next run).
async fn capture_winners(ctx: Ctx<'_>, manifest: &Manifest, row: &AuctionRow) -> ApiResult<(Vec<String>, usize)> {
    let mut dropped: Vec<String> = Vec::new();
    let mut retrying: Vec<String> = Vec::new();
    'ranking: loop {
        for id in winners(ctx, row, &dropped).await? {
            let Some(request) = db::requests::get(ctx.db, &id).await? else { continue };
            if retrying.contains(&id) || request.status != Status::Queued || !request.is_uncaptured_hold() {
                continue;
            }
            match holds::settle(ctx, manifest, &request, HoldDecision::Accept { then_fulfil: false }, Move::by(By::new("auction", Some("won the auction"))))
                .await
            {
                Ok(_) => {}
                // The provider's refusal, as `holds::settle` passes it on (a 4xx from Stripe).
                Err(ApiError::BadRequest { code: "payment_provider_refused", message }) => {
                    // Stripe refused the capture for good (the authorization lapsed or was
                    // cancelled): the bid cannot win, and the next one takes its slot.
                    console_warn!("bid {id} could not be captured: {message}");
                    lifecycle::advance(ctx, manifest, &request, Move::to(&[Status::Expired], By::new("auction", Some("the card hold could not be captured"))))
                        .await?;
                    dropped.push(id);
                    continue 'ranking;
                }
                Err(e) => {
                    console_warn!("capturing bid {id} failed, the next run retries: {e}");
                    retrying.push(id);
                }
            }
        }
        break;
    }
    Ok((winners(ctx, row, &dropped).await?, retrying.len()))
}

/// Everything else that still holds a card is released: outbid bids, bids held for review,
/// bids whose payment landed during the close. A winner whose capture is being retried keeps
/// its hold. Returns how many releases failed.
async fn release_the_rest(ctx: Ctx<'_>, manifest: &Manifest, row: &AuctionRow, won: &[String]) -> ApiResult<usize> {
    let mut unsettled = 0;
    for bid in db::auctions::held_bids(ctx.db, &row.id, groups::WAITING_ON_CREATOR).await? {
        if won.contains(&bid.id) {
            continue;
        }
        let Some(request) = db::requests::get(ctx.db, &bid.id).await? else { continue };
        if !request.is_uncaptured_hold() {
            continue;
        }
        let reason = if request.status == Status::HeldForReview { "auction ended before review" } else { "outbid" };
        if let Err(e) = holds::settle(ctx, manifest, &request, HoldDecision::Decline, Move::by(By::new("auction", Some(reason)))).await {
            unsettled += 1;
            console_warn!("releasing bid {} failed, the next run retries: {e}", bid.id);
        }
    }
    Ok(unsettled)
}
