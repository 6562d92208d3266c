//! Data exports for compliance and migration: the creator's export of an app's requests (JSON
//! or CSV, a page at a time, attachments as signed links that expire), and a fan's own data,
//! to download or to erase (what they typed and what identifies them goes; the money records
//! stay).

use crate::db::{self, export};
use crate::delivery::outbox::fan_key_secret;
use crate::platform::config::now_ms;
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::http::{csv_download, json, origin, query_param};
use crate::trust::{auth, fans, signin};
use fanline_core::kpi::csv_cell;
use fanline_core::manifest::Manifest;
use fanline_core::trust::identity;
use fanline_core::util::time::rfc3339;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use worker::{Env, Request, Response};

/// Requests per export page.
const PAGE: i64 = 200;
/// How long an attachment link in an export works.
const LINK_SECS: i64 = 24 * 3600;

/// Each request as an export shows it, with its history, refunds, rating and attachments.
fn documents(rows: &[export::ExportRow], related: export::Related, links: &Links<'_>) -> Vec<Value> {
    let mut by_id: BTreeMap<&str, Value> = BTreeMap::new();
    for r in rows {
        let parsed = |t: &str| serde_json::from_str::<Value>(t).unwrap_or(Value::Null);
        by_id.insert(
            &r.id,
            json!({
                "id": r.id, "app": r.app_slug, "status": r.status, "test": r.test != 0,
                "created_at": rfc3339(r.created_at), "updated_at": rfc3339(r.updated_at),
                "fields": parsed(&r.fields), "add_ons": parsed(&r.add_ons), "fan_email": r.fan_email,
                "price": {"amount": r.amount, "currency": r.currency, "lines": parsed(&r.price_lines), "refunded": r.amount_refunded},
                "payment": {
                    "provider": r.provider, "payment_intent_id": r.payment_intent_id, "paypal_capture_id": r.paypal_capture_id,
                    "captured_at": r.captured_at.map(rfc3339), "application_fee": r.application_fee, "credits": r.credits_spent,
                },
                "history": [], "refunds": [], "rating": null, "attachments": [],
            }),
        );
    }
    let mut push = |id: &str, key: &str, item: Value| {
        if let Some(doc) = by_id.get_mut(id) {
            if let Some(list) = doc[key].as_array_mut() {
                list.push(item);
            }
        }
    };
    for e in related.events {
        push(&e.request_id, "history", json!({"status": e.status, "actor": e.actor, "reason": e.reason, "at": rfc3339(e.at)}));
    }
    for f in related.refunds {
        push(&f.request_id, "refunds", json!({"amount": f.amount, "reason": f.reason, "actor": f.actor, "at": rfc3339(f.created_at)}));
    }
    for a in related.attachments {
        let url = links.attachment(&a.request_id, &a.field);
        push(&a.request_id, "attachments", json!({"field": a.field, "media_type": a.media_type, "size": a.size, "url": url}));
    }
    for rating in related.ratings {
        if let Some(doc) = by_id.get_mut(rating.request_id.as_str()) {
            doc["rating"] = json!({"stars": rating.stars, "comment": rating.comment, "at": rfc3339(rating.at)});
        }
    }
    rows.iter().filter_map(|r| by_id.remove(r.id.as_str())).collect()
}

struct Links<'a> {
    origin: &'a str,
    slug: &'a str,
    secret: &'a str,
    expires: i64,
}

impl Links<'_> {
    fn attachment(&self, request_id: &str, field: &str) -> String {
        let tag = identity::AttachmentLink { request_id, field, expires: self.expires }.tag(self.secret.as_bytes());
        format!("{}/apps/{}/api/requests/{request_id}/attachments/{field}?expires={}&sig={tag}", self.origin, self.slug, self.expires)
    }
}

async fn with_related(db: &worker::D1Database, rows: &[export::ExportRow]) -> ApiResult<export::Related> {
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    export::related(db, &ids).await
}

