//! Live auctions: the creator opens an auction of a few slots; each bid is a request of the
//! auction app paid as a hold. At the end (the hub's cron, whose clock tests control) the
//! highest bids are captured and every other hold released, exactly once.

use crate::error::{ApiError, ApiResult};
use crate::http::json;
use crate::payments::{self, HoldDecision};
use crate::platform::{now_ms, random};
use crate::store::{self, Arg};
use crate::{auth, fulfilment};
use fanline_core::auction::{self, Bid};
use fanline_core::ids;
use fanline_core::manifest::{AuctionRules, Manifest};
use fanline_core::routing::rfc3339;
use fanline_core::state::Status;
use serde::Deserialize;
use serde_json::{json, Value};
use worker::{D1Database, Env, Request, Response};

/// Card authorizations lapse after about seven days, so an auction ends within five.
const LONGEST_SECS: i64 = 5 * 24 * 3600;
/// A closer that died mid-way is taken over after this long.
const CLOSE_LEASE_MS: i64 = 5 * 60 * 1000;

#[derive(Debug, Clone, Deserialize)]
pub struct AuctionRow {
    pub id: String,
    pub app_slug: String,
    pub title: String,
    pub slots: i64,
    pub ends_at: i64,
    pub status: String,
}

pub async fn load(db: &D1Database, manifest: &Manifest, id: &str) -> ApiResult<AuctionRow> {
    store::first::<AuctionRow>(db, "SELECT id, app_slug, title, slots, ends_at, status FROM auctions WHERE id = ?", &[id.into()])
        .await?
        .filter(|a| a.app_slug == manifest.slug)
        .ok_or(ApiError::NotFound("auction"))
}

fn rules(manifest: &Manifest) -> ApiResult<AuctionRules> {
    manifest.auction.ok_or(ApiError::NotFound("route"))
}

