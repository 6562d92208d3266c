//! `POST /webhooks/payment`: Stripe's events, verified by `Stripe-Signature`. Checkout
//! sessions of requests, credit packs and tiers; subscriptions; refunds and disputes, wherever
//! they were started (our API or Stripe's dashboard).

use super::ack;
use fanline_core::lifecycle::Status;
use fanline_core::manifest::{Limits, Manifest};
use fanline_core::money::purchase::PurchaseStatus;
use fanline_core::money::stripe::{self as wire, ChargeEvent, CheckoutEvent, CheckoutOutcome, Purpose};
use fanline_core::webhook::WebhookOutcome;
use fanline_edge::db::{
    self,
    apps::AppRow,
    provider_events::{Event, Source},
    requests::{RefundRecord, RequestRow},
    BatchOutcome,
};
use fanline_edge::lifecycle::{self, Move};
use fanline_edge::money::{auctions, credits};
use fanline_edge::platform::body::{read_capped, WEBHOOK_MAX};
use fanline_edge::platform::config::{now_ms, required_config};
use fanline_edge::platform::ctx::{By, Ctx};
use fanline_edge::platform::error::{ApiError, ApiResult};
use fanline_edge::platform::http::{header, origin};
use fanline_edge::providers::stripe;
use fanline_edge::trust::limits;
use worker::{console_log, D1PreparedStatement, Env, Request, Response};

pub async fn handle(mut req: Request, env: &Env) -> ApiResult<Response> {
    let secret = required_config(env, "STRIPE_WEBHOOK_SECRET")?;
    let body = read_capped(&mut req, WEBHOOK_MAX).await?;
    let signature = header(&req, "Stripe-Signature");
    wire::verify_signature(signature.as_deref(), &body, &secret, now_ms() / 1000, wire::DEFAULT_TOLERANCE_SECS)
        .map_err(|e| ApiError::bad_request("invalid_signature", e.message()))?;
    let parsed = wire::Event::parse(&body).map_err(|m| ApiError::bad_request("invalid_event", m))?;
    let db = db::db(env)?;
    let origin = origin(&req);
    let ctx = Ctx { env, db: &db, origin: &origin };
    let event = Event { source: Source::Stripe, id: &parsed.id, kind: &parsed.kind };
    let done = |outcome| Ok(ack("event", &parsed.id, outcome));

    // The common event, a request's checkout, reads whether it was seen with everything else
    // it needs (`Known`), in one round trip.
    if let Some(checkout) = wire::checkout_event(&parsed).filter(|c| c.purpose == Purpose::Request) {
        return done(until_settled(&db, &event, || apply_checkout(ctx, &event, &checkout)).await?);
    }
    if event.seen(&db).await? {
        return done(WebhookOutcome::Duplicate);
    }
    if let Some(sub) = wire::subscription_event(&parsed) {
        let batch = vec![
            event.processed(&db, None, WebhookOutcome::Applied)?,
            db::subscriptions::upsert(&db, &sub)?,
            db::subscriptions::signups_done(&db, &sub.fan_id, &sub.app_slug)?,
        ];
        return done(applied_once(&db, batch).await?);
    }
    if let Some(payment) = wire::tier_payment(&parsed) {
        let batch = vec![event.processed(&db, None, WebhookOutcome::Applied)?, db::subscriptions::record_payment(&db, &payment)?];
        return done(applied_once(&db, batch).await?);
    }
    if let Some(charge) = wire::charge_event(&parsed) {
        if let Some(invoice) = db::subscriptions::payment_by_intent(&db, charge.payment_intent()).await? {
            // A refund of a tier payment lowers tier revenue; the tier itself ends only when
            // the subscription does (its own events say so).
            let ChargeEvent::Refunded { amount_refunded, .. } = charge else {
                event.record(&db, None, WebhookOutcome::Recorded).await?;
                return done(WebhookOutcome::Recorded);
            };
            let batch = vec![event.processed(&db, None, WebhookOutcome::Applied)?, db::subscriptions::payment_refunded(&db, &invoice, amount_refunded)?];
            return done(applied_once(&db, batch).await?);
        }
        if let Some(purchase) = db::credits::purchase_by_payment_intent(&db, charge.payment_intent()).await? {
            // Only a full refund of a pack takes credits back; anything else about a pack
            // (a partial refund, a dispute) is recorded for the creator to see.
            if !matches!(charge, ChargeEvent::Refunded { full: true, .. }) || purchase.status != PurchaseStatus::Paid {
                event.record(&db, None, WebhookOutcome::AlreadySettled).await?;
                return done(WebhookOutcome::AlreadySettled);
            }
            let mut batch = vec![event.processed(&db, None, WebhookOutcome::Applied)?];
            batch.extend(credits::pack_refund_statements(&db, &purchase).await?);
            return done(applied_once(&db, batch).await?);
        }
        return done(until_settled(&db, &event, || apply_charge(ctx, &event, &charge)).await?);
    }
    let Some(checkout) = wire::checkout_event(&parsed) else {
        event.record(&db, None, WebhookOutcome::Ignored).await?;
        return done(WebhookOutcome::Ignored);
    };
    match checkout.purpose {
        // Answered above; a request's checkout never gets here.
        Purpose::Request => done(until_settled(&db, &event, || apply_checkout(ctx, &event, &checkout)).await?),
        // The subscription's own events carry the tier; the session only starts it. An expired
        // session frees the fan to start another.
        Purpose::Tier => {
            let mut batch = vec![event.processed(&db, None, WebhookOutcome::Recorded)?];
            if checkout.outcome.unpaid_for_good() {
                batch.push(db::subscriptions::signup_expired(&db, &checkout.reference)?);
            }
            db::commit(&db, batch).await?;
            done(WebhookOutcome::Recorded)
        }
        Purpose::CreditPack => {
            let Some(purchase) = db::credits::purchase(&db, &checkout.reference).await? else {
                event.record(&db, None, WebhookOutcome::UnknownPurchase).await?;
                return done(WebhookOutcome::UnknownPurchase);
            };
            let outcome = match credits::settle_statements(&db, &purchase, &checkout)? {
                Err(refusal) => {
                    event.record(&db, None, refusal).await?;
                    refusal
                }
                Ok(mut batch) => {
                    batch.insert(0, event.processed(&db, None, WebhookOutcome::Applied)?);
                    applied_once(&db, batch).await?
                }
            };
            done(outcome)
        }
    }
}

