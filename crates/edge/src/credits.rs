//! Credit packs: a fan buys N requests up front through Checkout and spends them without a
//! card. The balance is the append-only `credit_ledger`; every entry has a unique reference,
//! so a replayed webhook or a retried call never credits or spends twice.

use crate::error::{ApiError, ApiResult};
use crate::fans::{self, Fan};
use crate::http::{json, origin};
use crate::payments;
use crate::platform::{now_ms, random};
use crate::store::{self, BatchOutcome};
use fanline_core::ids;
use fanline_core::manifest::Manifest;
use fanline_core::money::Money;
use fanline_core::routing::rfc3339;
use fanline_core::stripe::{self, CheckoutLine, Purpose};
use serde::Deserialize;
use serde_json::{json, Value};
use worker::{D1Database, Env, Request, Response};

/// `POST .../api/credits/checkout` with `{"pack": "<id>", "email": "optional"}`: opens a
/// Checkout Session for the pack. A first-time buyer gets their fan token in the answer.
pub async fn checkout(mut req: Request, env: &Env, manifest: &Manifest) -> ApiResult<Response> {
    let db = store::db(env)?;
    let (body, email) = purchase_body(&mut req, env, "pack").await?;
    let Some(pack) = body["pack"].as_str().and_then(|id| manifest.credit_pack(id)) else {
        let offered: Vec<&str> = manifest.pricing.credit_packs.iter().map(|p| p.id.as_str()).collect();
        return Err(ApiError::bad_request("unknown_pack", if offered.is_empty() { "This app sells no credit packs.".to_string() } else { format!("Choose a pack: {}.", offered.join(", ")) }));
    };
    let email = email.as_deref();
    let (fan, new_fan) = fans::existing_or_new(&req, &db, email).await?;
    let purchase_id = ids::token("cp_", &random::<12>());
    let price = Money::new(pack.amount, manifest.pricing.currency.clone());
    let page = format!("{}/apps/{}/", origin(&req), manifest.slug);
    let (success_url, cancel_url) = (format!("{page}?credits=1&purchase={purchase_id}"), format!("{page}?cancelled=1"));
    let connect = creator_connect(&db, manifest, pack.amount).await?;
    let session = payments::create_checkout(env, &stripe::CheckoutRequest {
        expires_at: Some(payments::checkout_expiry()),
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
    })
    .await?;
    let now = now_ms();
    let mut statements = Vec::new();
    if let Some(new) = &new_fan {
        statements.push(new.insert.clone());
    }
    statements.push(store::statement(
        &db,
        "INSERT INTO credit_purchases (id, fan_id, app_slug, pack, credits, amount, currency, status, checkout_session_id, checkout_url, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, 'awaiting_payment', ?, ?, ?, ?)",
        &[
            purchase_id.as_str().into(),
            fan.id.as_str().into(),
            manifest.slug.as_str().into(),
            pack.id.as_str().into(),
            i64::from(pack.credits).into(),
            (pack.amount as i64).into(),
            price.currency.as_str().into(),
            session.id.as_str().into(),
            session.url.as_str().into(),
            now.into(),
            now.into(),
        ],
    )?);
    match store::commit(&db, statements).await? {
        BatchOutcome::Committed => {}
        BatchOutcome::Conflict(d) | BatchOutcome::Refused(d) => return Err(ApiError::Internal(d)),
    }
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

/// A fan's purchase body (`{"<what>": "<id>", "email": "optional"}`) and its checked email.
/// Each purchase opens a Checkout Session on the platform's account, so it is limited per
/// client, and only JSON is read (a cross-site page cannot post JSON without a preflight).
pub async fn purchase_body(req: &mut Request, env: &Env, what: &str) -> ApiResult<(Value, Option<String>)> {
    crate::limits::per_client(env, req).await?;
    crate::body::require_json_content_type(req)?;
    let example = format!(r#"{{"{what}": "<{what} id>", "email": "optional"}}"#);
    let body: serde_json::Map<String, Value> = crate::body::strict_json(req, &example, false).await?;
    if let Some(unknown) = body.keys().find(|k| k.as_str() != what && k.as_str() != "email") {
        return Err(ApiError::bad_request("invalid_json", format!("Unknown key \"{unknown}\"; send {example}.")));
    }
    let email = match body.get("email") {
        None | Some(Value::Null) => None,
        Some(Value::String(e)) => Some(e.trim().to_string()).filter(|e| !e.is_empty()),
        Some(_) => return Err(ApiError::bad_request("invalid_email", "email is text, like name@example.com.")),
    };
    if email.as_deref().is_some_and(|e| !fanline_core::submission::is_email(e)) {
        return Err(ApiError::bad_request("invalid_email", "Enter an email address like name@example.com."));
    }
    Ok((Value::Object(body), email))
}

/// The creator's connected account and the marketplace's fee on `amount`, when connected.
pub async fn creator_connect(db: &D1Database, manifest: &Manifest, amount: u64) -> ApiResult<Option<(String, u64)>> {
    let app = store::app(db, &manifest.slug).await?.ok_or_else(|| ApiError::Unavailable(format!("The app '{}' is not registered with the marketplace yet.", manifest.slug)))?;
    let account = store::creator_stripe_account(db, &app.creator_id).await?;
    Ok(account.map(|a| (a, stripe::application_fee(amount, manifest.pricing.platform_fee_bps))))
}

/// `GET .../api/me` with `Fan-Token`: the fan's credits (balance and every ledger entry),
/// pack purchases and tier at this app.
pub async fn me(req: &Request, env: &Env, manifest: &Manifest) -> ApiResult<Response> {
    let db = store::db(env)?;
    let fan = fans::required(req, &db, "Reading your balance").await?;
    #[derive(Deserialize)]
    struct Entry {
        seq: i64,
        delta: i64,
        balance: i64,
        reason: String,
        reference: String,
        at: i64,
    }
    let ledger: Vec<Entry> = store::all(&db, "SELECT seq, delta, balance, reason, reference, at FROM credit_ledger WHERE fan_id = ? AND app_slug = ? ORDER BY seq", &[fan.id.as_str().into(), manifest.slug.as_str().into()]).await?;
    #[derive(Deserialize)]
    struct Purchase {
        id: String,
        pack: String,
        credits: i64,
        amount: i64,
        status: String,
        created_at: i64,
    }
    let purchases: Vec<Purchase> = store::all(&db, "SELECT id, pack, credits, amount, status, created_at FROM credit_purchases WHERE fan_id = ? AND app_slug = ? ORDER BY created_at", &[fan.id.as_str().into(), manifest.slug.as_str().into()]).await?;
    let tier = fans::active_tier(&db, manifest, &fan).await?;
    Ok(json(200, &json!({
        "fan_id": fan.id,
        "app": manifest.slug,
        "credits": {
            "balance": ledger.last().map_or(0, |e| e.balance),
            "per_request": manifest.pricing.credits_per_request,
            "ledger": ledger.iter().map(|e| json!({"seq": e.seq, "delta": e.delta, "balance": e.balance, "reason": e.reason, "reference": e.reference, "at": rfc3339(e.at)})).collect::<Vec<_>>(),
        },
        "purchases": purchases.iter().map(|p| json!({"id": p.id, "pack": p.pack, "credits": p.credits, "amount": p.amount, "currency": manifest.pricing.currency.as_str(), "status": p.status, "created_at": rfc3339(p.created_at)})).collect::<Vec<_>>(),
        "tier": tier.map(|t| json!({"id": t.id, "label": t.label, "discount_bps": t.discount_bps, "priority": t.priority})),
    })))
}

#[derive(Deserialize)]
pub struct PurchaseRow {
    pub id: String,
    pub fan_id: String,
    pub app_slug: String,
    pub credits: i64,
    pub amount: i64,
    pub currency: String,
    pub status: String,
    pub checkout_session_id: Option<String>,
}

pub async fn purchase(db: &D1Database, id: &str) -> ApiResult<Option<PurchaseRow>> {
    store::first(db, "SELECT id, fan_id, app_slug, credits, amount, currency, status, checkout_session_id FROM credit_purchases WHERE id = ?", &[id.into()]).await
}

pub async fn purchase_by_payment_intent(db: &D1Database, payment_intent: &str) -> ApiResult<Option<PurchaseRow>> {
    store::first(db, "SELECT id, fan_id, app_slug, credits, amount, currency, status, checkout_session_id FROM credit_purchases WHERE payment_intent_id = ?", &[payment_intent.into()]).await
}

/// What a paid (or expired) pack checkout does: credit the pack once, in the same batch as
/// the row that marks the event processed.
pub fn settle_statements(db: &D1Database, purchase: &PurchaseRow, checkout: &stripe::CheckoutEvent) -> ApiResult<Result<Vec<worker::D1PreparedStatement>, &'static str>> {
    let expected = purchase.checkout_session_id.as_deref() == Some(checkout.session_id.as_str());
    let amount_ok = checkout.amount_total == Some(purchase.amount as u64) && checkout.currency.as_deref().is_none_or(|c| c == purchase.currency);
    if !expected {
        return Ok(Err("mismatch"));
    }
    if purchase.status != "awaiting_payment" {
        return Ok(Err("already_settled"));
    }
    let now = now_ms();
    match checkout.outcome {
        stripe::CheckoutOutcome::Expired => Ok(Ok(vec![store::statement(db, "UPDATE credit_purchases SET status = 'expired', updated_at = ? WHERE id = ? AND status = 'awaiting_payment'", &[now.into(), purchase.id.as_str().into()])?])),
        stripe::CheckoutOutcome::Completed if !checkout.paid => Ok(Err("not_paid")),
        stripe::CheckoutOutcome::Completed if !amount_ok => Ok(Err("mismatch")),
        stripe::CheckoutOutcome::Completed => Ok(Ok(vec![
            store::statement(
                db,
                "UPDATE credit_purchases SET status = 'paid', payment_intent_id = ?, updated_at = ? WHERE id = ? AND status = 'awaiting_payment'",
                &[checkout.payment_intent.as_deref().into(), now.into(), purchase.id.as_str().into()],
            )?,
            fans::ledger_entry(db, &purchase.fan_id, &purchase.app_slug, purchase.credits, "purchase", &format!("purchase:{}", purchase.id))?,
        ])),
    }
}

/// A refunded pack takes back what is left of its credits (never below zero: credits already
/// spent on requests stay spent). Done once per purchase.
pub async fn refund_statements(db: &D1Database, purchase: &PurchaseRow) -> ApiResult<Vec<worker::D1PreparedStatement>> {
    let balance = fans::balance(db, &purchase.fan_id, &purchase.app_slug).await?;
    let take_back = purchase.credits.min(balance);
    let mut statements = vec![store::statement(db, "UPDATE credit_purchases SET status = 'refunded', updated_at = ? WHERE id = ?", &[now_ms().into(), purchase.id.as_str().into()])?];
    if take_back > 0 {
        statements.push(fans::ledger_entry(db, &purchase.fan_id, &purchase.app_slug, -take_back, "pack_refunded", &format!("pack_refund:{}", purchase.id))?);
    }
    Ok(statements)
}

/// A ledger entry spending a request's credits, with the request id as its reference.
pub fn spend(db: &D1Database, fan: &Fan, app_slug: &str, credits: u32, request_id: &str) -> ApiResult<worker::D1PreparedStatement> {
    fans::ledger_entry(db, &fan.id, app_slug, -i64::from(credits), "request", &format!("spend:{request_id}"))
}

/// Gives a request's credits back (refund or decline), once.
pub fn give_back(db: &D1Database, row: &store::RequestRow, reason: &str) -> ApiResult<Option<worker::D1PreparedStatement>> {
    match (&row.fan_id, row.credits_spent) {
        (Some(fan_id), n) if n > 0 => Ok(Some(fans::ledger_entry(db, fan_id, &row.app_slug, n, reason, &format!("return:{}", row.id))?)),
        _ => Ok(None),
    }
}
