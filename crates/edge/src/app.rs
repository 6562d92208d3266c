//! A micro-app Worker: its form page and embed script, and the request API under
//! `/apps/<slug>/`. An app crate is its manifest plus a call to `serve`.

use crate::error::{ApiError, ApiResult};
use crate::fulfilment::{self, status_url};
use crate::http::{allow_any_origin, client_ip, header, json, origin, segments};
use crate::platform::{config, now_ms, random};
use crate::store::{self, Arg, BatchOutcome, RequestRow};
use crate::{auth, pages, payments};
use fanline_core::manifest::{FieldKind, Manifest};
use fanline_core::moderation;
use fanline_core::moderation::Decision as Verdict;
use fanline_core::routing::rfc3339;
use fanline_core::state::{self, Status};
use fanline_core::stripe::{self, CheckoutLine};
use fanline_core::submission::{self, RawFile, RawSubmission, Submission};
use fanline_core::{attachment, ids};
use serde_json::{json, Map, Value};
use worker::{Env, FormEntry, Method, Request, Response};

const RATE_LIMITER: &str = "INTAKE_LIMITER";
const JSON_BODY_MAX: u64 = 64 * 1024;

/// Entry point for an app Worker's fetch handler. Never fails: every error becomes a JSON
/// response with its status.
pub async fn serve(manifest_json: &str, req: Request, env: Env) -> worker::Result<Response> {
    let manifest = match Manifest::parse(manifest_json) {
        Ok(m) => m,
        Err(e) => return Ok(ApiError::Internal(e).into_response()),
    };
    let is_api = segments(&req).get(2).is_some_and(|s| s == "api");
    let response = route(&manifest, req, &env).await.unwrap_or_else(ApiError::into_response);
    Ok(if is_api { allow_any_origin(response) } else { response })
}

async fn route(manifest: &Manifest, req: Request, env: &Env) -> ApiResult<Response> {
    let path = segments(&req);
    let parts: Vec<&str> = path.iter().map(String::as_str).collect();
    let method = req.method();
    match (parts.as_slice(), method) {
        (["apps", slug, rest @ ..], method) if *slug == manifest.slug => match (rest, method) {
            ([], Method::Get) | (["index.html"], Method::Get) => Ok(pages::form_page(manifest)),
            (["embed.js"], Method::Get) => Ok(pages::embed_script(manifest)),
            (["manifest.json"], Method::Get) => Ok(json(200, &pages::public_manifest(manifest))),
            (["api", "requests", ..], Method::Options) => Ok(Response::empty()?.with_status(204)),
            (["api", "requests"], Method::Post) => create(req, env, manifest).await,
            (["api", "requests", id], Method::Get) => show(&req, env, manifest, id).await,
            (["api", "requests", id, "complete"], Method::Post) => complete(req, env, manifest, id).await,
            (["api", "requests", id, "refund"], Method::Post) => refund(req, env, manifest, id).await,
            (["api", "requests", id, "accept"], Method::Post) => decide(req, env, manifest, id, Decision::Accept).await,
            (["api", "requests", id, "decline"], Method::Post) => decide(req, env, manifest, id, Decision::Decline).await,
            (["api", "requests", id, "evidence"], Method::Get) => evidence(&req, env, manifest, id).await,
            (["api", "requests", id, "attachments", field], Method::Get) => attachment_file(&req, env, manifest, id, field).await,
            ([], _) | (["embed.js" | "manifest.json" | "index.html"], _) | (["api", "requests", ..], _) => Err(ApiError::MethodNotAllowed),
            _ => Err(ApiError::NotFound("route")),
        },
        _ => Err(ApiError::NotFound("route")),
    }
}