/// Commits the event's row with what it applies; a conflict is another delivery of it.
async fn applied_once(db: &worker::D1Database, batch: Vec<D1PreparedStatement>) -> ApiResult<WebhookOutcome> {
    match db::commit(db, batch).await? {
        BatchOutcome::Committed => Ok(WebhookOutcome::Applied),
        BatchOutcome::Conflict(_) => Ok(WebhookOutcome::Duplicate),
        BatchOutcome::Refused(why) => Err(ApiError::internal(format!("a payment event was refused: {why:?}"))),
    }
}

/// A conflict means another delivery of this event, or another writer on this request, got
/// there first; re-reading and trying again settles which (`None` from `apply` is a lost race).
async fn until_settled<F, Fut>(db: &worker::D1Database, event: &Event<'_>, mut apply: F) -> ApiResult<WebhookOutcome>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ApiResult<Option<WebhookOutcome>>>,
{
    for _ in 0..3 {
        if let Some(outcome) = apply().await? {
            return Ok(outcome);
        }
        if event.seen(db).await? {
            return Ok(WebhookOutcome::Duplicate);
        }
    }
    Err(ApiError::Unavailable("the request kept changing; Stripe will retry".into()))
}

/// The session is made before the request's row commits, so its event can win the race:
/// answer non-2xx (without recording it) and Stripe delivers it again.
fn not_yet_known() -> ApiError {
    ApiError::Unavailable("The payment this event belongs to is not recorded yet; the event will be accepted on a later delivery.".into())
}

/// Whether the PaymentIntent is an authorization waiting to be captured (for `amount`, when given).
async fn is_held(env: &Env, payment_intent: &str, amount: Option<u64>) -> ApiResult<bool> {
    let (status, held_amount) = stripe::payment_intent(env, payment_intent).await?;
    Ok(status == "requires_capture" && amount.is_none_or(|a| held_amount == Some(a)))
}

/// What a request's payment event needs, read together: whether the event was acted on, the
/// request, its app and the creator's own limits on that app.
struct Known {
    seen: bool,
    row: Option<RequestRow>,
    app: Option<AppRow>,
    limits: Option<Limits>,
}

impl Known {
    async fn read(db: &worker::D1Database, event: &Event<'_>, request_id: &str) -> ApiResult<Self> {
        let queries = vec![
            event.seen_query(db)?,
            db::requests::get_query(db, request_id)?,
            db::apps::of_request_query(db, request_id)?,
            db::limits::app_limits_of_request_query(db, request_id)?,
        ];
        let results = db::read_together(db, queries).await?;
        let [seen, row, app, limits] = results.as_slice() else {
            return Err(ApiError::internal(format!("a batch of 4 reads gave {} results", results.len())));
        };
        Ok(Self { seen: Event::was_seen(seen)?, row: db::first_of(row)?, app: db::first_of(app)?, limits: db::limits::app_limits_of(limits)? })
    }
}

/// `None` when the batch lost a race and the caller should look again.
async fn apply_checkout(ctx: Ctx<'_>, event: &Event<'_>, checkout: &CheckoutEvent) -> ApiResult<Option<WebhookOutcome>> {
    let known = Known::read(ctx.db, event, &checkout.reference).await?;
    if known.seen {
        return Ok(Some(WebhookOutcome::Duplicate));
    }
    let Some(row) = known.row else {
        return Err(not_yet_known());
    };
    let app = known.app.ok_or_else(|| ApiError::Internal(format!("app {} missing", row.app_slug)))?;
    let completed = checkout.outcome == CheckoutOutcome::Completed;
    let expected = row.checkout_session_id.as_deref() == Some(checkout.session_id.as_str());
    // A paid session must say what it took; a missing amount or currency is no match.
    let amount_ok = checkout.amount_total == Some(row.amount as u64) && checkout.currency.as_deref() == Some(row.currency.as_str());
    let manifest = app.manifest()?;
    // A held payment is not "paid" on the session; the PaymentIntent says whether it is held.
    let waiting = row.status == Status::AwaitingPayment;
    let held = match (manifest.holds_payment(), completed && expected && waiting, checkout.payment_intent.as_deref()) {
        (true, true, Some(pi)) => is_held(ctx.env, pi, Some(row.amount as u64)).await?,
        _ => false,
    };
    // A hold that landed for a request no longer waiting (its auction closed, or it expired)
    // is released at once: nobody may keep a fan's card authorized for nothing.
    if let (true, true, false, Some(pi)) = (manifest.holds_payment(), completed && expected, waiting, checkout.payment_intent.as_deref()) {
        if row.payment_intent_id.as_deref() != Some(pi) && is_held(ctx.env, pi, None).await? {
            stripe::release(ctx.env, pi, &row.id, "abandoned").await?;
            event.record(ctx.db, Some(&row.id), WebhookOutcome::Released).await?;
            return Ok(Some(WebhookOutcome::Released));
        }
    }
    let refusal = if completed && !checkout.paid && !held {
        Some(WebhookOutcome::NotPaid)
    } else if !expected || (completed && !amount_ok) {
        Some(WebhookOutcome::Mismatch)
    } else if !waiting {
        Some(WebhookOutcome::AlreadySettled)
    } else {
        None
    };
    if let Some(outcome) = refusal {
        event.record(ctx.db, Some(&row.id), outcome).await?;
        return Ok(Some(outcome));
    }
    // A bid authorized after its auction closed never counts: release it at once.
    if let (true, Some(auction_id), Some(pi)) = (held, &row.auction_id, checkout.payment_intent.as_deref()) {
        if !auctions::accepts_holds(ctx.db, auction_id).await? {
            stripe::release(ctx.env, pi, &row.id, "abandoned").await?;
            let mv = Move::to(&[Status::Expired], By::new("stripe", Some("auction had ended"))).with([event.processed(
                ctx.db,
                Some(&row.id),
                WebhookOutcome::AuctionClosed,
            )?]);
            let moved = lifecycle::advance(ctx, &manifest, &row, mv).await?;
            return Ok(moved.then_some(WebhookOutcome::AuctionClosed));
        }
    }
    // The queue has no room for this request (its capacity was lowered while the fan paid):
    // the payment goes straight back instead of pushing the queue past its capacity.
    if let (true, Some(pi)) = (completed && row.auction_id.is_none(), checkout.payment_intent.as_deref()) {
        if limits::full_under(ctx.db, &known.limits.unwrap_or(manifest.limits), &manifest.slug, &row.id).await? {
            return give_back_full_queue(ctx, &manifest, event, &row, Landed { payment_intent: pi, held }).await;
        }
    }
    let mut extra = vec![
        event.processed(ctx.db, Some(&row.id), WebhookOutcome::Applied)?,
        db::requests::set_payment_intent(ctx.db, &row.id, checkout.payment_intent.as_deref())?,
    ];
    // Only a bid whose hold is in place moves its auction's end (anti-sniping).
    if let (true, Some(auction_id)) = (held, &row.auction_id) {
        extra.extend(auctions::on_hold(ctx.db, &manifest, auction_id, now_ms()).await?);
    }
    if held {
        // An auction bid waits for the close, which comes well inside a card hold's ~7 days.
        let hours = manifest.pricing.hold.map_or(144, |h| i64::from(h.accept_within_hours));
        extra.push(db::requests::set_hold_until(ctx.db, &row.id, now_ms() + hours * 3_600_000)?);
    }
    let after = row.after_payment(held);
    let path: &[Status] = if completed { &after } else { &[Status::Expired] };
    let moved = lifecycle::advance(ctx, &manifest, &row, Move::to(path, By::new("stripe", Some(event.id))).with(extra)).await?;
    if moved {
        console_log!("request {} moved to {} by {}", row.id, path[0].as_str(), event.id);
    }
    Ok(moved.then_some(WebhookOutcome::Applied))
}

/// A payment that arrived for a request: its PaymentIntent, and whether it is only a hold.
struct Landed<'a> {
    payment_intent: &'a str,
    held: bool,
}

