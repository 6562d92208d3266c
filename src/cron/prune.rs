//! Forgets rows that only mattered for a while: sign-in states and used links, Idempotency-Keys
//! after a day, the hour's mail budget, ended console sessions and abandoned channel
//! connections. Without it these tables grow with every anonymous visit.

use fanline_edge::db;
use fanline_edge::platform::ctx::Ctx;
use fanline_edge::platform::error::ApiResult;

const DAY_MS: i64 = 24 * 3_600_000;

/// Runs on the cron's clock; each row kept is younger than a day, well past every lifetime
/// (sign-in states and connections 10 minutes, email links 30, the mail budget an hour).
pub async fn prune(ctx: Ctx<'_>, now: i64) -> ApiResult<usize> {
    let before = now - DAY_MS;
    let d = ctx.db;
    Ok(db::logins::prune(d, before).await?
        + db::requests::prune_idempotency_keys(d, before).await?
        + db::limits::prune_mail_log(d, before).await?
        + db::console_sessions::prune(d, before).await?
        + db::twitch::prune_connects(d, before).await?
        + db::youtube::prune_connects(d, before).await?)
}