async fn create(req: Request, env: &Env, manifest: &Manifest) -> ApiResult<Response> {
    let db = store::db(env)?;
    let idempotency_key = header(&req, "Idempotency-Key")
        .map(|k| ids::parse_idempotency_key(&k))
        .transpose()
        .map_err(|m| ApiError::bad_request("invalid_idempotency_key", m))?;
    if let Some(key) = &idempotency_key {
        if let Some(first) = idempotent_original(&db, &manifest.slug, key).await? {
            return created_response(&first, &origin(&req), true);
        }
    }
    check_rate_limit(env, &req).await?;
    let Some(registered) = store::app(&db, &manifest.slug).await? else {
        return Err(ApiError::Unavailable(format!("The app '{}' is not registered with the marketplace yet.", manifest.slug)));
    };
    let origin = origin(&req);
    // Kept for the creator's dispute evidence, never shown to anyone else.
    let client = ClientSignals { ip: client_ip(&req), user_agent: header(&req, "User-Agent").map(|u| u.chars().take(300).collect()) };
    let (raw, file_bytes) = read_submission(req, manifest).await?;
    let submission = submission::validate(manifest, &raw).map_err(ApiError::Validation)?;
    let verdict = moderation::moderate(&manifest.moderation, &submission.text());
    let path = state::intake_path(verdict.decision, !submission.price.is_zero());
    let status = *path.last().unwrap_or(&Status::Created);
    let id = ids::request_id(&random());
    let now = now_ms();

    // With a connected Stripe account the creator is paid directly and the marketplace keeps
    // its fee; without one the platform account takes the payment.
    let creator_account = store::creator_stripe_account(&db, &registered.creator_id).await?;
    let application_fee = creator_account.as_ref().map(|_| stripe::application_fee(submission.price.amount, manifest.pricing.platform_fee_bps));
    let checkout = if status == Status::AwaitingPayment {
        let page = page_url(&origin, manifest);
        let (success_url, cancel_url) = (format!("{page}?paid=1&request={id}"), format!("{page}?cancelled=1&request={id}"));
        let lines = checkout_lines(&submission);
        let email = submission.email(manifest);
        Some(
            payments::create_checkout(env, &stripe::CheckoutRequest {
                request_id: &id,
                app_slug: &manifest.slug,
                lines: &lines,
                success_url: &success_url,
                cancel_url: &cancel_url,
                customer_email: email.as_deref(),
                hold: manifest.pricing.hold.is_some(),
                connect: creator_account.as_deref().zip(application_fee).map(|(destination, application_fee)| stripe::Connect { destination, application_fee }),
            })
            .await?,
        )
    } else {
        None
    };

    let bucket = env.bucket("ATTACHMENTS")?;
    let mut stored = Vec::new();
    if verdict.decision != Verdict::Block {
        for (file, bytes) in submission.files.iter().zip(file_bytes) {
            let key = attachment::object_key(&id, &file.field, file.media_type);
            let metadata = worker::HttpMetadata { content_type: Some(file.media_type.to_string()), ..Default::default() };
            bucket.put(&key, bytes).http_metadata(metadata).execute().await?;
            stored.push((file, key));
        }
    }

    let add_on_ids: Vec<&str> = submission.add_ons.iter().map(|a| a.id.as_str()).collect();
    let row = RequestRow {
        id: id.clone(),
        app_slug: manifest.slug.clone(),
        status: status.as_str().to_string(),
        version: path.len() as i64,
        fields: serde_json::to_string(&submission.fields)?,
        add_ons: serde_json::to_string(&add_on_ids)?,
        amount: submission.price.amount as i64,
        currency: submission.price.currency.as_str().to_string(),
        price_lines: serde_json::to_string(&submission.lines)?,
        fan_email: submission.email(manifest),
        checkout_session_id: checkout.as_ref().map(|c| c.id.clone()),
        checkout_url: checkout.as_ref().map(|c| c.url.clone()),
        payment_intent_id: None,
        amount_refunded: 0,
        hold_until: None,
        captured_at: None,
        application_fee: application_fee.filter(|_| checkout.is_some()).map(|f| f as i64),
        moderation: serde_json::to_string(&verdict)?,
        created_at: now,
        updated_at: now,
    };
    let mut statements = vec![store::statement(
        &db,
        "INSERT INTO requests (id, app_slug, status, version, fields, add_ons, amount, currency, price_lines, fan_email, checkout_session_id,
                               checkout_url, moderation, client_ip, user_agent, application_fee, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        &[
            row.id.as_str().into(),
            row.app_slug.as_str().into(),
            row.status.as_str().into(),
            row.version.into(),
            row.fields.as_str().into(),
            row.add_ons.as_str().into(),
            row.amount.into(),
            row.currency.as_str().into(),
            row.price_lines.as_str().into(),
            row.fan_email.as_deref().into(),
            row.checkout_session_id.as_deref().into(),
            row.checkout_url.as_deref().into(),
            row.moderation.as_str().into(),
            client.ip.as_str().into(),
            client.user_agent.as_deref().into(),
            row.application_fee.map_or(Arg::Null, Arg::Int),
            now.into(),
            now.into(),
        ],
    )?];
    let reason = (!verdict.reasons.is_empty()).then(|| verdict.reasons.iter().map(|r| r.rule).collect::<Vec<_>>().join(","));
    statements.extend(store::transition_statements(&db, &id, 0, &path, "fan", reason.as_deref(), now)?);
    for (file, key) in &stored {
        statements.push(store::statement(
            &db,
            "INSERT INTO attachments (request_id, field, object_key, media_type, size) VALUES (?, ?, ?, ?, ?)",
            &[id.as_str().into(), file.field.as_str().into(), key.as_str().into(), file.media_type.into(), (file.size as i64).into()],
        )?);
    }
    if let Some(key) = &idempotency_key {
        statements.push(store::statement(
            &db,
            "INSERT INTO idempotency_keys (app_slug, key, request_id, created_at) VALUES (?, ?, ?, ?)",
            &[manifest.slug.as_str().into(), key.as_str().into(), id.as_str().into(), now.into()],
        )?);
    }
    let entries = fulfilment::outbox_entries(manifest, &row, &origin, &path);
    statements.extend(fulfilment::outbox_statements(&db, &id, &manifest.slug, &entries, now)?);

    match store::commit(&db, statements).await? {
        BatchOutcome::Committed => {
            fulfilment::enqueue(env, &entries).await;
            created_response(&row, &origin, false)
        }
        BatchOutcome::Conflict(detail) => {
            for (_, key) in &stored {
                let _ = bucket.delete(key).await;
            }
            // The same Idempotency-Key committed first in a concurrent submission.
            match &idempotency_key {
                Some(key) => match idempotent_original(&db, &manifest.slug, key).await? {
                    Some(first) => created_response(&first, &origin, true),
                    None => Err(ApiError::Internal(detail)),
                },
                None => Err(ApiError::Internal(detail)),
            }
        }
    }
}