/// `GET /apps/<slug>/api/export[?format=json|csv][&cursor=N]` with the creator's key: one page
/// of the app's requests, oldest first; `next_cursor` (JSON) or the `Fanline-Next-Cursor`
/// header (CSV) names the next page.
pub async fn app_export(req: &Request, env: &Env, manifest: &Manifest) -> ApiResult<Response> {
    let db = db::db(env)?;
    auth::creator_app(req, &db, &manifest.slug).await?;
    let format = query_param(req, "format").unwrap_or_else(|| "json".into());
    if !matches!(format.as_str(), "json" | "csv") {
        return Err(ApiError::bad_request("invalid_format", "format is json or csv."));
    }
    let offset = match query_param(req, "cursor") {
        Some(c) => {
            c.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| ApiError::bad_request("invalid_cursor", "cursor is the next_cursor of a previous page."))?
        }
        None => 0,
    };
    let rows = export::app_requests(&db, &manifest.slug, offset, PAGE).await?;
    let next = (rows.len() as i64 == PAGE).then(|| (offset + PAGE).to_string());
    let (origin, secret) = (origin(req), fan_key_secret(env));
    let links = Links { origin: &origin, slug: &manifest.slug, secret: &secret, expires: now_ms() / 1000 + LINK_SECS };
    let docs = documents(&rows, with_related(&db, &rows).await?, &links);
    if format == "csv" {
        let mut out = String::from(
            "id,status,created_at,amount,currency,refunded,provider,payment_ref,fan_email,fields,add_ons,price_lines,history,refunds,rating,attachments,test\n",
        );
        for d in &docs {
            let text = |v: &Value| if v.is_null() { String::new() } else { v.to_string() };
            let payment_ref = d["payment"]["payment_intent_id"].as_str().or(d["payment"]["paypal_capture_id"].as_str()).unwrap_or("");
            let attachments: Vec<&str> = d["attachments"].as_array().map(|a| a.iter().filter_map(|x| x["url"].as_str()).collect()).unwrap_or_default();
            let cells = [
                d["id"].as_str().unwrap_or("").to_string(),
                d["status"].as_str().unwrap_or("").to_string(),
                d["created_at"].as_str().unwrap_or("").to_string(),
                text(&d["price"]["amount"]),
                d["price"]["currency"].as_str().unwrap_or("").to_string(),
                text(&d["price"]["refunded"]),
                d["payment"]["provider"].as_str().unwrap_or("").to_string(),
                payment_ref.to_string(),
                d["fan_email"].as_str().unwrap_or("").to_string(),
                text(&d["fields"]),
                text(&d["add_ons"]),
                text(&d["price"]["lines"]),
                text(&d["history"]),
                text(&d["refunds"]),
                d["rating"]["stars"].as_i64().map(|s| s.to_string()).unwrap_or_default(),
                attachments.join(" "),
                text(&d["test"]),
            ];
            out.push_str(&cells.iter().map(|c| csv_cell(c)).collect::<Vec<_>>().join(","));
            out.push('\n');
        }
        let mut response = csv_download(out, &format!("{}-requests.csv", manifest.slug));
        if let Some(next) = &next {
            response.headers_mut().set("Fanline-Next-Cursor", next)?;
        }
        return Ok(response);
    }
    Ok(json(200, &json!({"app": manifest.slug, "exported_at": rfc3339(now_ms()), "requests": docs, "next_cursor": next})))
}

/// Whose data this is: the fan's token, or their sign-in at this app.
async fn fan_scope(req: &Request, env: &Env, manifest: &Manifest) -> ApiResult<(Option<String>, Option<String>)> {
    let db = db::db(env)?;
    let fan = fans::from_request(req, &db).await?.map(|f| f.id);
    let signed_in = signin::current(req, env, manifest).map(|i| format!("oauth:{}", i.key()));
    if fan.is_none() && signed_in.is_none() {
        return Err(ApiError::FanTokenRequired("Send your Fan-Token header, or sign in at this app, to see or erase your data.".into()));
    }
    Ok((fan, signed_in))
}

/// `GET /apps/<slug>/api/me/data`: every request the fan made (with their token or signed in),
/// across the marketplace, with its history, refunds and rating.
pub async fn fan_export(req: &Request, env: &Env, manifest: &Manifest) -> ApiResult<Response> {
    let (fan_id, signed_in_key) = fan_scope(req, env, manifest).await?;
    let db = db::db(env)?;
    let rows = export::fan_requests(&db, &export::FanScope { fan_id: fan_id.as_deref(), signed_in_key: signed_in_key.as_deref() }).await?;
    let (origin, secret) = (origin(req), fan_key_secret(env));
    let links = Links { origin: &origin, slug: &manifest.slug, secret: &secret, expires: now_ms() / 1000 + LINK_SECS };
    let mut docs = documents(&rows, with_related(&db, &rows).await?, &links);
    // Attachment links point at this app; the fan's files of other apps are listed without one.
    for d in &mut docs {
        if d["app"] != json!(manifest.slug) {
            for a in d["attachments"].as_array_mut().into_iter().flatten() {
                a["url"] = Value::Null;
            }
        }
    }
    Ok(json(200, &json!({"exported_at": rfc3339(now_ms()), "fan_id": fan_id, "requests": docs})))
}

/// `DELETE /apps/<slug>/api/me/data`: erases what the fan typed and what identifies them from
/// all their requests (fields, email, network signals, sign-in identity, rating comments,
/// attachments, sent notifications' text) and their linked sign-ins; amounts, payments, refunds and states stay, as the
/// law and the creator's books need them.
pub async fn fan_erase(req: &Request, env: &Env, manifest: &Manifest) -> ApiResult<Response> {
    let (fan_id, signed_in_key) = fan_scope(req, env, manifest).await?;
    let db = db::db(env)?;
    let rows = export::fan_requests(&db, &export::FanScope { fan_id: fan_id.as_deref(), signed_in_key: signed_in_key.as_deref() }).await?;
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let related = export::related(&db, &ids).await?;
    let bucket = env.bucket("ATTACHMENTS")?;
    for a in &related.attachments {
        bucket.delete(&a.object_key).await?;
    }
    if !ids.is_empty() {
        db::commit_all(&db, export::erase(&db, &ids)?).await?;
    }
    // A linked Twitch names the fan too.
    if let Some(fan_id) = &fan_id {
        db::credits::forget_links(&db, fan_id).await?;
    }
    Ok(json(200, &json!({"erased": ids.len(), "attachments_deleted": related.attachments.len(), "kept": "amounts, payments, refunds, states and history"})))
}
