//! The creator's actions on one request: complete, close, accept, decline, approve or reject
//! from review, and refund. Each takes a strict JSON body and answers with the request as the
//! creator sees it.

use crate::app::view::{load, view};
use crate::db::{
    self,
    creators::Creator,
    requests::{RefundRecord, RequestRow},
};
use crate::lifecycle::{self, Move};
use crate::money::{auctions, credits, holds, refunds};
use crate::platform::body::strict_json;
use crate::platform::ctx::{By, Ctx};
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::http::{header, json, origin};
use crate::review::{self, ReviewDecision};
use crate::trust::auth;
use fanline_core::intake::ids;
use fanline_core::lifecycle::Status;
use fanline_core::manifest::Manifest;
use sha2::Digest;
use worker::{D1Database, Env, Request, Response};

/// The creator behind the key and their request; another creator's request is "not found".
pub async fn owned_request(req: &Request, db: &D1Database, manifest: &Manifest, id: &str) -> ApiResult<(Creator, RequestRow)> {
    let creator = auth::creator(req, db).await?;
    let row = load(db, manifest, id).await?;
    auth::owned_app(db, &creator, &manifest.slug).await.map_err(|_| ApiError::NotFound("request"))?;
    Ok((creator, row))
}

/// `{"note": "..."}` of complete and close; every key optional, nothing else accepted.
#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct NoteBody {
    note: Option<String>,
}

/// `{"reason": "..."}` of accept, decline, approve and reject.
#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ReasonBody {
    reason: Option<String>,
}

/// `{"amount": 500, "reason": "late"}` of a refund; `amount` left out refunds what is left.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RefundBody {
    amount: Option<u64>,
    reason: Option<String>,
}

/// Free text from a creator, cut to `max` characters.
fn cut(text: Option<String>, max: usize) -> Option<String> {
    text.map(|t| t.chars().take(max).collect())
}

/// The request as it is now, for the answer to an action.
async fn answer(db: &D1Database, manifest: &Manifest, id: &str, origin: &str) -> ApiResult<Response> {
    let row = load(db, manifest, id).await?;
    Ok(json(200, &view(db, &row, origin, true).await?))
}

