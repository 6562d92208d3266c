//! `membership_sources`, `memberships` and `supporter_payments`: memberships fans pay for
//! elsewhere (Ko-fi, Patreon), the tiers they give, and every payment reported, once. A Ko-fi
//! token is kept only as its hash (the lookup); a Patreon webhook's secret, which verifying
//! needs whole, is sealed at rest like destination settings.

use super::{all, changes, first, statement};
use crate::platform::error::ApiResult;
use crate::platform::sealing::{self, Keys};
use fanline_core::trust::sealed::{self, Column};
use serde::{Deserialize, Serialize};
use worker::{D1Database, D1PreparedStatement};

/// Where supporters pay: the `source` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Kofi,
    Patreon,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Kofi => "kofi",
            Self::Patreon => "patreon",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [Self::Kofi, Self::Patreon].into_iter().find(|k| k.as_str() == s)
    }
}

/// An app's connection to a source, with the creator's settings as stored JSON.
#[derive(Debug, Clone, Deserialize)]
pub struct SourceRow {
    pub app_slug: String,
    pub lookup: String,
    /// As stored: sealed (`seal_secret`), or plain in rows from before sealing.
    pub secret: Option<String>,
    pub settings: String,
    pub updated_at: i64,
}

impl SourceRow {
    /// The source's secret, opened; `None` when there is none or it does not open (see
    /// `sealing::open`), which verifies nothing.
    pub async fn secret(&self, keys: Option<&Keys>, source: Source) -> ApiResult<Option<String>> {
        match &self.secret {
            Some(stored) => sealing::open(keys, &binding(&self.app_slug, source), stored).await,
            None => Ok(None),
        }
    }
}

fn binding(app_slug: &str, source: Source) -> Vec<u8> {
    sealed::associated_data(Column::MembershipSecret, app_slug, source.as_str())
}

/// The text a row stores for `secret`: sealed under the current key, bound to its app and source.
pub async fn seal_secret(keys: &Keys, app_slug: &str, source: Source, secret: &str) -> ApiResult<String> {
    sealing::seal(keys, &binding(app_slug, source), secret).await
}

/// A source whose secret is not sealed under the current key.
#[derive(Debug, Deserialize)]
pub struct UnsealedSecret {
    pub app_slug: String,
    pub source: String,
    pub secret: String,
}

impl UnsealedSecret {
    /// The secret sealed under the current key; `None` when it does not open.
    pub async fn resealed(&self, keys: &Keys) -> ApiResult<Option<String>> {
        let Some(source) = Source::parse(&self.source) else { return Ok(None) };
        let Some(plain) = sealing::open(Some(keys), &binding(&self.app_slug, source), &self.secret).await? else { return Ok(None) };
        seal_secret(keys, &self.app_slug, source, &plain).await.map(Some)
    }
}

pub async fn secrets_not_sealed_under(db: &D1Database, keys: &Keys, limit: u32) -> ApiResult<Vec<UnsealedSecret>> {
    let prefix = sealed::prefix_for(&keys.current);
    all(
        db,
        "SELECT app_slug, source, secret FROM membership_sources WHERE secret IS NOT NULL AND substr(secret, 1, ?) != ? ORDER BY updated_at LIMIT ?",
        &[(prefix.len() as i64).into(), prefix.as_str().into(), (limit as i64).into()],
    )
    .await
}

/// Replaces a stored secret with its re-sealed form, unless the creator saved a new one meanwhile.
pub async fn reseal_secret(db: &D1Database, row: &UnsealedSecret, resealed: &str) -> ApiResult<bool> {
    let changed = changes(
        db,
        "UPDATE membership_sources SET secret = ? WHERE app_slug = ? AND source = ? AND secret = ?",
        &[resealed.into(), row.app_slug.as_str().into(), row.source.as_str().into(), row.secret.as_str().into()],
    )
    .await?;
    Ok(changed > 0)
}

const SOURCE_COLUMNS: &str = "app_slug, lookup, secret, settings, updated_at";

pub async fn source_of_app(db: &D1Database, app_slug: &str, source: Source) -> ApiResult<Option<SourceRow>> {
    first(db, &format!("SELECT {SOURCE_COLUMNS} FROM membership_sources WHERE app_slug = ? AND source = ?"), &[app_slug.into(), source.as_str().into()]).await
}

/// The app a source's event is for, by its lookup (a Ko-fi token's hash, a Patreon campaign id).
pub async fn source_by_lookup(db: &D1Database, source: Source, lookup: &str) -> ApiResult<Option<SourceRow>> {
    first(db, &format!("SELECT {SOURCE_COLUMNS} FROM membership_sources WHERE source = ? AND lookup = ?"), &[source.as_str().into(), lookup.into()]).await
}

/// Connects (or updates) the app's source. `false` when another app already uses the lookup.
pub async fn save_source(db: &D1Database, source: Source, row: &SourceRow) -> ApiResult<bool> {
    let taken: Option<SourceRow> = source_by_lookup(db, source, &row.lookup).await?;
    if taken.is_some_and(|t| t.app_slug != row.app_slug) {
        return Ok(false);
    }
    changes(
        db,
        "INSERT INTO membership_sources (app_slug, source, lookup, secret, settings, updated_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (app_slug, source) DO UPDATE SET lookup = excluded.lookup, secret = excluded.secret, settings = excluded.settings, updated_at = excluded.updated_at",
        &[row.app_slug.as_str().into(), source.as_str().into(), row.lookup.as_str().into(), row.secret.as_deref().into(), row.settings.as_str().into(), row.updated_at.into()],
    )
    .await
    .map(|n| n > 0)
}