/// Gives a payment back because the queue is full: a hold is released (the request expires),
/// a charge is refunded in full (the request is paid, then refunded), each with the reason.
async fn give_back_full_queue(ctx: Ctx<'_>, manifest: &Manifest, event: &Event<'_>, row: &RequestRow, landed: Landed<'_>) -> ApiResult<Option<WebhookOutcome>> {
    const WHY: &str = "the creator's queue was full when the payment arrived; the payment was given back in full";
    let pi = landed.payment_intent;
    let mut extra = vec![event.processed(ctx.db, Some(&row.id), WebhookOutcome::QueueFull)?, db::requests::set_payment_intent(ctx.db, &row.id, Some(pi))?];
    let path: &[Status] = if landed.held {
        stripe::release(ctx.env, pi, &row.id, "abandoned").await?;
        &[Status::Expired]
    } else {
        let key = format!("queue-full-{}", row.id);
        let call = stripe::RefundCall {
            payment_intent: pi,
            amount: row.amount as u64,
            request_id: &row.id,
            reason: Some("queue full"),
            destination_charge: row.application_fee.is_some(),
            idempotency_key: &key,
        };
        let refund = stripe::refund(ctx.env, &call).await?;
        let record = RefundRecord {
            id: &refund.id,
            request_id: &row.id,
            amount: refund.amount,
            reason: Some("queue full"),
            actor: "fanline",
            idempotency_key: None,
            provider_total: refund.charge_total,
        };
        extra.extend(db::requests::refund_statements(ctx.db, &record)?);
        &[Status::Paid, Status::Refunded]
    };
    let moved = lifecycle::advance(ctx, manifest, row, Move::to(path, By::new("fanline", Some(WHY))).with(extra)).await?;
    Ok(moved.then_some(WebhookOutcome::QueueFull))
}