struct ClientSignals {
    ip: String,
    user_agent: Option<String>,
}

fn checkout_lines(submission: &Submission) -> Vec<CheckoutLine> {
    let currency = &submission.price.currency;
    submission.lines.iter().map(|l| CheckoutLine { name: l.label.clone(), amount: fanline_core::money::Money::new(l.amount, currency.clone()) }).collect()
}

fn page_url(origin: &str, manifest: &Manifest) -> String {
    format!("{origin}/apps/{}/", manifest.slug)
}

async fn check_rate_limit(env: &Env, req: &Request) -> ApiResult<()> {
    let Ok(limiter) = env.rate_limiter(RATE_LIMITER) else { return Ok(()) };
    let outcome = limiter.limit(client_ip(req)).await?;
    if outcome.success {
        Ok(())
    } else {
        let period = config(env, "RATE_LIMIT_PERIOD_SECS", "60").parse().unwrap_or(60);
        Err(ApiError::RateLimited { retry_after_secs: period })
    }
}

async fn idempotent_original(db: &worker::D1Database, slug: &str, key: &str) -> ApiResult<Option<RequestRow>> {
    #[derive(serde::Deserialize)]
    struct Original {
        request_id: String,
    }
    match store::first::<Original>(db, "SELECT request_id FROM idempotency_keys WHERE app_slug = ? AND key = ?", &[slug.into(), key.into()]).await? {
        Some(o) => store::request(db, &o.request_id).await,
        None => Ok(None),
    }
}

fn created_response(row: &RequestRow, origin: &str, replayed: bool) -> ApiResult<Response> {
    if row.status == Status::Rejected.as_str() {
        return Err(ApiError::Rejected { request_id: row.id.clone() });
    }
    let message = match row.status.as_str() {
        "awaiting_payment" => "Almost there: complete the payment to send your request.",
        "held_for_review" => "Thanks! The creator will review your request before it joins the queue.",
        _ => "Thanks! Your request is in the queue.",
    };
    let mut body = json!({
        "id": row.id,
        "app": row.app_slug,
        "status": row.status,
        "status_url": status_url(origin, &row.app_slug, &row.id),
        "price": price_json(row),
        "message": message,
    });
    if row.status == Status::AwaitingPayment.as_str() {
        body["checkout_url"] = json!(row.checkout_url);
        body["checkout_session_id"] = json!(row.checkout_session_id);
    }
    let mut response = json(201, &body);
    if replayed {
        response.headers_mut().set("Idempotent-Replayed", "true")?;
    }
    Ok(response)
}