pub async fn remove_source(db: &D1Database, app_slug: &str, source: Source) -> ApiResult<bool> {
    Ok(changes(db, "DELETE FROM membership_sources WHERE app_slug = ? AND source = ?", &[app_slug.into(), source.as_str().into()]).await? > 0)
}

/// What one event says about one member's tier at one app.
pub struct MemberState<'a> {
    pub source: Source,
    pub member_id: &'a str,
    pub app_slug: &'a str,
    pub fan_id: Option<&'a str>,
    pub identity_key: Option<&'a str>,
    pub tier: Option<&'a str>,
    pub active: bool,
    pub active_until: Option<i64>,
    pub ordered_at: i64,
    pub now: i64,
}

/// Stores the member's state unless a newer event already did (events may arrive out of order).
pub fn record_member(db: &D1Database, m: &MemberState) -> ApiResult<D1PreparedStatement> {
    statement(
        db,
        "INSERT INTO memberships (source, member_id, app_slug, fan_id, identity_key, tier, active, active_until, ordered_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (source, member_id, app_slug) DO UPDATE SET fan_id = COALESCE(excluded.fan_id, memberships.fan_id),
           identity_key = COALESCE(excluded.identity_key, memberships.identity_key), tier = excluded.tier, active = excluded.active,
           active_until = excluded.active_until, ordered_at = excluded.ordered_at, updated_at = excluded.updated_at
         WHERE excluded.ordered_at >= memberships.ordered_at",
        &[
            m.source.as_str().into(),
            m.member_id.into(),
            m.app_slug.into(),
            m.fan_id.into(),
            m.identity_key.into(),
            m.tier.into(),
            i64::from(m.active).into(),
            m.active_until.into(),
            m.ordered_at.into(),
            m.now.into(),
        ],
    )
}

/// The order of the newest event stored for a member, if any.
pub async fn member_order(db: &D1Database, source: Source, member_id: &str, app_slug: &str) -> ApiResult<Option<i64>> {
    #[derive(Deserialize)]
    struct Order {
        ordered_at: i64,
    }
    let row: Option<Order> = first(
        db,
        "SELECT ordered_at FROM memberships WHERE source = ? AND member_id = ? AND app_slug = ?",
        &[source.as_str().into(), member_id.into(), app_slug.into()],
    )
    .await?;
    Ok(row.map(|o| o.ordered_at))
}

/// The tiers memberships give at an app now, to a fan or to a signed-in identity.
pub async fn live_tiers(db: &D1Database, app_slug: &str, fan_id: Option<&str>, identity_key: Option<&str>, now: i64) -> ApiResult<Vec<String>> {
    #[derive(Deserialize)]
    struct Tier {
        tier: String,
    }
    if fan_id.is_none() && identity_key.is_none() {
        return Ok(Vec::new());
    }
    let rows: Vec<Tier> = all(
        db,
        "SELECT tier FROM memberships WHERE app_slug = ?1 AND active = 1 AND tier IS NOT NULL AND (active_until IS NULL OR active_until > ?2)
           AND (fan_id = ?3 OR identity_key = ?4) ORDER BY ordered_at DESC",
        &[app_slug.into(), now.into(), fan_id.into(), identity_key.into()],
    )
    .await?;
    Ok(rows.into_iter().map(|t| t.tier).collect())
}

/// One payment a source reported, as the creator sees it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Payment {
    pub id: String,
    pub kind: String,
    pub email: Option<String>,
    pub amount: i64,
    pub currency: Option<String>,
    pub fan_id: Option<String>,
    pub credits: i64,
    pub tier: Option<String>,
    pub outcome: String,
    pub received_at: i64,
}

/// The payment's row; its key refuses the batch of a payment already acted on.
pub fn record_payment(db: &D1Database, source: Source, app_slug: &str, p: &Payment) -> ApiResult<D1PreparedStatement> {
    statement(
        db,
        "INSERT INTO supporter_payments (source, id, app_slug, kind, email, amount, currency, fan_id, credits, tier, outcome, received_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        &[
            source.as_str().into(),
            p.id.as_str().into(),
            app_slug.into(),
            p.kind.as_str().into(),
            p.email.as_deref().into(),
            p.amount.into(),
            p.currency.as_deref().into(),
            p.fan_id.as_deref().into(),
            p.credits.into(),
            p.tier.as_deref().into(),
            p.outcome.as_str().into(),
            p.received_at.into(),
        ],
    )
}

pub async fn payment_seen(db: &D1Database, source: Source, id: &str) -> ApiResult<Option<Payment>> {
    first(
        db,
        "SELECT id, kind, email, amount, currency, fan_id, credits, tier, outcome, received_at FROM supporter_payments WHERE source = ? AND id = ?",
        &[source.as_str().into(), id.into()],
    )
    .await
}

pub async fn recent_payments(db: &D1Database, source: Source, app_slug: &str, limit: i64) -> ApiResult<Vec<Payment>> {
    all(
        db,
        "SELECT id, kind, email, amount, currency, fan_id, credits, tier, outcome, received_at FROM supporter_payments
         WHERE source = ? AND app_slug = ? ORDER BY received_at DESC LIMIT ?",
        &[source.as_str().into(), app_slug.into(), limit.into()],
    )
    .await
}

/// The fan who gave this email at a purchase here (the newest, if several).
pub async fn fan_by_email(db: &D1Database, email: &str) -> ApiResult<Option<String>> {
    #[derive(Deserialize)]
    struct Fan {
        id: String,
    }
    Ok(first::<Fan>(db, "SELECT id FROM fans WHERE lower(trim(email)) = ? ORDER BY created_at DESC LIMIT 1", &[email.into()]).await?.map(|f| f.id))
}
