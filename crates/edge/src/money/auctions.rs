//! Live auctions: the creator opens an auction of a few slots; each bid is a request of the
//! auction app paid as a hold. Bids are checked here at intake, in the app's Worker; listing,
//! showing and opening auctions are answered by the hub at the app's URLs (`src/app_common.rs`),
//! and its cron closes an auction (`src/cron/auctions.rs`), capturing the winners and releasing
//! every other hold.

use crate::db::{
    self,
    auctions::{AuctionRow, NewAuction},
};
use crate::platform::body::strict_json;
use crate::platform::config::{now_ms, random};
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::http::json;
use crate::trust::auth;
use fanline_core::intake::{ids, FieldError};
use fanline_core::lifecycle::groups;
use fanline_core::manifest::Manifest;
use fanline_core::money::auction::{self, AuctionRules, Bid};
use fanline_core::money::Money;
use fanline_core::util::time::rfc3339;
use serde::Deserialize;
use serde_json::{json, Value};
use worker::{D1Database, D1PreparedStatement, Env, Request, Response};

/// Card authorizations lapse after about seven days, so an auction ends within five.
const LONGEST_SECS: i64 = 5 * 24 * 3600;

pub async fn load(db: &D1Database, manifest: &Manifest, id: &str) -> ApiResult<AuctionRow> {
    db::auctions::get(db, id).await?.filter(|a| a.app_slug == manifest.slug).ok_or(ApiError::NotFound("auction"))
}

fn rules(manifest: &Manifest) -> ApiResult<AuctionRules> {
    manifest.auction.ok_or(ApiError::NotFound("route"))
}

/// `POST .../api/auctions` (creator) with `{"title": "...", "slots": 3, "duration_secs": 3600}`.
pub async fn open(mut req: Request, env: &Env, manifest: &Manifest) -> ApiResult<Response> {
    rules(manifest)?;
    let db = db::db(env)?;
    auth::creator_app(&req, &db, &manifest.slug).await?;
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Open {
        title: Value,
        slots: Value,
        duration_secs: Value,
    }
    let body: Open = strict_json(&mut req, r#"{"title": "Friday stream", "slots": 3, "duration_secs": 3600}"#, false).await?;
    let title = body
        .title
        .as_str()
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.chars().count() <= 120)
        .ok_or_else(|| ApiError::bad_request("invalid_title", "title is 1 to 120 characters."))?;
    let slots =
        body.slots.as_u64().filter(|s| (1..=50).contains(s)).ok_or_else(|| ApiError::bad_request("invalid_slots", "slots is a whole number from 1 to 50."))?;
    let duration = body
        .duration_secs
        .as_i64()
        .filter(|d| (10..=LONGEST_SECS).contains(d))
        .ok_or_else(|| ApiError::bad_request("invalid_duration", format!("duration_secs is from 10 to {LONGEST_SECS} (card holds last about a week).")))?;
    let now = now_ms();
    let id = ids::token("auc_", &random::<12>());
    db::auctions::insert(&db, &NewAuction { id: &id, app_slug: &manifest.slug, title, slots: slots as i64, ends_at: now + duration * 1000 }, now).await?;
    Ok(json(201, &view(&db, manifest, &load(&db, manifest, &id).await?).await?))
}

/// `GET .../api/auctions`: open and recent auctions, as fans see them.
pub async fn list(env: &Env, manifest: &Manifest) -> ApiResult<Response> {
    rules(manifest)?;
    let db = db::db(env)?;
    let mut out = Vec::new();
    for row in &db::auctions::list(&db, &manifest.slug).await? {
        out.push(view(&db, manifest, row).await?);
    }
    Ok(json(200, &json!({"auctions": out})))
}

pub async fn show(env: &Env, manifest: &Manifest, id: &str) -> ApiResult<Response> {
    rules(manifest)?;
    let db = db::db(env)?;
    Ok(json(200, &view(&db, manifest, &load(&db, manifest, id).await?).await?))
}

async fn view(db: &D1Database, manifest: &Manifest, row: &AuctionRow) -> ApiResult<Value> {
    let rules = rules(manifest)?;
    let bids = db::auctions::held_bids(db, &row.id, groups::LIVE_BIDS).await?;
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
    if !row.is_open() || now >= row.ends_at {
        return Err(ApiError::Conflict { code: "auction_closed", message: "This auction has ended.".into() });
    }
    // The same bids the auction's view counts, so the minimum shown is the minimum enforced.
    let bids: Vec<Bid> = db::auctions::held_bids(db, &row.id, groups::LIVE_BIDS).await?;
    let minimum = auction::minimum_bid(&rules, row.slots as u32, &bids);
    if amount < minimum {
        let shown = Money::new(minimum, manifest.pricing.currency.clone()).display();
        return Err(ApiError::Validation(vec![FieldError::new("bid", "bid_too_low", format!("Bid at least {shown}."))]));
    }
    Ok(row)
}

/// The statement that applies anti-sniping for a bid whose hold just landed at `now`: the end
/// moves back (never forward, never past the cap), in the same batch as the bid's payment.
pub async fn on_hold(db: &D1Database, manifest: &Manifest, auction_id: &str, now: i64) -> ApiResult<Option<D1PreparedStatement>> {
    let rules = rules(manifest)?;
    let Some(row) = db::auctions::get(db, auction_id).await?.filter(AuctionRow::is_open) else { return Ok(None) };
    let ends_at = auction::extended_end(&rules, row.scheduled_end.unwrap_or(row.ends_at), row.ends_at, now);
    if ends_at == row.ends_at {
        return Ok(None);
    }
    Ok(Some(db::auctions::extend(db, auction_id, ends_at)?))
}

/// Whether the creator may accept this bid now: its auction is open and fewer bids than slots
/// are accepted (an accepted bid is captured at once and keeps its slot at the close).
pub async fn may_accept(db: &D1Database, auction_id: &str) -> ApiResult<()> {
    let (room, taken) = db::auctions::taken_slots(db, auction_id).await?.ok_or(ApiError::NotFound("auction"))?;
    if !room.is_open() {
        return Err(ApiError::Conflict { code: "auction_closed", message: "This auction has closed; its bids were settled at the close.".into() });
    }
    if taken >= room.slots {
        return Err(ApiError::Conflict { code: "no_slot_left", message: format!("All {} slots already have an accepted bid.", room.slots) });
    }
    Ok(())
}

/// Whether bids on this auction may still become held (a late authorization is released).
pub async fn accepts_holds(db: &D1Database, auction_id: &str) -> ApiResult<bool> {
    Ok(db::auctions::get(db, auction_id).await?.is_some_and(|a| a.is_open()))
}
