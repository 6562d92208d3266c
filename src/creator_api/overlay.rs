//! The app's OBS overlay link: `GET /api/apps/:slug/overlay` (made on first ask) and
//! `POST /api/apps/:slug/overlay/rotate` (a new token; the old link stops working at once).

use fanline_core::intake::ids;
use fanline_edge::db;
use fanline_edge::platform::config::{now_ms, random};
use fanline_edge::platform::error::ApiResult;
use fanline_edge::platform::http::{json, origin};
use fanline_edge::trust::auth;
use serde_json::json;
use worker::{Env, Request, Response};

fn answer(req: &Request, slug: &str, token: &str) -> Response {
    let url = format!("{}/apps/{slug}/overlay?token={token}", origin(req));
    json(200, &json!({"app": slug, "token": token, "url": url}))
}

pub async fn show(req: &Request, env: &Env, slug: &str) -> ApiResult<Response> {
    let db = db::db(env)?;
    let (_, app) = auth::creator_app(req, &db, slug).await?;
    let token = db::overlay_tokens::get_or_make(&db, &app.slug, &ids::token("ovl_", &random::<18>()), now_ms()).await?;
    Ok(answer(req, &app.slug, &token))
}

pub async fn rotate(req: &Request, env: &Env, slug: &str) -> ApiResult<Response> {
    let db = db::db(env)?;
    let (_, app) = auth::creator_app(req, &db, slug).await?;
    let token = ids::token("ovl_", &random::<18>());
    db::overlay_tokens::rotate(&db, &app.slug, &token, now_ms()).await?;
    Ok(answer(req, &app.slug, &token))
}
