//! `GET /api/creator` and `PUT /api/creator/stripe-account`.

use fanline_edge::db;
use fanline_edge::platform::body::strict_json;
use fanline_edge::platform::error::{ApiError, ApiResult};
use fanline_edge::platform::http::json;
use fanline_edge::providers::{stripe, ProviderError};
use fanline_edge::trust::auth;
use serde_json::{json, Value};
use worker::{Env, Request, Response};

/// `GET /api/creator`: who the key belongs to, and where their payouts go.
pub async fn profile(req: &Request, env: &Env) -> ApiResult<Response> {
    let db = db::db(env)?;
    let creator = auth::creator(req, &db).await?;
    let account = db::creators::stripe_account(&db, &creator.id).await?;
    Ok(json(200, &json!({"id": creator.id, "name": creator.name, "stripe_account": account})))
}

/// `PUT /api/creator/stripe-account` with `{"account_id": "acct_..."}` (or `null`): payments for
/// the creator's apps go to this connected account, minus each app's `platform_fee_bps`.
/// Onboarding the account itself happens in Stripe (Connect account links).
pub async fn connect_stripe_account(mut req: Request, env: &Env) -> ApiResult<Response> {
    let db = db::db(env)?;
    let creator = auth::creator(&req, &db).await?;
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Account {
        account_id: Value,
    }
    let body: Account = strict_json(&mut req, r#"{"account_id": "acct_..."} or {"account_id": null}"#, false).await?;
    let account = match body.account_id {
        Value::Null => None,
        Value::String(id) if id.starts_with("acct_") && id.len() <= 64 && id.len() > 5 && id[5..].bytes().all(|b| b.is_ascii_alphanumeric()) => Some(id),
        _ => return Err(ApiError::bad_request("invalid_account", "account_id must be a Stripe account id (acct_...) or null.")),
    };
    // Payouts go only to an account Stripe knows and lets take charges: a typo or a foreign
    // id would otherwise turn every checkout into an error, or send the money elsewhere.
    if let Some(id) = &account {
        match stripe::account_charges_enabled(env, id).await {
            Ok(true) => {}
            Ok(false) => {
                return Err(ApiError::bad_request(
                    "account_not_ready",
                    "This Stripe account cannot take charges yet; finish its onboarding in Stripe, then try again.",
                ))
            }
            Err(ProviderError::Refused { .. }) => {
                return Err(ApiError::bad_request("account_not_found", format!("Stripe has no connected account {id} on this platform.")))
            }
            Err(e) => return Err(e.into()),
        }
    }
    db::creators::set_stripe_account(&db, &creator.id, account.as_deref()).await?;
    Ok(json(200, &json!({"id": creator.id, "name": creator.name, "stripe_account": account})))
}
