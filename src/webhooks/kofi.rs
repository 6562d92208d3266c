//! `POST /webhooks/kofi`: Ko-fi's payment notifications, a form post whose `data` field is JSON.
//! The account is found by the hash of its `verification_token` (then compared in constant
//! time); each `message_id` acts once. What a payment earns (credits, a tier for a month) is
//! the creator's settings for the app, and goes to the fan who gave the same email here.

use fanline_core::money::kofi::{self, Earned};
use fanline_core::webhook::WebhookOutcome;
use fanline_edge::db::{
    self,
    credits::LedgerEntry,
    memberships::{MemberState, Payment, Source},
    BatchOutcome,
};
use fanline_edge::platform::body::{read_capped, WEBHOOK_MAX};
use fanline_edge::platform::config::now_ms;
use fanline_edge::platform::error::{ApiError, ApiResult};
use fanline_edge::platform::http::json;
use serde_json::json;
use worker::{Env, Request, Response};

pub async fn handle(mut req: Request, env: &Env) -> ApiResult<Response> {
    let body = read_capped(&mut req, WEBHOOK_MAX).await?;
    let payment = kofi::parse(&body).map_err(|m| ApiError::bad_request("invalid_event", m))?;
    let db = db::db(env)?;
    let lookup = kofi::token_hash(&payment.verification_token);
    let source = db::memberships::source_by_lookup(&db, Source::Kofi, &lookup).await?;
    let Some(source) = source.filter(|s| kofi::token_matches(&payment.verification_token, &s.lookup)) else {
        return Err(ApiError::Forbidden { code: "invalid_token", message: "No app is connected to Ko-fi with this verification token.".into() });
    };
    let done = |outcome: WebhookOutcome| Ok(json(200, &json!({"received": true, "message_id": payment.message_id, "outcome": outcome})));
    if db::memberships::payment_seen(&db, Source::Kofi, &payment.message_id).await?.is_some() {
        return done(WebhookOutcome::Duplicate);
    }
    let (_, manifest) = db::apps::with_manifest(&db, &source.app_slug).await?;
    let settings: kofi::Settings = serde_json::from_str(&source.settings)?;
    let now = now_ms();
    let fan_id = match &payment.email {
        Some(email) => db::memberships::fan_by_email(&db, email).await?,
        None => None,
    };
    let earned = kofi::earned(&payment, &settings, &manifest.pricing.currency, now);
    let mut row = Payment {
        id: payment.message_id.clone(),
        kind: format!("{:?}", payment.kind).to_ascii_lowercase(),
        email: payment.email.clone(),
        amount: payment.amount as i64,
        currency: payment.currency.as_ref().map(|c| c.as_str().to_string()),
        fan_id: fan_id.clone(),
        credits: 0,
        tier: None,
        outcome: String::new(),
        received_at: now,
    };
    let mut statements = Vec::new();
    let outcome = match (&earned, &fan_id) {
        (Earned::Nothing, _) => WebhookOutcome::Recorded,
        (Earned::CurrencyMismatch, _) => WebhookOutcome::Mismatch,
        // Kept for the creator to see (and settle by hand): nobody here gave this email.
        (_, None) => WebhookOutcome::UnknownFan,
        (Earned::Credits(n), Some(fan_id)) => {
            row.credits = i64::from(*n);
            let reference = format!("kofi:{}", payment.message_id);
            statements.push(db::credits::ledger_entry(
                &db,
                &LedgerEntry { fan_id, app_slug: &source.app_slug, delta: i64::from(*n), reason: "kofi", reference: &reference },
            )?);
            WebhookOutcome::Applied
        }
        (Earned::Tier { tier, until_ms }, Some(fan_id)) => {
            row.tier = Some(tier.clone());
            let member = MemberState {
                source: Source::Kofi,
                member_id: payment.email.as_deref().unwrap_or_default(),
                app_slug: &source.app_slug,
                fan_id: Some(fan_id),
                identity_key: None,
                tier: Some(tier),
                active: true,
                active_until: Some(*until_ms),
                ordered_at: *until_ms,
                now,
            };
            statements.push(db::memberships::record_member(&db, &member)?);
            WebhookOutcome::Applied
        }
    };
    row.outcome = outcome.as_str().to_string();
    statements.insert(0, db::memberships::record_payment(&db, Source::Kofi, &source.app_slug, &row)?);
    match db::commit(&db, statements).await? {
        BatchOutcome::Committed => done(outcome),
        BatchOutcome::Conflict(_) => done(WebhookOutcome::Duplicate),
        BatchOutcome::Refused(why) => Err(ApiError::internal(format!("a Ko-fi payment was refused: {why:?}"))),
    }
}