/// Refunds and disputes. `None` when the batch lost a race and the caller should look again.
async fn apply_charge(ctx: Ctx<'_>, event: &Event<'_>, charge: &ChargeEvent) -> ApiResult<Option<WebhookOutcome>> {
    // A refund or dispute can overtake the checkout event that records its payment: answer
    // non-2xx so Stripe delivers it again once the payment is known.
    let Some(row) = db::requests::by_payment_intent(ctx.db, charge.payment_intent()).await? else {
        return Err(not_yet_known());
    };
    let (mut extra, path): (Vec<_>, Vec<Status>) = match charge {
        ChargeEvent::Refunded { amount_refunded, full, .. } => {
            let fully = *full || *amount_refunded >= row.amount as u64;
            (vec![db::requests::raise_amount_refunded(ctx.db, &row.id, *amount_refunded)?], if fully { vec![Status::Refunded] } else { Vec::new() })
        }
        // Itemizes refunds made outside Fanline; the state follows `charge.refunded`. One our
        // API made is recorded by that call, with who asked and why.
        ChargeEvent::RefundCreated { made_here: true, .. } => (Vec::new(), Vec::new()),
        ChargeEvent::RefundCreated { refund_id, amount, reason, made_here: false, .. } => {
            let record = RefundRecord {
                id: refund_id,
                request_id: &row.id,
                amount: *amount,
                reason: Some(reason.as_deref().unwrap_or("refunded outside Fanline")),
                actor: "stripe",
                idempotency_key: None,
                provider_total: None,
            };
            (db::requests::refund_statements(ctx.db, &record)?, Vec::new())
        }
        ChargeEvent::DisputeOpened { dispute_id, amount, reason, .. } => {
            (vec![db::requests::open_dispute(ctx.db, &row.id, dispute_id, *amount, reason)?], vec![Status::Disputed])
        }
        ChargeEvent::DisputeClosed { dispute_id, won, status, .. } => {
            // Won: the creator keeps the money and the request goes back to where it was (a
            // queued request stays in the queue). Lost: the money went back.
            let back = if *won { Status::after_dispute_won(db::requests::status_before_dispute(ctx.db, &row.id).await?) } else { Status::Refunded };
            (vec![db::requests::close_dispute(ctx.db, dispute_id, status)?], vec![back])
        }
    };
    // Nothing to move (a partial refund, or a state that already reflects it): keep the data.
    let outcome = if path.is_empty() {
        WebhookOutcome::Recorded
    } else if row.status.walk(&path).is_err() {
        WebhookOutcome::AlreadySettled
    } else {
        WebhookOutcome::Applied
    };
    extra.insert(0, event.processed(ctx.db, Some(&row.id), outcome)?);
    if outcome != WebhookOutcome::Applied {
        return match db::commit(ctx.db, extra).await? {
            BatchOutcome::Committed => Ok(Some(outcome)),
            BatchOutcome::Conflict(_) => Ok(None),
            BatchOutcome::Refused(why) => Err(ApiError::internal(format!("a charge event was refused: {why:?}"))),
        };
    }
    let (_, manifest) = db::apps::with_manifest(ctx.db, &row.app_slug).await?;
    let moved = lifecycle::advance(ctx, &manifest, &row, Move::to(&path, By::new("stripe", Some(event.id))).with(extra)).await?;
    Ok(moved.then_some(WebhookOutcome::Applied))
}