/// `POST .../complete`: the creator marks the request fulfilled.
pub async fn complete(mut req: Request, env: &Env, manifest: &Manifest, id: &str) -> ApiResult<Response> {
    let db = db::db(env)?;
    let (creator, row) = owned_request(&req, &db, manifest, id).await?;
    let note = cut(strict_json::<NoteBody>(&mut req, r#"{"note": "played at 21:04"}"#, true).await?.note, 500);
    let origin = origin(&req);
    let actor = format!("creator:{}", creator.id);
    let (ctx, by) = (Ctx { env, db: &db, origin: &origin }, By::new(&actor, note.as_deref()));
    // Completing a request whose payment is still a hold captures it first.
    let moved = if row.is_uncaptured_hold() {
        row.status.walk(&[Status::Accepted, Status::Fulfilled]).map_err(|e| ApiError::Conflict { code: "invalid_transition", message: e.to_string() })?;
        holds::settle(ctx, manifest, &row, holds::HoldDecision::Accept { then_fulfil: true }, Move::by(by)).await?
    } else {
        lifecycle::advance(ctx, manifest, &row, Move::to(&[Status::Fulfilled], by)).await?
    };
    if !moved {
        return Err(ApiError::concurrent_update("completing it"));
    }
    answer(&db, manifest, id, &origin).await
}

/// `POST .../close`: the creator files a fulfilled request away; it leaves the open queue and
/// `request.closed` can be routed (a last note, a card archived by a Zap).
pub async fn close(mut req: Request, env: &Env, manifest: &Manifest, id: &str) -> ApiResult<Response> {
    let db = db::db(env)?;
    let (creator, row) = owned_request(&req, &db, manifest, id).await?;
    let note = cut(strict_json::<NoteBody>(&mut req, r#"{"note": "thanks for the request"}"#, true).await?.note, 500);
    let origin = origin(&req);
    let actor = format!("creator:{}", creator.id);
    if !lifecycle::advance(Ctx { env, db: &db, origin: &origin }, manifest, &row, Move::to(&[Status::Closed], By::new(&actor, note.as_deref()))).await? {
        return Err(ApiError::concurrent_update("closing it"));
    }
    answer(&db, manifest, id, &origin).await
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Accept,
    Decline,
}

/// `POST .../accept` and `POST .../decline` (`{"reason": "..."}` optional). On a held payment,
/// accepting captures it and declining releases it, so the fan is only charged for work the
/// creator took on. A paid (captured) request is declined by refunding it instead.
pub async fn decide(mut req: Request, env: &Env, manifest: &Manifest, id: &str, decision: Decision) -> ApiResult<Response> {
    let db = db::db(env)?;
    let (creator, row) = owned_request(&req, &db, manifest, id).await?;
    let reason = cut(strict_json::<ReasonBody>(&mut req, r#"{"reason": "not my style"}"#, true).await?.reason, 500);
    let target = match decision {
        Decision::Accept => Status::Accepted,
        Decision::Decline => Status::Rejected,
    };
    row.status.walk(&[target]).map_err(|e| ApiError::Conflict { code: "invalid_transition", message: e.to_string() })?;
    // Accepting a bid captures it and gives it a slot for good, so only while slots are left.
    if let (Decision::Accept, Some(auction_id)) = (&decision, &row.auction_id) {
        auctions::may_accept(&db, auction_id).await?;
    }
    let origin = origin(&req);
    let actor = format!("creator:{}", creator.id);
    let (ctx, by) = (Ctx { env, db: &db, origin: &origin }, By::new(&actor, reason.as_deref()));
    let moved = match (decision, row.is_uncaptured_hold()) {
        (Decision::Accept, true) => holds::settle(ctx, manifest, &row, holds::HoldDecision::Accept { then_fulfil: false }, Move::by(by)).await?,
        (Decision::Decline, true) => holds::settle(ctx, manifest, &row, holds::HoldDecision::Decline, Move::by(by)).await?,
        // Credits come back to the fan's balance in the same batch as the decline.
        (Decision::Decline, false) if row.credits_spent > 0 => {
            let give_back = credits::give_back(&db, &row, "declined")?;
            lifecycle::advance(ctx, manifest, &row, Move::to(&[target], by).with(give_back)).await?
        }
        (Decision::Decline, false) if row.is_charged() => {
            return Err(ApiError::Conflict { code: "refund_first", message: "This request is paid; refund it (POST .../refund) to decline it.".into() })
        }
        _ => lifecycle::advance(ctx, manifest, &row, Move::to(&[target], by)).await?,
    };
    if !moved {
        return Err(ApiError::concurrent_update("deciding on it"));
    }
    answer(&db, manifest, id, &origin).await
}

/// `POST .../approve` and `POST .../reject` (`{"reason": "..."}` optional) for a request held
/// for review; see `review::decide`.
pub async fn review(mut req: Request, env: &Env, manifest: &Manifest, id: &str, decision: ReviewDecision) -> ApiResult<Response> {
    let db = db::db(env)?;
    let (creator, row) = owned_request(&req, &db, manifest, id).await?;
    let reason = cut(strict_json::<ReasonBody>(&mut req, r#"{"reason": "fine by me"}"#, true).await?.reason, 500);
    let origin = origin(&req);
    let actor = format!("creator:{}", creator.id);
    review::decide(Ctx { env, db: &db, origin: &origin }, manifest, &row, decision, Move::by(By::new(&actor, reason.as_deref()))).await?;
    answer(&db, manifest, id, &origin).await
}

/// `POST .../refund` with `{"amount": 500, "reason": "..."}` (`{}` refunds all that is left)
/// and an `Idempotency-Key` header, which is required: it is what makes a blind retry after a
/// lost answer return the first refund instead of making a second. A refund that empties the
/// payment moves the request to `refunded`.
pub async fn refund(mut req: Request, env: &Env, manifest: &Manifest, id: &str) -> ApiResult<Response> {
    let db = db::db(env)?;
    let (creator, row) = owned_request(&req, &db, manifest, id).await?;
    let Some(caller_key) = header(&req, "Idempotency-Key") else {
        return Err(ApiError::bad_request(
            "idempotency_key_required",
            "Send an Idempotency-Key header (any unique string per refund you mean, e.g. a UUID) so that retrying this call can never refund twice.",
        ));
    };
    let caller_key = ids::parse_idempotency_key(&caller_key).map_err(|m| ApiError::bad_request("invalid_idempotency_key", m))?;
    let body: RefundBody = strict_json(&mut req, r#"{"amount": 500, "reason": "late"}"#, false).await?;
    let reason = cut(body.reason, 200);
    let origin = origin(&req);
    // The provider's key is the caller's key, hashed: stable for retries, short enough for
    // PayPal-Request-Id, and scoped to this request. A key that already refunded answers as
    // it did then, whatever happened to the request since.
    let key = format!("refund-{id}-{}", &hex::encode(sha2::Sha256::digest(caller_key.as_bytes()))[..32]);
    if db::requests::refunded_with_key(&db, id, &key).await? {
        return Ok(json(200, &view(&db, &row, &origin, true).await?));
    }
    if row.is_uncaptured_hold() {
        return Err(ApiError::Conflict {
            code: "not_refundable",
            message: "This payment is only a hold; decline the request (POST .../decline) to release it.".into(),
        });
    }
    let actor = format!("creator:{}", creator.id);
    let (ctx, by) = (Ctx { env, db: &db, origin: &origin }, By::new(&actor, reason.as_deref()));
    if row.credits_spent > 0 {
        return refund_credits(ctx, manifest, &row, body.amount, by).await;
    }
    if !row.is_charged() || !row.status.can_become(Status::Refunded) {
        return Err(ApiError::Conflict { code: "not_refundable", message: format!("A request that is {} has no payment to refund.", row.status.as_str()) });
    }
    let remaining = (row.amount - row.amount_refunded).max(0) as u64;
    let amount = body.amount.unwrap_or(remaining);
    if amount == 0 || amount > remaining {
        return Err(ApiError::bad_request("invalid_refund_amount", format!("Refund between 1 and {remaining} (what is left of the payment).")));
    }
    let refund = refunds::refund(env, &row, amount, reason.as_deref(), &key).await?;
    let record = RefundRecord {
        id: &refund.id,
        request_id: id,
        amount: refund.amount,
        reason: reason.as_deref(),
        actor: &actor,
        idempotency_key: Some(&key),
        provider_total: refund.provider_total,
    };
    db::commit_all(&db, db::requests::refund_statements(&db, &record)?).await?;
    let fresh = load(&db, manifest, id).await?;
    if fresh.amount_refunded >= fresh.amount && fresh.status.can_become(Status::Refunded) {
        // Losing this race means the provider's webhook moved it first, which is as good.
        lifecycle::advance(ctx, manifest, &fresh, Move::to(&[Status::Refunded], by)).await?;
    }
    answer(&db, manifest, id, &origin).await
}

/// A request paid with credits is refunded in credits: all of them go back to the fan's
/// balance (the ledger reference makes it once), and the request becomes `refunded`.
async fn refund_credits(ctx: Ctx<'_>, manifest: &Manifest, row: &RequestRow, amount: Option<u64>, by: By<'_>) -> ApiResult<Response> {
    if amount.is_some() {
        return Err(ApiError::bad_request("invalid_refund_amount", "A request paid with credits is refunded whole; leave out amount."));
    }
    let give_back = credits::give_back(ctx.db, row, "refunded")?;
    if !lifecycle::advance(ctx, manifest, row, Move::to(&[Status::Refunded], by).with(give_back)).await? {
        return Err(ApiError::concurrent_update("refunding it"));
    }
    answer(ctx.db, manifest, &row.id, ctx.origin).await
}
