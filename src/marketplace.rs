//! The marketplace's own pages: the index of apps and `GET /api/apps`. Both are the same for
//! everyone, so they are versioned by their content (ETag, 304), cached at the edge, and kept in
//! the data center's cache (the Workers Cache API) for a minute, so most GETs read no D1.

use fanline_edge::app::page::{escape_html, html_page};
use fanline_edge::db::{self, apps::AppRow};
use fanline_edge::platform::error::ApiResult;
use fanline_edge::platform::http::{etag, holds_version, json, not_modified, origin, versioned, SHARED_CACHE};
use serde_json::{json, Value};
use worker::{Cache, Env, Request, Response};

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

fn app_card(app: &AppRow, origin: &str) -> Value {
    let manifest = app.manifest().ok();
    let pricing = manifest.as_ref().map(|m| json!(m.pricing));
    json!({
        "slug": app.slug,
        "title": app.title,
        "description": app.description,
        "pricing": pricing,
        "url": format!("{origin}/apps/{}/", app.slug),
        "embed": format!("<script src=\"{origin}/apps/{}/embed.js\"></script>", app.slug),
        "api": format!("{origin}/apps/{}/api/requests", app.slug),
    })
}

pub async fn list_apps(req: &Request, env: &Env) -> ApiResult<Response> {
    cached(req, || async {
        let origin = origin(req);
        let cards: Vec<Value> = db::apps::list(&db::db(env)?).await?.iter().map(|a| app_card(a, &origin)).collect();
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
    for app in db::apps::list(&db::db(env)?).await? {
        let price = app.manifest().map(|m| {
            let base = m.base_price();
            if base.is_zero() {
                "Free".to_string()
            } else {
                format!("From {}", base.display())
            }
        });
        items.push_str(&format!(
            "<li><a href=\"/apps/{slug}/\">{title}</a> <span>{price}</span><p>{description}</p></li>",
            slug = escape_html(&app.slug),
            title = escape_html(&app.title),
            price = escape_html(&price.unwrap_or_default()),
            description = escape_html(&app.description),
        ));
    }
    if items.is_empty() {
        items.push_str("<li>No apps are registered yet.</li>");
    }
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Fanline marketplace</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}}li{{margin:1rem 0}}span{{color:#555}}p{{margin:.25rem 0}}</style>\
         </head><body><h1>Fanline marketplace</h1><ul>{items}</ul></body></html>"
    );
    Ok(html)
}