/// Reads a JSON or multipart body into a raw submission, keeping file bytes for R2.
async fn read_submission(mut req: Request, manifest: &Manifest) -> ApiResult<(RawSubmission, Vec<Vec<u8>>)> {
    let content_type = header(&req, "Content-Type").unwrap_or_default().to_ascii_lowercase();
    let file_fields: Vec<_> = manifest.fields.iter().filter(|f| f.kind == FieldKind::File).collect();
    // Room for every file at its cap plus the text fields; beyond that the body is refused
    // before it is read. Files over their own cap but inside this get a per-field error.
    let body_max = JSON_BODY_MAX + file_fields.iter().map(|f| f.max_bytes.unwrap_or(0) * 2).sum::<u64>();
    let declared: Option<u64> = header(&req, "Content-Length").and_then(|l| l.parse().ok());
    if declared.is_some_and(|l| l > body_max) {
        return Err(ApiError::PayloadTooLarge(format!("The request body is larger than {body_max} bytes.")));
    }
    if content_type.starts_with("application/json") {
        let bytes = req.bytes().await.map_err(|_| ApiError::bad_request("unreadable_body", "Could not read the body."))?;
        if bytes.len() as u64 > JSON_BODY_MAX {
            return Err(ApiError::PayloadTooLarge(format!("A JSON body may be at most {JSON_BODY_MAX} bytes.")));
        }
        return Ok((parse_json_submission(&bytes)?, Vec::new()));
    }
    if content_type.starts_with("application/x-www-form-urlencoded") {
        let bytes = req.bytes().await.map_err(|_| ApiError::bad_request("unreadable_body", "Could not read the body."))?;
        if bytes.len() as u64 > JSON_BODY_MAX {
            return Err(ApiError::PayloadTooLarge(format!("A form body without files may be at most {JSON_BODY_MAX} bytes.")));
        }
        // `curl -d '{...}'` labels JSON as a form; read it as the JSON it is.
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
            return Ok((parse_json_submission(&bytes)?, Vec::new()));
        }
        return Ok((parse_urlencoded_submission(&bytes), Vec::new()));
    }
    if !content_type.starts_with("multipart/form-data") {
        return Err(ApiError::UnsupportedMediaType("Send application/json, multipart/form-data or a urlencoded form.".into()));
    }
    let form = req.form_data().await.map_err(|_| ApiError::bad_request("invalid_form", "The form body could not be parsed."))?;
    let mut raw = RawSubmission::default();
    let mut bytes = Vec::new();
    for field in &manifest.fields {
        for entry in form.get_all(&field.name).unwrap_or_default() {
            match entry {
                FormEntry::Field(text) if field.kind == FieldKind::Checkbox => {
                    raw.fields.insert(field.name.clone(), Value::String(text));
                }
                FormEntry::Field(text) if field.kind != FieldKind::File => {
                    raw.fields.insert(field.name.clone(), Value::String(text));
                }
                FormEntry::Field(_) => {}
                FormEntry::File(file) if field.kind == FieldKind::File => {
                    let data = file.bytes().await?;
                    raw.files.push(RawFile { field: field.name.clone(), declared_type: file.type_(), size: data.len() as u64, head: data.iter().take(16).copied().collect() });
                    bytes.push(data);
                }
                FormEntry::File(_) => {
                    return Err(ApiError::Validation(vec![fanline_core::FieldError::new(&field.name, "unexpected_file", "This field does not take a file.")]));
                }
            }
        }
    }
    for entry in form.get_all("add_ons").unwrap_or_default() {
        if let FormEntry::Field(id) = entry {
            raw.add_ons.extend(id.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string));
        }
    }
    if let Some(FormEntry::Field(tip)) = form.get("tip") {
        raw.tip = Some(Value::String(tip));
    }
    // Files and bytes stay in the manifest's field order, as `validate` keeps them.
    let order = |name: &str| manifest.fields.iter().position(|f| f.name == name);
    let mut paired: Vec<_> = raw.files.drain(..).zip(bytes).collect();
    paired.sort_by_key(|(f, _)| order(&f.field));
    let (files, bytes): (Vec<_>, Vec<_>) = paired.into_iter().unzip();
    raw.files = files;
    Ok((raw, bytes))
}

