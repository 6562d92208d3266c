//! `creators`: who owns apps, their API key (stored as a hash) and connected Stripe account.

use super::{first, run};
use crate::platform::error::ApiResult;
use serde::Deserialize;
use worker::D1Database;

#[derive(Debug, Clone, Deserialize)]
pub struct Creator {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub email: Option<String>,
}

/// API keys and fan tokens are long random tokens, so a plain SHA-256 is a sound way to store them.
pub fn hash_token(key: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// The creator whose console sign-in links go to this address.
pub async fn by_email(db: &D1Database, email: &str) -> ApiResult<Option<Creator>> {
    first(db, "SELECT id, name, email FROM creators WHERE email = ?", &[email.into()]).await
}

/// The creator's connected Stripe account (`acct_...`), if they connected one.
pub async fn stripe_account(db: &D1Database, creator_id: &str) -> ApiResult<Option<String>> {
    #[derive(Deserialize)]
    struct Account {
        stripe_account: Option<String>,
    }
    Ok(first::<Account>(db, "SELECT stripe_account FROM creators WHERE id = ?", &[creator_id.into()]).await?.and_then(|a| a.stripe_account))
}

pub async fn set_stripe_account(db: &D1Database, creator_id: &str, account: Option<&str>) -> ApiResult<()> {
    run(db, "UPDATE creators SET stripe_account = ? WHERE id = ?", &[account.into(), creator_id.into()]).await
}
