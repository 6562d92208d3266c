//! Seals destination settings, membership secrets and channels' OAuth tokens that are not sealed under
//! `CREDENTIALS_KEY`: rows written before sealing existed, and, after a rotation, rows sealed
//! under `CREDENTIALS_KEY_PREVIOUS`. A bounded number per run; once none are left the previous
//! key can be deleted.

use fanline_core::trust::sealed::Stored;
use fanline_edge::db::{
    self,
    channel_tokens::{self, TokenTable},
    destinations::DestinationRow,
};
use fanline_edge::platform::ctx::Ctx;
use fanline_edge::platform::error::ApiResult;
use fanline_edge::platform::sealing::{self, Keys};
use worker::console_error;

const PER_RUN: u32 = 200;

pub async fn reseal(ctx: Ctx<'_>) -> ApiResult<usize> {
    // No key, nothing to seal with: saving settings reports the missing secret.
    let Ok(keys) = Keys::from_env(ctx.env) else { return Ok(0) };
    let mut resealed = 0;
    for row in db::destinations::not_sealed_under(ctx.db, &keys, PER_RUN).await? {
        let stored = DestinationRow { kind: row.kind.clone(), settings: row.settings.clone(), enabled: 1 };
        let Some((kind, settings)) = stored.settings(Some(&keys), &row.app_slug).await? else {
            // Unreadable (its key is gone, or it was altered): left as it is and logged, so
            // the creator's next save replaces it. Plain text that does not parse is the same.
            if !matches!(Stored::parse(&row.settings), Some(Stored::Sealed { .. })) {
                console_error!("{}'s {} settings do not read as that kind; left unsealed", row.app_slug, row.kind);
            }
            continue;
        };
        let sealed = db::destinations::seal(&keys, &row.app_slug, kind, &settings).await?;
        if db::destinations::reseal(ctx.db, &row, &sealed).await? {
            resealed += 1;
        }
    }
    for table in TokenTable::ALL {
        resealed += reseal_tokens(ctx, &keys, table).await?;
    }
    for row in db::memberships::secrets_not_sealed_under(ctx.db, &keys, PER_RUN).await? {
        match row.resealed(&keys).await? {
            Some(sealed) if db::memberships::reseal_secret(ctx.db, &row, &sealed).await? => resealed += 1,
            Some(_) => {}
            None => console_error!("{}'s {} secret does not open; left as it is", row.app_slug, row.source),
        }
    }
    Ok(resealed)
}

/// Channels' OAuth tokens, sealed under the current key. A pair that does not open is left
/// for the creator to connect again.
async fn reseal_tokens(ctx: Ctx<'_>, keys: &Keys, table: TokenTable) -> ApiResult<usize> {
    let mut resealed = 0;
    for row in channel_tokens::not_sealed_under(ctx.db, table, keys, PER_RUN).await? {
        let Some((access, refresh)) = sealing::open_tokens(Some(keys), table.column(), &row.app_slug, &row.access_token, &row.refresh_token).await? else {
            console_error!("{}'s {table:?} tokens do not open; left as they are", row.app_slug);
            continue;
        };
        let (access, refresh) = sealing::seal_tokens(keys, table.column(), &row.app_slug, &access, &refresh).await?;
        resealed += usize::from(channel_tokens::reseal(ctx.db, table, &row, &access, &refresh).await?);
    }
    Ok(resealed)
}