/// A plain HTML form post: text fields by name, `add_ons` repeated or comma-separated.
fn parse_urlencoded_submission(bytes: &[u8]) -> RawSubmission {
    let mut raw = RawSubmission::default();
    for (key, value) in url::form_urlencoded::parse(bytes) {
        if key == "add_ons" {
            raw.add_ons.extend(value.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string));
        } else if key == "tip" {
            raw.tip = Some(Value::String(value.into_owned()));
        } else if !key.is_empty() {
            raw.fields.insert(key.into_owned(), Value::String(value.into_owned()));
        }
    }
    raw
}

fn parse_json_submission(bytes: &[u8]) -> ApiResult<RawSubmission> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| ApiError::bad_request("invalid_json", format!("The body is not valid JSON: {e}")))?;
    let Value::Object(mut body) = value else {
        return Err(ApiError::bad_request("invalid_json", "The body must be a JSON object: {\"fields\": {...}, \"add_ons\": [...], \"tip\": 500}."));
    };
    let fields = match body.remove("fields") {
        Some(Value::Object(map)) => map,
        None => Map::new(),
        Some(_) => return Err(ApiError::bad_request("invalid_json", "\"fields\" must be an object.")),
    };
    let add_ons = match body.remove("add_ons") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| ApiError::bad_request("invalid_json", "\"add_ons\" must be a list of add-on ids."))?,
        Some(_) => return Err(ApiError::bad_request("invalid_json", "\"add_ons\" must be a list of add-on ids.")),
    };
    let tip = body.remove("tip");
    if let Some(key) = body.keys().next() {
        return Err(ApiError::bad_request("invalid_json", format!("Unknown top-level key \"{key}\"; fields go inside \"fields\".")));
    }
    Ok(RawSubmission { fields, add_ons, tip, files: Vec::new() })
}

/// The request as the fan sees it, and with `Authorization` as its creator sees it.
async fn show(req: &Request, env: &Env, manifest: &Manifest, id: &str) -> ApiResult<Response> {
    let db = store::db(env)?;
    let row = load(&db, manifest, id).await?;
    let as_creator = if header(req, "Authorization").is_some() {
        let creator = auth::creator(req, &db).await?;
        auth::owned_app(&db, &creator, &manifest.slug).await.map_err(|_| ApiError::NotFound("request"))?;
        true
    } else {
        false
    };
    Ok(json(200, &view(&db, &row, &origin(req), as_creator).await?))
}

/// Rows read as JSON keep D1's millisecond times; the API speaks RFC 3339 (`*_at` columns).
fn times_as_text(rows: Vec<Value>) -> Value {
    let convert = |mut row: Value| {
        if let Value::Object(map) = &mut row {
            for (key, value) in map.iter_mut() {
                if let (true, Some(ms)) = (key.ends_with("_at"), value.as_f64()) {
                    *value = json!(rfc3339(ms as i64));
                }
            }
        }
        row
    };
    Value::Array(rows.into_iter().map(convert).collect())
}

/// Total and the lines it is made of, as the server priced them, and what was refunded.
fn price_json(row: &RequestRow) -> Value {
    json!({
        "amount": row.amount,
        "currency": row.currency,
        "lines": serde_json::from_str::<Value>(&row.price_lines).unwrap_or(json!([])),
        "refunded": row.amount_refunded,
    })
}