/// `POST .../api/auctions` (creator) with `{"title": "...", "slots": 3, "duration_secs": 3600}`.
pub async fn open(mut req: Request, env: &Env, manifest: &Manifest) -> ApiResult<Response> {
    rules(manifest)?;
    let db = store::db(env)?;
    let creator = auth::creator(&req, &db).await?;
    auth::owned_app(&db, &creator, &manifest.slug).await?;
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Open {
        title: Value,
        slots: Value,
        duration_secs: Value,
    }
    let body: Open = crate::body::strict_json(&mut req, r#"{"title": "Friday stream", "slots": 3, "duration_secs": 3600}"#, false).await?;
    let title = body.title.as_str().map(str::trim).filter(|t| !t.is_empty() && t.chars().count() <= 120).ok_or_else(|| ApiError::bad_request("invalid_title", "title is 1 to 120 characters."))?;
    let slots = body.slots.as_u64().filter(|s| (1..=50).contains(s)).ok_or_else(|| ApiError::bad_request("invalid_slots", "slots is a whole number from 1 to 50."))?;
    let duration = body.duration_secs.as_i64().filter(|d| (10..=LONGEST_SECS).contains(d)).ok_or_else(|| ApiError::bad_request("invalid_duration", format!("duration_secs is from 10 to {LONGEST_SECS} (card holds last about a week).")))?;
    let now = now_ms();
    let id = ids::token("auc_", &random::<12>());
    let ends_at = now + duration * 1000;
    store::run(
        &db,
        "INSERT INTO auctions (id, app_slug, title, slots, ends_at, scheduled_end, status, created_at) VALUES (?, ?, ?, ?, ?, ?, 'open', ?)",
        &[id.as_str().into(), manifest.slug.as_str().into(), title.into(), (slots as i64).into(), ends_at.into(), ends_at.into(), now.into()],
    )
    .await?;
    Ok(json(201, &view(&db, manifest, &load(&db, manifest, &id).await?).await?))
}

/// `GET .../api/auctions`: open and recent auctions, as fans see them.
pub async fn list(env: &Env, manifest: &Manifest) -> ApiResult<Response> {
    rules(manifest)?;
    let db = store::db(env)?;
    let rows: Vec<AuctionRow> = store::all(&db, "SELECT id, app_slug, title, slots, ends_at, status FROM auctions WHERE app_slug = ? ORDER BY created_at DESC LIMIT 50", &[manifest.slug.as_str().into()]).await?;
    let mut out = Vec::new();
    for row in &rows {
        out.push(view(&db, manifest, row).await?);
    }
    Ok(json(200, &json!({"auctions": out})))
}

pub async fn show(env: &Env, manifest: &Manifest, id: &str) -> ApiResult<Response> {
    rules(manifest)?;
    let db = store::db(env)?;
    Ok(json(200, &view(&db, manifest, &load(&db, manifest, id).await?).await?))
}

/// Bids whose payment is held (the only ones that count), highest first.
async fn held_bids(db: &D1Database, auction_id: &str, statuses: &str) -> ApiResult<Vec<(Bid, String)>> {
    #[derive(Deserialize)]
    struct Row {
        id: String,
        amount: i64,
        created_at: i64,
        status: String,
    }
    let sql = format!("SELECT id, amount, created_at, status FROM requests WHERE auction_id = ? AND payment_intent_id IS NOT NULL AND status IN ({statuses})");
    let rows: Vec<Row> = store::all(db, &sql, &[auction_id.into()]).await?;
    Ok(rows.into_iter().map(|r| (Bid { id: r.id, amount: r.amount.max(0) as u64, placed_at: r.created_at }, r.status)).collect())
}

async fn view(db: &D1Database, manifest: &Manifest, row: &AuctionRow) -> ApiResult<Value> {
    let rules = rules(manifest)?;
    let bids: Vec<Bid> = held_bids(db, &row.id, "'queued', 'accepted'").await?.into_iter().map(|(b, _)| b).collect();
    let mut amounts: Vec<u64> = bids.iter().map(|b| b.amount).collect();
    amounts.sort_unstable_by(|a, b| b.cmp(a));
    Ok(json!({
        "id": row.id,
        "title": row.title,
        "slots": row.slots,
        "status": row.status,
        "ends_at": rfc3339(row.ends_at),
        "ends_at_ms": row.ends_at,
        "currency": manifest.pricing.currency.as_str(),
        "minimum_bid": auction::minimum_bid(&rules, row.slots as u32, &bids),
        "min_increment": rules.min_increment,
        "anti_snipe_secs": rules.anti_snipe_secs,
        "max_extension_secs": rules.max_extension_secs,
        "held_bids": amounts,
        "bid_url": format!("/apps/{}/api/auctions/{}/bids", manifest.slug, row.id),
    }))
}

/// Checks a new bid against the auction at intake. The bid moves nothing yet: only when its
/// card hold is in place does it count, and only then may it push the end back (`on_hold`).
pub async fn admit_bid(db: &D1Database, manifest: &Manifest, auction_id: &str, amount: u64, now: i64) -> ApiResult<AuctionRow> {
    let rules = rules(manifest)?;
    let row = load(db, manifest, auction_id).await?;
    if row.status != "open" || now >= row.ends_at {
        return Err(ApiError::Conflict { code: "auction_closed", message: "This auction has ended.".into() });
    }
    // The same bids the auction's view counts, so the minimum shown is the minimum enforced.
    let bids: Vec<Bid> = held_bids(db, &row.id, "'queued', 'accepted'").await?.into_iter().map(|(b, _)| b).collect();
    let minimum = auction::minimum_bid(&rules, row.slots as u32, &bids);
    if amount < minimum {
        let shown = fanline_core::money::Money::new(minimum, manifest.pricing.currency.clone()).display();
        return Err(ApiError::Validation(vec![fanline_core::FieldError::new("bid", "bid_too_low", format!("Bid at least {shown}."))]));
    }
    Ok(row)
}

/// The statement that applies anti-sniping for a bid whose hold just landed at `now`: the end
/// moves back (never forward, never past the cap), in the same batch as the bid's payment.
pub async fn on_hold(db: &D1Database, manifest: &Manifest, auction_id: &str, now: i64) -> ApiResult<Option<worker::D1PreparedStatement>> {
    let rules = rules(manifest)?;
    #[derive(Deserialize)]
    struct Ends {
        ends_at: i64,
        scheduled_end: Option<i64>,
    }
    let Some(ends) = store::first::<Ends>(db, "SELECT ends_at, scheduled_end FROM auctions WHERE id = ? AND status = 'open'", &[auction_id.into()]).await? else { return Ok(None) };
    let ends_at = auction::extended_end(&rules, ends.scheduled_end.unwrap_or(ends.ends_at), ends.ends_at, now);
    if ends_at == ends.ends_at {
        return Ok(None);
    }
    Ok(Some(store::statement(db, "UPDATE auctions SET ends_at = MAX(ends_at, ?) WHERE id = ? AND status = 'open'", &[ends_at.into(), auction_id.into()])?))
}

/// Whether the creator may accept this bid now: its auction is open and fewer bids than slots
/// are accepted (an accepted bid is captured at once and keeps its slot at the close).
pub async fn may_accept(db: &D1Database, auction_id: &str) -> ApiResult<()> {
    #[derive(Deserialize)]
    struct Room {
        status: String,
        slots: i64,
        accepted: i64,
    }
    let room = store::first::<Room>(
        db,
        "SELECT status, slots, (SELECT COUNT(*) FROM requests WHERE auction_id = auctions.id AND status IN ('accepted', 'fulfilled', 'closed')) AS accepted FROM auctions WHERE id = ?",
        &[auction_id.into()],
    )
    .await?
    .ok_or(ApiError::NotFound("auction"))?;
    if room.status != "open" {
        return Err(ApiError::Conflict { code: "auction_closed", message: "This auction has closed; its bids were settled at the close.".into() });
    }
    if room.accepted >= room.slots {
        return Err(ApiError::Conflict { code: "no_slot_left", message: format!("All {} slots already have an accepted bid.", room.slots) });
    }
    Ok(())
}

/// Whether bids on this auction may still become held (a late authorization is released).
pub async fn accepts_holds(db: &D1Database, auction_id: &str) -> ApiResult<bool> {
    #[derive(Deserialize)]
    struct Status {
        status: String,
    }
    Ok(store::first::<Status>(db, "SELECT status FROM auctions WHERE id = ?", &[auction_id.into()]).await?.is_some_and(|s| s.status == "open"))
}

/// Closes every auction whose end has passed at `now` (the hub's cron). Returns how many
/// this run closed.
pub async fn close_due(env: &Env, now: i64, origin: &str) -> ApiResult<usize> {
    let db = store::db(env)?;
    let due: Vec<AuctionRow> = store::all(
        &db,
        "SELECT id, app_slug, title, slots, ends_at, status FROM auctions WHERE (status = 'open' AND ends_at <= ?) OR (status = 'closing' AND closed_at <= ?) LIMIT 20",
        &[now.into(), (now - CLOSE_LEASE_MS).into()],
    )
    .await?;
    let mut closed = 0;
    for row in due {
        match close(env, &db, &row, now, origin).await {
            Ok(true) => closed += 1,
            Ok(false) => {}
            Err(e) => worker::console_warn!("closing auction {} failed, the next run retries: {e:?}", row.id),
        }
    }
    Ok(closed)
}

/// One closer wins the claim (a conditional UPDATE); a second run of the same close, or a
/// concurrent one, finds nothing to claim. Settling is idempotent per bid, so a closer that
/// dies mid-way, or a provider call that fails, is finished by the next run after the lease;
/// a failing bid never stops the others.
async fn close(env: &Env, db: &D1Database, row: &AuctionRow, now: i64, origin: &str) -> ApiResult<bool> {
    let claimed = store::changes(
        db,
        "UPDATE auctions SET status = 'closing', closed_at = ? WHERE id = ? AND ((status = 'open' AND ends_at <= ?) OR (status = 'closing' AND closed_at <= ?))",
        &[now.into(), row.id.as_str().into(), now.into(), (now - CLOSE_LEASE_MS).into()],
    )
    .await?;
    if claimed != 1 {
        return Ok(false);
    }
    let app = store::app(db, &row.app_slug).await?.ok_or_else(|| ApiError::Internal(format!("app {} missing", row.app_slug)))?;
    let manifest = Manifest::parse(&app.manifest).map_err(ApiError::Internal)?;
    let mut unsettled = 0;

    // Bids still at checkout can no longer be paid: expire their sessions first. A session
    // the fan completed meanwhile stays awaiting payment: its webhook releases the hold.
    #[derive(Deserialize)]
    struct Unpaid {
        id: String,
        checkout_session_id: Option<String>,
    }
    let unpaid: Vec<Unpaid> = store::all(db, "SELECT id, checkout_session_id FROM requests WHERE auction_id = ? AND status = 'awaiting_payment'", &[row.id.as_str().into()]).await?;
    for bid in unpaid {
        let expired = match &bid.checkout_session_id {
            Some(session) => payments::expire_checkout(env, session).await,
            None => Ok(payments::Expiry::Expired),
        };
        match expired {
            Ok(payments::Expiry::Expired) => {
                if let Some(request) = store::request(db, &bid.id).await?.filter(|r| r.status().ok() == Some(Status::AwaitingPayment)) {
                    fulfilment::advance(env, db, &manifest, &request, &[Status::Expired], "auction", Some("auction ended before payment"), origin, Vec::new()).await?;
                }
            }
            Ok(payments::Expiry::AlreadyComplete) => {}
            Err(e) => {
                unsettled += 1;
                worker::console_warn!("expiring the checkout of bid {} failed, the next run retries: {e:?}", bid.id);
            }
        }
    }

    // Winners first: accepted bids keep their slots, the highest held bids fill the rest. A
    // hold that can no longer be captured drops out and the next bid moves up.
    let mut dropped: Vec<String> = Vec::new();
    let mut retrying: Vec<String> = Vec::new();
    let winners = |dropped: &Vec<String>| {
        let dropped = dropped.clone();
        async move {
            let accepted: Vec<Bid> = held_bids(db, &row.id, "'accepted', 'fulfilled', 'closed'").await?.into_iter().map(|(b, _)| b).collect();
            let held: Vec<Bid> = held_bids(db, &row.id, "'queued'").await?.into_iter().map(|(b, _)| b).filter(|b| !dropped.contains(&b.id)).collect();
            Ok::<_, ApiError>(auction::outcome(row.slots as u32, &accepted, &held).0)
        }
    };
    'ranking: loop {
        for id in winners(&dropped).await? {
            let Some(request) = store::request(db, &id).await? else { continue };
            if retrying.contains(&id) || request.status()? != Status::Queued || !request.is_uncaptured_hold() {
                continue;
            }
            match payments::settle_hold(env, db, &manifest, &request, HoldDecision::Accept { then_fulfil: false }, "auction", Some("won the auction"), origin).await {
                Ok(_) => {}
                Err(ApiError::BadRequest { message, .. }) => {
                    // Stripe refused the capture for good (the authorization lapsed or was
                    // cancelled): the bid cannot win, and the next one takes its slot.
                    worker::console_warn!("bid {id} could not be captured: {message}");
                    fulfilment::advance(env, db, &manifest, &request, &[Status::Expired], "auction", Some("the card hold could not be captured"), origin, Vec::new()).await?;
                    dropped.push(id);
                    continue 'ranking;
                }
                Err(e) => {
                    unsettled += 1;
                    retrying.push(id.clone());
                    worker::console_warn!("capturing bid {id} failed, the next run retries: {e:?}");
                }
            }
        }
        break;
    }

    // Everything else that still holds a card is released: outbid bids, bids held for review,
    // bids whose payment landed during the close. A winner whose capture is being retried
    // keeps its hold.
    let won = winners(&dropped).await?;
    for (bid, _) in held_bids(db, &row.id, "'queued', 'held_for_review'").await? {
        if won.contains(&bid.id) {
            continue;
        }
        let Some(request) = store::request(db, &bid.id).await? else { continue };
        if !request.is_uncaptured_hold() {
            continue;
        }
        let reason = if request.status()? == Status::HeldForReview { "auction ended before review" } else { "outbid" };
        if let Err(e) = payments::settle_hold(env, db, &manifest, &request, HoldDecision::Decline, "auction", Some(reason), origin).await {
            unsettled += 1;
            worker::console_warn!("releasing bid {} failed, the next run retries: {e:?}", bid.id);
        }
    }
    if unsettled > 0 {
        // Left `closing`: the next cron run after the lease takes it up again.
        return Ok(false);
    }
    store::run(db, "UPDATE auctions SET status = 'closed' WHERE id = ?", &[Arg::Text(&row.id)]).await?;
    Ok(true)
}
