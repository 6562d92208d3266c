//! The marketplace's own pages: the index of apps and `GET /api/apps`. Both are the same for
//! everyone, so they are versioned by their content (ETag, 304), cached at the edge, and kept in
//! the data center's cache (the Workers Cache API) for a minute, so most GETs read no D1.

use fanline_edge::app::page::{escape_html, html_page};
use fanline_edge::db::{self, apps::CatalogRow};
use fanline_edge::platform::error::ApiResult;
use fanline_edge::platform::http::{etag, holds_version, json, not_modified, origin, versioned, SHARED_CACHE};
use serde_json::{json, Value};
use worker::{Cache, Env, Request, Response};

/// Drops this data center's cached catalog pages after an app changes state, so the change
/// shows at once here (other data centers' copies expire within their minute).
pub async fn forget_catalog(origin: &str) {
    let cache = Cache::default();
    for page in ["/", "/api/apps"] {
        let _ = cache.delete(format!("{origin}{page}"), false).await;
    }
}

/// Serves a catalog page from the data center's cache when it holds one, else builds it
/// (`build` reads D1) and keeps it; either way a caller holding the same version gets a 304.
async fn cached<F, Fut>(req: &Request, build: F) -> ApiResult<Response>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ApiResult<(Response, String)>>,
{
    let cache = Cache::default();
    let key = req.url()?.to_string();
    let mut response = match cache.get(key.as_str(), false).await? {
        Some(hit) => hit,
        None => {
            let (built, body) = build().await?;
            let mut built = versioned(built, &etag(&[&body]), SHARED_CACHE);
            cache.put(key.as_str(), built.cloned()?).await?;
            built
        }
    };
    let tag = response.headers().get("ETag")?.unwrap_or_default();
    if holds_version(req, &tag) {
        return Ok(not_modified(&tag, SHARED_CACHE));
    }
    // A response read from the cache has immutable headers; the hub adds its own after.
    response = Response::from_body(response.body().clone())?.with_status(response.status_code()).with_headers(response.headers().clone());
    Ok(response)
}

fn app_card(row: &CatalogRow, origin: &str) -> Value {
    let app = &row.app;
    let manifest = app.manifest().ok();
    json!({
        "slug": app.slug,
        "title": app.title,
        "description": app.description,
        "creator": {"id": app.creator_id, "name": row.creator_name},
        "price_summary": manifest.as_ref().map(|m| m.price_summary()),
        "pricing": manifest.as_ref().map(|m| json!(m.pricing)),
        "url": format!("{origin}/apps/{}/", app.slug),
        "embed": format!("<script src=\"{origin}/apps/{}/embed.js\"></script>", app.slug),
        "api": format!("{origin}/apps/{}/api/requests", app.slug),
    })
}

pub async fn list_apps(req: &Request, env: &Env) -> ApiResult<Response> {
    cached(req, || async {
        let origin = origin(req);
        let cards: Vec<Value> = db::apps::catalog(&db::db(env)?).await?.iter().map(|a| app_card(a, &origin)).collect();
        let body = json!({ "apps": cards });
        Ok((json(200, &body), body.to_string()))
    })
    .await
}

pub async fn index_page(req: &Request, env: &Env) -> ApiResult<Response> {
    cached(req, || async {
        let html = index_html(env).await?;
        Ok((html_page(html.clone()), html))
    })
    .await
}

async fn index_html(env: &Env) -> ApiResult<String> {
    let mut items = String::new();
    for row in db::apps::catalog(&db::db(env)?).await? {
        let app = &row.app;
        let price = app.manifest().map(|m| m.price_summary()).unwrap_or_default();
        items.push_str(&format!(
            "<li class=\"card\"><h2><a href=\"/apps/{slug}/\">{title}</a></h2><p class=\"by\">by {creator}</p><p class=\"price\">{price}</p><p>{description}</p></li>",
            slug = escape_html(&app.slug),
            title = escape_html(&app.title),
            creator = escape_html(&row.creator_name),
            price = escape_html(&price),
            description = escape_html(&app.description),
        ));
    }
    if items.is_empty() {
        items.push_str("<li>No apps are registered yet.</li>");
    }
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Fanline marketplace</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1c1c28}}\
         ul{{list-style:none;padding:0;display:grid;gap:1rem;grid-template-columns:repeat(auto-fill,minmax(16rem,1fr))}}\
         .card{{border:1px solid #d8d8e0;border-radius:.6rem;padding:1rem}}.card h2{{font-size:1.1rem;margin:0 0 .25rem}}\
         .by{{color:#555;margin:0}}.price{{font-weight:600;margin:.5rem 0}}p{{margin:.25rem 0}}a{{color:#3a3ad0}}</style>\
         </head><body><h1>Fanline marketplace</h1><ul>{items}</ul></body></html>"
    );
    Ok(html)
}
