//! Fans who come back: a fan token (shown once, kept by the fan or their browser) ties credit
//! packs and subscriber tiers to one person without an account. Only its hash is stored.

use crate::db::{self, credits::Fan};
use crate::platform::config::{now_ms, random};
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::http::{header, json, origin};
use crate::trust::signin;
use fanline_core::intake::ids;
use fanline_core::manifest::{Manifest, Tier};
use fanline_core::trust::identity::Identity;
use serde_json::json;
use worker::{D1Database, D1PreparedStatement, Env, Request, Response};

pub const TOKEN_HEADER: &str = "Fan-Token";

/// A fan made on first purchase, with the token to hand back exactly once.
pub struct NewFan {
    pub fan: Fan,
    pub token: String,
    pub insert: D1PreparedStatement,
}

/// The fan named by the `Fan-Token` header: `None` without one, an error with a wrong one
/// (a typo must not silently become "no discount").
pub async fn from_request(req: &Request, db: &D1Database) -> ApiResult<Option<Fan>> {
    let Some(token) = header(req, TOKEN_HEADER).map(|t| t.trim().to_string()).filter(|t| !t.is_empty()) else { return Ok(None) };
    let fan = db::credits::fan_by_token(db, &token).await?;
    fan.map(Some).ok_or_else(|| ApiError::FanTokenRequired("The Fan-Token is not known here; use the token you got with your first purchase.".into()))
}

pub async fn required(req: &Request, db: &D1Database, what: &str) -> ApiResult<Fan> {
    from_request(req, db)
        .await?
        .ok_or_else(|| ApiError::FanTokenRequired(format!("{what} needs your Fan-Token header (you got it with your first credit pack or tier).")))
}

/// The caller's fan, or a new one whose row commits with the purchase that made it.
pub async fn existing_or_new(req: &Request, db: &D1Database, email: Option<&str>) -> ApiResult<(Fan, Option<NewFan>)> {
    if let Some(fan) = from_request(req, db).await? {
        return Ok((fan, None));
    }
    let fan = Fan { id: ids::token("fan_", &random::<12>()) };
    let token = ids::token("ft_", &random::<24>());
    let insert = db::credits::insert_fan(db, &fan.id, &token, email)?;
    Ok((fan.clone(), Some(NewFan { fan, token, insert })))
}

/// The tier the fan's live subscription at this app grants now, if any.
pub async fn active_tier<'m>(db: &D1Database, manifest: &'m Manifest, fan: &Fan) -> ApiResult<Option<&'m Tier>> {
    tier_of(db, manifest, Some(fan), None).await
}

/// The tier a fan, or a signed-in supporter, has here now: a Stripe subscription of the fan's,
/// else a membership paid elsewhere (Ko-fi by the fan's email, Patreon by the sign-in).
pub async fn tier_of<'m>(db: &D1Database, manifest: &'m Manifest, fan: Option<&Fan>, signed_in: Option<&Identity>) -> ApiResult<Option<&'m Tier>> {
    // Subscriptions and memberships only ever name the manifest's tiers, which build the app
    // with the credits feature: an app without tiers reads nothing (and carries none of it).
    if !cfg!(feature = "credits") || manifest.pricing.tiers.is_empty() {
        return Ok(None);
    }
    if let Some(fan) = fan {
        let live = db::subscriptions::live_tiers(db, &fan.id, &manifest.slug, now_ms() / 1000).await?;
        if let Some(tier) = live.iter().find_map(|tier| manifest.tier(tier)) {
            return Ok(Some(tier));
        }
    }
    let identity_key = signed_in.map(Identity::key);
    let members = db::memberships::live_tiers(db, &manifest.slug, fan.map(|f| f.id.as_str()), identity_key.as_deref(), now_ms()).await?;
    Ok(members.iter().find_map(|tier| manifest.tier(tier)))
}

/// `POST /apps/<slug>/api/me/links`: links the identity the fan is signed in with here (their
/// Twitch) to the fan of the `Fan-Token`, so requests they make from the stream's chat spend
/// that fan's credits and get that fan's tier. `DELETE` undoes it.
pub async fn link(req: &Request, env: &Env, manifest: &Manifest, unlink: bool) -> ApiResult<Response> {
    let db = db::db(env)?;
    let fan = required(req, &db, "Linking your sign-in").await?;
    let Some(who) = signin::current(req, env, manifest) else {
        return Err(ApiError::SignInRequired(signin::sign_in_links(&origin(req), manifest)));
    };
    let public = json!({"provider": who.provider.as_str(), "sub": who.sub, "name": who.name});
    if unlink {
        let removed = db::credits::unlink_fan(&db, &who.key(), &fan.id).await?;
        return Ok(json(200, &json!({"fan_id": fan.id, "unlinked": removed, "identity": public})));
    }
    db::credits::link_fan(&db, &who.key(), &fan.id, now_ms()).await?;
    Ok(json(200, &json!({"fan_id": fan.id, "linked": true, "identity": public})))
}
