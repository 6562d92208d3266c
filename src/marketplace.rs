//! The marketplace's own pages: the index of apps and `GET /api/apps`. Both are the same for
//! everyone, so they are versioned by their content (ETag, 304), cached at the edge, kept in
//! the data center's cache (the Workers Cache API) for a minute, so most GETs read no D1, and
//! copied into the isolate's memory (`shared_copies`), so most do not even reach the hub.

use crate::shared_copies;
use fanline_core::catalog::{self, Entry, Kind, Query};
use fanline_core::manifest::Manifest;
use fanline_edge::db::{self, apps::CatalogRow};
use fanline_edge::platform::config::now_ms;
use fanline_edge::platform::error::{ApiError, ApiResult};
use fanline_edge::platform::http::{escape_html, html_page};
use fanline_edge::platform::http::{etag, holds_version, json, not_modified, origin, versioned, SHARED_CACHE};
use fanline_edge::trust::limits::PAYMENT_WINDOW_MS;
use serde_json::{json, Value};
use std::rc::Rc;
use worker::{console_warn, Cache, Env, Request, Response};

/// Drops this data center's cached catalog pages (the unfiltered ones) after an app changes
/// state, so the change shows at once here; other copies expire within their minute.
pub async fn forget_catalog(origin: &str, creator_id: &str) {
    let cache = Cache::default();
    for page in ["/".to_string(), "/api/apps".to_string(), format!("/c/{creator_id}")] {
        let key = format!("{origin}{page}");
        shared_copies::forget(&key);
        let _ = cache.delete(key, false).await;
    }
}

/// Serves a catalog page from the data center's cache when it holds one, else builds it
/// (`build` reads D1) and keeps it; either way a caller holding the same version gets a 304.
async fn cached<F, Fut>(req: &Request, build: F) -> ApiResult<Response>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ApiResult<(Response, String)>>,
{
    let key = shared_copies::key(req);
    let cache = Cache::default();
    let response = match cache.get(key.as_str(), false).await? {
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
    // Kept as a new response: one read from the cache has immutable headers, and the hub adds
    // its own after.
    shared_copies::keep(&key, response).await
}

/// A listed app with what the catalog knows about it.
struct Listed {
    row: CatalogRow,
    manifest: Rc<Manifest>,
    kind: Kind,
    from_price: u64,
    open: bool,
}

/// The live apps matching the query, in catalog order (a stored manifest that no longer
/// parses is left out and logged).
async fn listed(env: &Env, query: &Query) -> ApiResult<Vec<Listed>> {
    let rows = db::apps::catalog(&db::db(env)?, now_ms() - PAYMENT_WINDOW_MS).await?;
    let mut out = Vec::new();
    for row in rows {
        let Ok(manifest) = row.app.manifest() else {
            console_warn!("catalog: the stored manifest of {} does not parse", row.app.slug);
            continue;
        };
        let capacity = if row.limits_set { row.capacity } else { manifest.limits.capacity.map(i64::from) };
        let (kind, from_price) = (Kind::of(&manifest), catalog::from_price(&manifest));
        let entry = Entry {
            title: &row.app.title,
            description: &row.app.description,
            creator_id: &row.app.creator_id,
            creator_name: &row.creator_name,
            kind,
            from_price,
        };
        if query.matches(&entry) {
            let open = capacity.is_none_or(|c| row.in_queue < c);
            out.push(Listed { row, manifest, kind, from_price, open });
        }
    }
    Ok(out)
}

fn query_of(req: &Request, creator: Option<&str>) -> ApiResult<Query> {
    let url = req.url()?;
    let pairs: Vec<(String, String)> = url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    let mut query = catalog::parse_query(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))).map_err(|m| ApiError::bad_request("invalid_query", m))?;
    if let Some(creator) = creator {
        query.creator = Some(creator.to_string());
    }
    Ok(query)
}

fn app_card(l: &Listed, origin: &str) -> Value {
    let app = &l.row.app;
    json!({
        "slug": app.slug,
        "title": app.title,
        "description": app.description,
        "creator": {"id": app.creator_id, "name": l.row.creator_name, "url": format!("{origin}/c/{}", app.creator_id)},
        "kind": l.kind.as_str(),
        "from_price": {"amount": l.from_price, "currency": l.manifest.pricing.currency.as_str()},
        "price_summary": catalog::price_summary(&l.manifest),
        "open": l.open,
        "in_queue": l.row.in_queue,
        "pricing": l.manifest.pricing,
        "url": format!("{origin}/apps/{}/", app.slug),
        "embed": format!("<script src=\"{origin}/apps/{}/embed.js\"></script>", app.slug),
        "api": format!("{origin}/apps/{}/api/requests", app.slug),
    })
}