async fn view(db: &worker::D1Database, row: &RequestRow, origin: &str, as_creator: bool) -> ApiResult<Value> {
    let events = store::events(db, &row.id).await?;
    let history: Vec<Value> = events
        .iter()
        .map(|e| {
            let mut item = json!({"seq": e.seq, "type": e.kind, "status": e.status, "at": rfc3339(e.at)});
            if as_creator {
                item["actor"] = json!(e.actor);
                item["reason"] = json!(e.reason);
            }
            item
        })
        .collect();
    let add_ons: Value = serde_json::from_str(&row.add_ons).unwrap_or(json!([]));
    let mut body = json!({
        "id": row.id,
        "app": row.app_slug,
        "status": row.status,
        "price": price_json(row),
        "payment": if row.is_uncaptured_hold() { json!({"hold": true, "accept_by": row.hold_until.map(rfc3339)}) } else { json!({"hold": false}) },
        "add_ons": add_ons,
        "status_url": status_url(origin, &row.app_slug, &row.id),
        "created_at": rfc3339(row.created_at),
        "updated_at": rfc3339(row.updated_at),
        "history": history,
    });
    if row.status == Status::AwaitingPayment.as_str() {
        body["checkout_url"] = json!(row.checkout_url);
    }
    if row.checkout_session_id.is_some() {
        body["checkout_session_id"] = json!(row.checkout_session_id);
    }
    if as_creator {
        body["fields"] = serde_json::from_str(&row.fields).unwrap_or(json!({}));
        body["fan_email"] = json!(row.fan_email);
        body["moderation"] = serde_json::from_str(&row.moderation).unwrap_or(json!(null));
        let attachments: Vec<Value> = store::all::<AttachmentRow>(db, "SELECT field, media_type, size FROM attachments WHERE request_id = ?", &[row.id.as_str().into()])
            .await?
            .into_iter()
            .map(|a| json!({"field": a.field, "media_type": a.media_type, "size": a.size, "url": format!("{}/attachments/{}", status_url(origin, &row.app_slug, &row.id), a.field)}))
            .collect();
        body["attachments"] = json!(attachments);
        body["payment_intent_id"] = json!(row.payment_intent_id);
        body["price"]["platform_fee"] = json!(row.application_fee);
        body["refunds"] = times_as_text(store::all(db, "SELECT id, amount, reason, actor, created_at FROM refunds WHERE request_id = ? ORDER BY created_at, rowid", &[row.id.as_str().into()]).await?);
        body["disputes"] = times_as_text(store::all(db, "SELECT id, amount, reason, status, opened_at, closed_at FROM disputes WHERE request_id = ? ORDER BY opened_at", &[row.id.as_str().into()]).await?);
    }
    Ok(body)
}

#[derive(serde::Deserialize)]
struct AttachmentRow {
    field: String,
    media_type: String,
    size: i64,
}

async fn load(db: &worker::D1Database, manifest: &Manifest, id: &str) -> ApiResult<RequestRow> {
    if !ids::is_request_id(id) {
        return Err(ApiError::NotFound("request"));
    }
    match store::request(db, id).await? {
        Some(row) if row.app_slug == manifest.slug => Ok(row),
        _ => Err(ApiError::NotFound("request")),
    }
}

/// The creator behind the key and their request; another creator's request is "not found".
async fn owned_request(req: &Request, db: &worker::D1Database, manifest: &Manifest, id: &str) -> ApiResult<(store::Creator, RequestRow)> {
    let creator = auth::creator(req, db).await?;
    let row = load(db, manifest, id).await?;
    auth::owned_app(db, &creator, &manifest.slug).await.map_err(|_| ApiError::NotFound("request"))?;
    Ok((creator, row))
}

/// A creator action's optional JSON body (`{}` when empty); `example` shows its shape.
async fn optional_json(req: &mut Request, example: &str) -> ApiResult<Value> {
    let body = req.text().await.unwrap_or_default();
    if body.trim().is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_str(&body).map_err(|_| ApiError::bad_request("invalid_json", format!("The body must be JSON, e.g. {example}.")))
}

/// A short free-text field of such a body, cut to `max` characters.
fn text_field(body: &Value, key: &str, max: usize) -> Option<String> {
    body.get(key).and_then(Value::as_str).map(|s| s.chars().take(max).collect())
}

