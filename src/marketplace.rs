//! The marketplace's own pages: the index of apps and `GET /api/apps`.

use fanline_edge::app::page::{escape_html, html_page};
use fanline_edge::db::{self, apps::AppRow};
use fanline_edge::platform::error::ApiResult;
use fanline_edge::platform::http::{json, origin};
use serde_json::{json, Value};
use worker::{Env, Request, Response};

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
    let origin = origin(req);
    let cards: Vec<Value> = db::apps::list(&db::db(env)?).await?.iter().map(|a| app_card(a, &origin)).collect();
    Ok(json(200, &json!({ "apps": cards })))
}

pub async fn index_page(env: &Env) -> ApiResult<Response> {
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
    Ok(html_page(html))
}