/// `GET /api/apps[?q=&kind=&max_price=&creator=&cursor=&limit=]`: live apps, a page at a time.
pub async fn list_apps(req: &Request, env: &Env) -> ApiResult<Response> {
    let query = query_of(req, None)?;
    cached(req, || async {
        let origin = origin(req);
        let (page, next) = query.page(listed(env, &query).await?);
        let cards: Vec<Value> = page.iter().map(|l| app_card(l, &origin)).collect();
        let body = json!({ "apps": cards, "next_cursor": next.map(|n| n.to_string()) });
        Ok((json(200, &body), body.to_string()))
    })
    .await
}

/// `/` (every creator) and `/c/<creator id>` (one creator's apps), with the same query.
pub async fn index_page(req: &Request, env: &Env, creator: Option<&str>) -> ApiResult<Response> {
    let query = query_of(req, creator)?;
    cached(req, || async {
        let html = index_html(env, &query).await?;
        Ok((html_page(html.clone()), html))
    })
    .await
}

async fn index_html(env: &Env, query: &Query) -> ApiResult<String> {
    let (page, next) = query.page(listed(env, query).await?);
    let creator_name = query.creator.as_ref().and_then(|_| page.first().map(|l| l.row.creator_name.clone()));
    if query.creator.is_some() && creator_name.is_none() && query.offset == 0 && query.text.is_none() && query.kind.is_none() && query.max_price.is_none() {
        return Err(ApiError::NotFound("creator"));
    }
    let mut items = String::new();
    for l in &page {
        let app = &l.row.app;
        let state = if l.open { format!("open · {} in the queue", l.row.in_queue) } else { "closed: the queue is full".into() };
        items.push_str(&format!(
            "<li class=\"card\"><h2><a href=\"/apps/{slug}/\">{title}</a></h2><p class=\"by\">by <a href=\"/c/{creator_id}\">{creator}</a></p>\
             <p class=\"price\">{price}</p><p class=\"state\">{state}</p><p>{description}</p></li>",
            slug = escape_html(&app.slug),
            title = escape_html(&app.title),
            creator_id = escape_html(&app.creator_id),
            creator = escape_html(&l.row.creator_name),
            price = escape_html(&catalog::price_summary(&l.manifest)),
            state = escape_html(&state),
            description = escape_html(&app.description),
        ));
    }
    if items.is_empty() {
        items.push_str("<li>No apps match.</li>");
    }
    let heading = creator_name.map_or_else(|| "Fanline marketplace".to_string(), |n| format!("Apps by {}", escape_html(&n)));
    let kinds: String = std::iter::once(("", "any kind"))
        .chain(catalog::KINDS.iter().map(|k| (k.as_str(), k.as_str())))
        .map(|(v, label)| {
            format!(
                "<option value=\"{v}\"{}>{label}</option>",
                if query.kind.map(|k| k.as_str()) == Some(v) || (v.is_empty() && query.kind.is_none()) { " selected" } else { "" }
            )
        })
        .collect();
    let q = escape_html(query.text.as_deref().unwrap_or(""));
    let max = query.max_price.map(|p| p.to_string()).unwrap_or_default();
    let more = next.map(|n| {
        let mut link = format!("?cursor={n}&limit={}", query.limit);
        for (k, v) in [("q", query.text.clone()), ("kind", query.kind.map(|k| k.as_str().to_string())), ("max_price", query.max_price.map(|p| p.to_string()))] {
            if let Some(v) = v {
                link.push_str(&format!("&{k}={}", url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>()));
            }
        }
        format!("<p><a href=\"{}\">More apps</a></p>", escape_html(&link))
    });
    Ok(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{heading}</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1c1c28}}\
         form{{display:flex;flex-wrap:wrap;gap:.5rem;align-items:end;margin:1rem 0}}label{{display:flex;flex-direction:column;font-size:.85rem;gap:.2rem}}\
         input,select,button{{font:inherit;padding:.4rem .5rem;border:1px solid #c8c8d4;border-radius:.4rem}}button{{background:#3a3ad0;color:#fff;border-color:#3a3ad0}}\
         ul{{list-style:none;padding:0;display:grid;gap:1rem;grid-template-columns:repeat(auto-fill,minmax(16rem,1fr))}}\
         .card{{border:1px solid #d8d8e0;border-radius:.6rem;padding:1rem}}.card h2{{font-size:1.1rem;margin:0 0 .25rem}}\
         .by,.state{{color:#555;margin:0}}.price{{font-weight:600;margin:.5rem 0}}p{{margin:.25rem 0}}a{{color:#3a3ad0}}</style>\
         </head><body><h1>{heading}</h1>\
         <form method=\"get\" role=\"search\"><label>Search<input type=\"search\" name=\"q\" value=\"{q}\" placeholder=\"song, icon, shoutout…\"></label>\
         <label>Kind<select name=\"kind\">{kinds}</select></label>\
         <label>Up to (cents)<input type=\"number\" name=\"max_price\" min=\"0\" step=\"100\" value=\"{max}\"></label><button type=\"submit\">Find</button></form>\
         <ul>{items}</ul>{more}</body></html>",
        more = more.unwrap_or_default()
    ))
}
