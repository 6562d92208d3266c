//! Credit packs: a fan buys N requests up front through Checkout and spends them without a
//! card. The balance is the append-only ledger (`db::credits`); every entry has a unique
//! reference, so a replayed webhook or a retried call never credits or spends twice.

use crate::db::{
    self,
    credits::{Fan, LedgerEntry, NewPurchase, PurchaseRow},
    requests::RequestRow,
};
use crate::money::checkout::{self, checkout_expiry, creator_connect, purchase_body};
use crate::platform::config::{now_ms, random};
use crate::platform::error::ApiResult;
use crate::platform::http::{json, origin};
use crate::trust::{fans, signin};
use fanline_core::intake::ids;
use fanline_core::manifest::Manifest;
use fanline_core::money::purchase::PurchaseStatus;
use fanline_core::money::stripe::{self, CheckoutLine, CheckoutOutcome, Purpose};
use fanline_core::money::Money;
use fanline_core::util::time::rfc3339;
use fanline_core::webhook::WebhookOutcome;
use serde_json::json;
use worker::{D1Database, D1PreparedStatement, Env, Request, Response};

/// `POST .../api/credits/checkout` with `{"pack": "<id>", "email": "optional"}`: opens a
/// Checkout Session for the pack. A first-time buyer gets their fan token in the answer.
pub async fn checkout(mut req: Request, env: &Env, manifest: &Manifest) -> ApiResult<Response> {
    let db = db::db(env)?;
    let (body, email) = purchase_body(&mut req, env, &manifest.slug, "pack").await?;
    let Some(pack) = body["pack"].as_str().and_then(|id| manifest.credit_pack(id)) else {
        return Err(checkout::not_offered(
            "unknown_pack",
            "pack",
            "This app sells no credit packs.",
            manifest.pricing.credit_packs.iter().map(|p| p.id.as_str()),
        ));
    };
    let email = email.as_deref();
    let (fan, new_fan) = fans::existing_or_new(&req, &db, email).await?;
    let purchase_id = ids::token("cp_", &random::<12>());
    let price = Money::new(pack.amount, manifest.pricing.currency.clone());
    let page = format!("{}/apps/{}/", origin(&req), manifest.slug);
    let (success_url, cancel_url) = (format!("{page}?credits=1&purchase={purchase_id}"), format!("{page}?cancelled=1"));
    let connect = creator_connect(&db, manifest, pack.amount).await?;
    let session = checkout::open(
        env,
        &stripe::CheckoutRequest {
            expires_at: Some(checkout_expiry()),
            reference: &purchase_id,
            purpose: Purpose::CreditPack,
            app_slug: &manifest.slug,
            lines: &[CheckoutLine { name: format!("{} ({} credits)", pack.label, pack.credits), amount: price.clone() }],
            success_url: &success_url,
            cancel_url: &cancel_url,
            customer_email: email,
            hold: false,
            connect: connect.as_ref().map(|(destination, fee)| stripe::Connect { destination, application_fee: *fee }),
            subscription: None,
        },
    )
    .await?;
    let mut statements = Vec::new();
    if let Some(new) = &new_fan {
        statements.push(new.insert.clone());
    }
    let purchase = NewPurchase {
        id: &purchase_id,
        fan_id: &fan.id,
        app_slug: &manifest.slug,
        pack: &pack.id,
        credits: pack.credits,
        amount: pack.amount,
        currency: price.currency.as_str(),
        checkout_session_id: &session.id,
        checkout_url: &session.url,
    };
    statements.push(db::credits::insert_purchase(&db, &purchase, now_ms())?);
    db::commit_all(&db, statements).await?;
    let mut answer = json!({
        "purchase_id": purchase_id,
        "pack": pack.id,
        "credits": pack.credits,
        "price": {"amount": pack.amount, "currency": price.currency.as_str()},
        "checkout_url": session.url,
        "checkout_session_id": session.id,
        "fan_id": fan.id,
    });
    if let Some(new) = new_fan {
        answer["fan_token"] = json!(new.token);
    }
    Ok(json(201, &answer))
}

