//! Mail to addresses fans typed: each address gets a bounded number an hour of each kind,
//! whoever types it (anyone can type someone else's address), counted in D1 with the mail.

use crate::db::{self, outbox::OutboxEntry, requests::RequestRow};
use crate::platform::error::ApiResult;
use fanline_core::trust::client::normalize_email;
use worker::{D1Database, D1PreparedStatement};

/// Mail the platform sends to an address a fan typed, and how many an hour each address gets,
/// whoever types it: anyone can type someone else's address.
#[derive(Debug, Clone, Copy)]
pub enum FanMail {
    /// A sign-in link (anyone may ask for one, for any address).
    SignIn,
    /// A notice about a request that gave this address (confirmation, refund, result).
    Notice,
}

impl FanMail {
    fn kind(self) -> &'static str {
        match self {
            Self::SignIn => "sign_in",
            Self::Notice => "notice",
        }
    }

    fn per_hour(self) -> i64 {
        match self {
            Self::SignIn => 5,
            Self::Notice => 10,
        }
    }
}

/// Whether one more mail of this kind may go to `address` now; when it may, the statement that
/// counts it (commit it with the mail's outbox rows, or before sending).
pub async fn mail_budget(db: &D1Database, address: &str, mail: FanMail, now: i64) -> ApiResult<Option<D1PreparedStatement>> {
    let address = normalize_email(address);
    if db::limits::mail_sent(db, &address, mail.kind(), now - 3_600_000).await? >= mail.per_hour() {
        return Ok(None);
    }
    Ok(Some(db::limits::log_mail(db, &address, mail.kind(), now)?))
}

/// Mail to the address a fan typed goes out only within that address's hourly budget
/// (`FanMail::Notice`), and never when `blocked`: anyone can type someone else's address.
/// Drops the fan-mail entries otherwise; returns the statement that counts the mail.
pub async fn budget_fan_mail(
    db: &D1Database,
    row: &RequestRow,
    blocked: bool,
    entries: &mut Vec<OutboxEntry>,
    now: i64,
) -> ApiResult<Option<D1PreparedStatement>> {
    if !entries.iter().any(|e| e.destination.is_fan_email()) {
        return Ok(None);
    }
    let counted = match (&row.fan_email, blocked) {
        (Some(email), false) => mail_budget(db, email, FanMail::Notice, now).await?,
        _ => None,
    };
    if counted.is_none() {
        entries.retain(|e| !e.destination.is_fan_email());
    }
    Ok(counted)
}