/// `POST .../complete`: the creator marks the request fulfilled.
async fn complete(mut req: Request, env: &Env, manifest: &Manifest, id: &str) -> ApiResult<Response> {
    let db = store::db(env)?;
    let (creator, row) = owned_request(&req, &db, manifest, id).await?;
    let note = text_field(&optional_json(&mut req, r#"{"note": "played at 21:04"}"#).await?, "note", 500);
    let origin = origin(&req);
    let actor = format!("creator:{}", creator.id);
    // Completing a request whose payment is still a hold captures it first.
    let moved = if row.is_uncaptured_hold() {
        row.status()?.walk(&[Status::Accepted, Status::Fulfilled]).map_err(|e| ApiError::Conflict { code: "invalid_transition", message: e.to_string() })?;
        payments::settle_hold(env, &db, manifest, &row, payments::HoldDecision::Accept { then_fulfil: true }, &actor, note.as_deref(), &origin).await?
    } else {
        fulfilment::advance(env, &db, manifest, &row, &[Status::Fulfilled], &actor, note.as_deref(), &origin, Vec::new()).await?
    };
    if !moved {
        return Err(ApiError::Conflict { code: "concurrent_update", message: "The request changed while completing it; fetch it and try again.".into() });
    }
    let row = load(&db, manifest, id).await?;
    Ok(json(200, &view(&db, &row, &origin, true).await?))
}

enum Decision {
    Accept,
    Decline,
}

/// `POST .../accept` and `POST .../decline` (`{"reason": "..."}` optional). On a held payment,
/// accepting captures it and declining releases it, so the fan is only charged for work the
/// creator took on. A paid (captured) request is declined by refunding it instead.
async fn decide(mut req: Request, env: &Env, manifest: &Manifest, id: &str, decision: Decision) -> ApiResult<Response> {
    let db = store::db(env)?;
    let (creator, row) = owned_request(&req, &db, manifest, id).await?;
    let reason = text_field(&optional_json(&mut req, r#"{"reason": "not my style"}"#).await?, "reason", 500);
    let target = match decision {
        Decision::Accept => Status::Accepted,
        Decision::Decline => Status::Rejected,
    };
    let status = row.status()?;
    status.walk(&[target]).map_err(|e| ApiError::Conflict { code: "invalid_transition", message: e.to_string() })?;
    let origin = origin(&req);
    let actor = format!("creator:{}", creator.id);
    let moved = match (decision, row.is_uncaptured_hold()) {
        (Decision::Accept, true) => payments::settle_hold(env, &db, manifest, &row, payments::HoldDecision::Accept { then_fulfil: false }, &actor, reason.as_deref(), &origin).await?,
        (Decision::Decline, true) => payments::settle_hold(env, &db, manifest, &row, payments::HoldDecision::Decline, &actor, reason.as_deref(), &origin).await?,
        (Decision::Decline, false) if row.payment_intent_id.is_some() => {
            return Err(ApiError::Conflict { code: "refund_first", message: "This request is paid; refund it (POST .../refund) to decline it.".into() })
        }
        _ => fulfilment::advance(env, &db, manifest, &row, &[target], &actor, reason.as_deref(), &origin, Vec::new()).await?,
    };
    if !moved {
        return Err(ApiError::Conflict { code: "concurrent_update", message: "The request changed meanwhile; fetch it and try again.".into() });
    }
    let row = load(&db, manifest, id).await?;
    Ok(json(200, &view(&db, &row, &origin, true).await?))
}

/// `POST .../refund` with `{"amount": 500, "reason": "..."}` (amount optional: all that is
/// left). A refund that empties the payment moves the request to `refunded`. Send an
/// `Idempotency-Key` to make retrying the call safe.
async fn refund(mut req: Request, env: &Env, manifest: &Manifest, id: &str) -> ApiResult<Response> {
    let db = store::db(env)?;
    let (creator, row) = owned_request(&req, &db, manifest, id).await?;
    let body = optional_json(&mut req, r#"{"amount": 500, "reason": "late"}"#).await?;
    let reason = text_field(&body, "reason", 200);
    let status = row.status()?;
    if row.is_uncaptured_hold() {
        return Err(ApiError::Conflict { code: "not_refundable", message: "This payment is only a hold; decline the request (POST .../decline) to release it.".into() });
    }
    let Some(payment_intent) = row.payment_intent_id.clone().filter(|_| status.can_become(Status::Refunded)) else {
        return Err(ApiError::Conflict { code: "not_refundable", message: format!("A request that is {} has no payment to refund.", status.as_str()) });
    };
    let remaining = (row.amount - row.amount_refunded).max(0) as u64;
    let amount = match body.get("amount") {
        None | Some(Value::Null) => remaining,
        Some(v) => v.as_u64().ok_or_else(|| ApiError::bad_request("invalid_refund_amount", "amount is a whole number of minor units."))?,
    };
    if amount == 0 || amount > remaining {
        return Err(ApiError::bad_request("invalid_refund_amount", format!("Refund between 1 and {remaining} (what is left of the payment).")));
    }
    // Without a key from the caller, the key is tied to how much was refunded before, so a
    // blind retry of the same call after a lost answer cannot refund twice.
    let key = match header(&req, "Idempotency-Key") {
        Some(k) => format!("refund-{id}-{}", ids::parse_idempotency_key(&k).map_err(|m| ApiError::bad_request("invalid_idempotency_key", m))?),
        None => format!("refund-{id}-{}-{amount}", row.amount_refunded),
    };
    let refund = payments::create_refund(env, &payment_intent, amount, id, reason.as_deref(), &key).await?;
    let actor = format!("creator:{}", creator.id);
    let now = now_ms();
    // Stripe's charge.refunded webhook may have landed while we waited, so the running total
    // is raised to (never added onto) what this refund makes it.
    let total = row.amount_refunded + refund.amount as i64;
    let record = || -> ApiResult<Vec<worker::D1PreparedStatement>> {
        Ok(vec![
            store::statement(&db, "INSERT INTO refunds (id, request_id, amount, reason, actor, created_at) VALUES (?, ?, ?, ?, ?, ?)", &[refund.id.as_str().into(), id.into(), (refund.amount as i64).into(), reason.as_deref().into(), actor.as_str().into(), now.into()])?,
            store::statement(&db, "UPDATE requests SET amount_refunded = MAX(amount_refunded, ?) WHERE id = ?", &[total.into(), id.into()])?,
        ])
    };
    let fresh = load(&db, manifest, id).await?;
    let moved = total >= row.amount && fresh.status()?.can_become(Status::Refunded) && fulfilment::advance(env, &db, manifest, &fresh, &[Status::Refunded], &actor, reason.as_deref(), &origin(&req), record()?).await?;
    if !moved {
        // A partial refund, or the webhook already moved the request: keep the refund record.
        // A conflict here means this refund id was recorded by an earlier try of this call.
        store::commit(&db, record()?).await?;
    }
    let row = load(&db, manifest, id).await?;
    Ok(json(200, &view(&db, &row, &origin(&req), true).await?))
}

/// `GET .../evidence`: everything a creator needs to answer a chargeback, as one JSON file.
async fn evidence(req: &Request, env: &Env, manifest: &Manifest, id: &str) -> ApiResult<Response> {
    let db = store::db(env)?;
    let (_, row) = owned_request(req, &db, manifest, id).await?;
    #[derive(serde::Deserialize)]
    struct Signals {
        client_ip: Option<String>,
        user_agent: Option<String>,
    }
    let signals = store::first::<Signals>(&db, "SELECT client_ip, user_agent FROM requests WHERE id = ?", &[id.into()]).await?;
    let deliveries = times_as_text(store::all(
        &db,
        "SELECT o.id, o.destination, o.event, o.state, o.attempts, o.delivered_at, o.created_at FROM outbox o WHERE o.request_id = ? ORDER BY o.created_at, o.rowid",
        &[id.into()],
    )
    .await?);
    let body = json!({
        "exported_at": rfc3339(now_ms()),
        "app": {"slug": manifest.slug, "title": manifest.title},
        "request": view(&db, &row, &origin(req), true).await?,
        "payment": {
            "provider": "stripe",
            "checkout_session_id": row.checkout_session_id,
            "payment_intent_id": row.payment_intent_id,
            "amount": row.amount,
            "currency": row.currency,
            "amount_refunded": row.amount_refunded,
        },
        "identity": {
            "email": row.fan_email,
            "ip": signals.as_ref().and_then(|s| s.client_ip.clone()),
            "user_agent": signals.and_then(|s| s.user_agent),
        },
        "deliveries": deliveries,
    });
    let mut response = json(200, &body);
    response.headers_mut().set("Content-Disposition", &format!("attachment; filename=\"evidence-{id}.json\""))?;
    Ok(response)
}

/// The creator downloads a fan's attachment.
async fn attachment_file(req: &Request, env: &Env, manifest: &Manifest, id: &str, field: &str) -> ApiResult<Response> {
    let db = store::db(env)?;
    owned_request(req, &db, manifest, id).await?;
    #[derive(serde::Deserialize)]
    struct Key {
        object_key: String,
        media_type: String,
    }
    let key = store::first::<Key>(&db, "SELECT object_key, media_type FROM attachments WHERE request_id = ? AND field = ?", &[id.into(), field.into()]).await?.ok_or(ApiError::NotFound("attachment"))?;
    let object = env.bucket("ATTACHMENTS")?.get(&key.object_key).execute().await?.ok_or(ApiError::NotFound("attachment"))?;
    let bytes = object.body().ok_or(ApiError::NotFound("attachment"))?.bytes().await?;
    let mut response = Response::from_bytes(bytes)?;
    response.headers_mut().set("Content-Type", &key.media_type)?;
    response.headers_mut().set("Content-Disposition", "attachment")?;
    Ok(response)
}