/// `GET .../api/me` with `Fan-Token`: the fan's credits (balance and every ledger entry),
/// pack purchases and tier at this app.
pub async fn me(req: &Request, env: &Env, manifest: &Manifest) -> ApiResult<Response> {
    let db = db::db(env)?;
    let fan = fans::required(req, &db, "Reading your balance").await?;
    let ledger = db::credits::ledger(&db, &fan.id, &manifest.slug).await?;
    let purchases = db::credits::purchases(&db, &fan.id, &manifest.slug).await?;
    let tier = fans::tier_of(&db, manifest, Some(&fan), signin::current(req, env, manifest).as_ref()).await?;
    Ok(json(
        200,
        &json!({
            "fan_id": fan.id,
            "app": manifest.slug,
            "credits": {
                "balance": ledger.last().map_or(0, |e| e.balance),
                "per_request": manifest.pricing.credits_per_request,
                "ledger": ledger.iter().map(|e| json!({"seq": e.seq, "delta": e.delta, "balance": e.balance, "reason": e.reason, "reference": e.reference, "at": rfc3339(e.at)})).collect::<Vec<_>>(),
            },
            "purchases": purchases.iter().map(|p| json!({"id": p.id, "pack": p.pack, "credits": p.credits, "amount": p.amount, "currency": manifest.pricing.currency.as_str(), "status": p.status, "created_at": rfc3339(p.created_at)})).collect::<Vec<_>>(),
            "tier": tier.map(|t| json!({"id": t.id, "label": t.label, "discount_bps": t.discount_bps, "priority": t.priority})),
        }),
    ))
}

/// What a paid (or expired) pack checkout does: credit the pack once, in the same batch as
/// the row that marks the event processed. `Err` is why nothing is done.
pub fn settle_statements(
    db: &D1Database,
    purchase: &PurchaseRow,
    checkout: &stripe::CheckoutEvent,
) -> ApiResult<Result<Vec<D1PreparedStatement>, WebhookOutcome>> {
    let expected = purchase.checkout_session_id.as_deref() == Some(checkout.session_id.as_str());
    let amount_ok = checkout.amount_total == Some(purchase.amount as u64) && checkout.currency.as_deref().is_none_or(|c| c == purchase.currency);
    if !expected {
        return Ok(Err(WebhookOutcome::Mismatch));
    }
    if purchase.status != PurchaseStatus::AwaitingPayment {
        return Ok(Err(WebhookOutcome::AlreadySettled));
    }
    let now = now_ms();
    match checkout.outcome {
        CheckoutOutcome::Expired | CheckoutOutcome::Failed => Ok(Ok(vec![db::credits::purchase_expired(db, &purchase.id, now)?])),
        CheckoutOutcome::Completed if !checkout.paid => Ok(Err(WebhookOutcome::NotPaid)),
        CheckoutOutcome::Completed if !amount_ok => Ok(Err(WebhookOutcome::Mismatch)),
        CheckoutOutcome::Completed => Ok(Ok(vec![
            db::credits::purchase_paid(db, &purchase.id, checkout.payment_intent.as_deref(), now)?,
            db::credits::ledger_entry(
                db,
                &LedgerEntry {
                    fan_id: &purchase.fan_id,
                    app_slug: &purchase.app_slug,
                    delta: purchase.credits,
                    reason: "purchase",
                    reference: &format!("purchase:{}", purchase.id),
                },
            )?,
        ])),
    }
}

/// A refunded pack takes back what is left of its credits (never below zero: credits already
/// spent on requests stay spent). Done once per purchase.
pub async fn pack_refund_statements(db: &D1Database, purchase: &PurchaseRow) -> ApiResult<Vec<D1PreparedStatement>> {
    let balance = db::credits::balance(db, &purchase.fan_id, &purchase.app_slug).await?;
    let take_back = purchase.credits.min(balance);
    let mut statements = vec![db::credits::purchase_refunded(db, &purchase.id, now_ms())?];
    if take_back > 0 {
        let entry = LedgerEntry {
            fan_id: &purchase.fan_id,
            app_slug: &purchase.app_slug,
            delta: -take_back,
            reason: "pack_refunded",
            reference: &format!("pack_refund:{}", purchase.id),
        };
        statements.push(db::credits::ledger_entry(db, &entry)?);
    }
    Ok(statements)
}

/// A ledger entry spending a request's credits, with the request id as its reference.
pub fn spend(db: &D1Database, fan: &Fan, app_slug: &str, credits: u32, request_id: &str) -> ApiResult<D1PreparedStatement> {
    db::credits::ledger_entry(
        db,
        &LedgerEntry { fan_id: &fan.id, app_slug, delta: -i64::from(credits), reason: "request", reference: &format!("spend:{request_id}") },
    )
}

/// Gives a request's credits back (refund or decline), once.
pub fn give_back(db: &D1Database, row: &RequestRow, reason: &str) -> ApiResult<Option<D1PreparedStatement>> {
    match (&row.fan_id, row.credits_spent) {
        (Some(fan_id), n) if n > 0 => Ok(Some(db::credits::ledger_entry(
            db,
            &LedgerEntry { fan_id, app_slug: &row.app_slug, delta: n, reason, reference: &format!("return:{}", row.id) },
        )?)),
        _ => Ok(None),
    }
}
