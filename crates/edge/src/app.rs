//! A micro-app Worker: its form page and embed script, and the request API under
//! `/apps/<slug>/`. An app crate is its manifest plus a call to `serve`.

use crate::error::{ApiError, ApiResult};
use crate::fulfilment::{self, status_url};
use crate::http::{allow_any_origin, client_ip, harden, header, json, origin, segments};
use crate::platform::{now_ms, random, required_config};
use crate::store::{self, Arg, BatchOutcome, RequestRow};
use crate::{auctions, auth, body, credits, fans, limits, pages, payments, paypal, review, signin, tiers, turnstile};
use sha2::Digest;
use fanline_core::manifest::{FieldKind, Manifest, Provider};
use fanline_core::moderation;
use fanline_core::moderation::Decision as Verdict;
use fanline_core::routing::rfc3339;
use fanline_core::state::{self, Status};
use fanline_core::stripe::{self, CheckoutLine};
use fanline_core::submission::{self, Payment, RawFile, RawSubmission, Submission};
use fanline_core::{attachment, ids};
use serde_json::{json, Map, Value};
use worker::{Env, Method, Request, Response};

const JSON_BODY_MAX: u64 = 64 * 1024;

/// Entry point for an app Worker's fetch handler. Never fails: every error becomes a JSON
/// response with its status.
pub async fn serve(manifest_json: &str, req: Request, env: Env) -> worker::Result<Response> {
    let manifest = match Manifest::parse(manifest_json) {
        Ok(m) => m,
        Err(e) => return Ok(harden(ApiError::Internal(e).into_response())),
    };
    let is_api = segments(&req).get(2).is_some_and(|s| s == "api");
    let response = route(&manifest, req, &env).await.unwrap_or_else(ApiError::into_response);
    Ok(harden(if is_api { allow_any_origin(response) } else { response }))
}

async fn route(manifest: &Manifest, req: Request, env: &Env) -> ApiResult<Response> {
    let path = segments(&req);
    let parts: Vec<&str> = path.iter().map(String::as_str).collect();
    let method = req.method();
    match (parts.as_slice(), method) {
        (["apps", slug, rest @ ..], method) if *slug == manifest.slug => match (rest, method) {
            ([], Method::Get) | (["index.html"], Method::Get) => Ok(pages::form_page(manifest)),
            (["embed.js"], Method::Get) => Ok(pages::embed_script(manifest)),
            (["paypal", "return"], Method::Get) => paypal::approval_return(&req, env, manifest).await,
            (["auth", "email", "start"], Method::Post) => signin::email_start(req, env, manifest).await,
            (["auth", "email", "confirm"], Method::Get) => signin::email_confirm(&req, env, manifest).await,
            (["auth", provider, "start"], Method::Get) => signin::start(&req, env, manifest, provider).await,
            (["auth", provider, "callback"], Method::Get) => signin::callback(&req, env, manifest, provider).await,
            (["auth", "logout"], Method::Post) => signin::logout(&req, manifest),
            (["api", "session"], Method::Get) => signin::session(&req, env, manifest),
            (["manifest.json"], Method::Get) => Ok(json(200, &pages::public_manifest(manifest))),
            (["api", "requests", ..], Method::Options) => Ok(Response::empty()?.with_status(204)),
            (["api", "requests"], Method::Post) => create(req, env, manifest, None).await,
            (["api", "me"], Method::Get) => credits::me(&req, env, manifest).await,
            (["api", "form-token"], Method::Get) => form_token(env, manifest),
            (["api", "status"], Method::Get) => limits::status(env, manifest).await,
            (["api", "credits", "checkout"], Method::Post) => credits::checkout(req, env, manifest).await,
            (["api", "tiers", "checkout"], Method::Post) => tiers::checkout(req, env, manifest).await,
            (["api", "tiers", "cancel"], Method::Post) => tiers::cancel(&req, env, manifest).await,
            (["api", "auctions"], Method::Get) => auctions::list(env, manifest).await,
            (["api", "auctions"], Method::Post) => auctions::open(req, env, manifest).await,
            (["api", "auctions", id], Method::Get) => auctions::show(env, manifest, id).await,
            (["api", "auctions", id, "bids"], Method::Post) => {
                let id = id.to_string();
                create(req, env, manifest, Some(&id)).await
            }
            (["api", ..], Method::Options) => Ok(Response::empty()?.with_status(204)),
            (["api", "requests", id], Method::Get) => show(&req, env, manifest, id).await,
            (["api", "requests", id, "complete"], Method::Post) => complete(req, env, manifest, id).await,
            (["api", "requests", id, "close"], Method::Post) => close(req, env, manifest, id).await,
            (["api", "requests", id, "refund"], Method::Post) => refund(req, env, manifest, id).await,
            (["api", "requests", id, "accept"], Method::Post) => decide(req, env, manifest, id, Decision::Accept).await,
            (["api", "requests", id, "decline"], Method::Post) => decide(req, env, manifest, id, Decision::Decline).await,
            (["api", "requests", id, "approve"], Method::Post) => review(req, env, manifest, id, Decision::Accept).await,
            (["api", "requests", id, "reject"], Method::Post) => review(req, env, manifest, id, Decision::Decline).await,
            (["api", "requests", id, "evidence"], Method::Get) => evidence(&req, env, manifest, id).await,
            (["api", "requests", id, "attachments", field], Method::Get) => attachment_file(&req, env, manifest, id, field).await,
            ([], _) | (["embed.js" | "manifest.json" | "index.html"], _) | (["api", "requests" | "me" | "credits" | "tiers" | "auctions" | "form-token" | "status" | "session", ..], _) => Err(ApiError::MethodNotAllowed),
            _ => Err(ApiError::NotFound("route")),
        },
        _ => Err(ApiError::NotFound("route")),
    }
}

async fn create(req: Request, env: &Env, manifest: &Manifest, auction_id: Option<&str>) -> ApiResult<Response> {
    let db = store::db(env)?;
    if manifest.auction.is_some() != auction_id.is_some() {
        return Err(match auction_id {
            Some(_) => ApiError::NotFound("route"),
            None => ApiError::bad_request("bid_on_an_auction", format!("This app takes bids: POST /apps/{}/api/auctions/<auction id>/bids.", manifest.slug)),
        });
    }
    let idempotency_key = header(&req, "Idempotency-Key")
        .map(|k| ids::parse_idempotency_key(&k))
        .transpose()
        .map_err(|m| ApiError::bad_request("invalid_idempotency_key", m))?;
    limits::per_client(env, &req).await?;
    let Some(registered) = store::app(&db, &manifest.slug).await? else {
        return Err(ApiError::Unavailable(format!("The app '{}' is not registered with the marketplace yet.", manifest.slug)));
    };
    let origin = origin(&req);
    let fan = fans::from_request(&req, &db).await?;
    let signed_in = signin::current(&req, env, manifest);
    // Kept for the creator's dispute evidence, never shown to anyone else.
    let client = ClientSignals { ip: client_ip(&req), user_agent: header(&req, "User-Agent").map(|u| u.chars().take(300).collect()) };
    let (raw, file_bytes) = read_submission(req, manifest).await?;
    // A key is bound to who sent it and what they sent: the same key from the same client with
    // the same submission replays the first answer (before Turnstile, whose token is single
    // use); with anything else it is refused, so one fan's key never returns another's request.
    let (signed_in_key, fan_id) = (signed_in.as_ref().map(|i| i.key()), fan.as_ref().map(|f| f.id.as_str()));
    let client_scope = limits::fan_key(signed_in_key.as_deref(), fan_id, None, &client.ip);
    let fingerprint = submission::fingerprint(&raw, &file_bytes, &format!("{}/{client_scope}", auction_id.unwrap_or("")));
    if let Some(key) = &idempotency_key {
        if let Some(first) = idempotent_original(&db, &manifest.slug, key, &fingerprint).await? {
            return created_response(&first, &origin, true);
        }
    }
    let id = ids::request_id(&random());
    if manifest.turnstile.is_some() {
        turnstile::verify(env, raw.turnstile_token.as_deref(), &client.ip, &id).await?;
    }
    let mut submission = submission::validate(manifest, &raw).map_err(ApiError::Validation)?;
    let now = now_ms();
    if let Some(rules) = &manifest.identity {
        if signed_in.is_none() && submission.price.amount >= rules.required_from {
            return Err(ApiError::SignInRequired(signin::sign_in_links(&origin, manifest)));
        }
    }
    let fan_key = limits::fan_key(signed_in_key.as_deref(), fan_id, submission.email(manifest).as_deref(), &client.ip);
    if !fan_key.starts_with("ip:") {
        limits::edge_limit(env, limits::FAN_LIMITER, &fan_key).await?;
    }
    let (intake_limits, _) = limits::effective(&db, manifest).await?;
    let auction = match auction_id {
        Some(auction_id) => Some(auctions::admit_bid(&db, manifest, auction_id, submission.price.amount, now).await?),
        None => None,
    };
    let tier = match &fan {
        Some(fan) => fans::active_tier(&db, manifest, fan).await?,
        None => None,
    };
    if let Some(tier) = tier {
        submission.discount(tier.discount_bps, &format!("{} -{}%", tier.label, f64::from(tier.discount_bps) / 100.0));
    }
    let signals = moderation::Signals {
        honeypot: raw.honeypot.as_deref(),
        fill_secs: match (&raw.form_token, manifest.moderation.min_fill_secs) {
            (Some(token), Some(_)) => moderation::fill_secs(required_config(env, FORM_TOKEN_SECRET)?.as_bytes(), &manifest.slug, token, now),
            _ => None,
        },
    };
    let mut verdict = moderation::moderate(&manifest.moderation, &submission.text(), &signals);
    if let Some(kind) = limits::blocked(&db, &registered.creator_id, &client.ip, submission.email(manifest).as_deref(), fan.as_ref().map(|f| f.id.as_str())).await? {
        verdict.decision = Verdict::Block;
        verdict.reasons.push(moderation::Reason { rule: "blocklist", field: "*".into(), detail: kind });
    }
    let triage = fanline_core::triage::classify(&submission.text().iter().map(|(_, t)| *t).collect::<Vec<_>>().join("\n"));
    let mut path = state::intake_path(verdict.decision, submission.payment != Payment::Free);

    // Credits pay at once, so the request skips checkout; without a fan token there is no balance.
    let credits = match (submission.payment, path.last()) {
        (Payment::Credits(n), Some(Status::AwaitingPayment)) => {
            let fan = fan.as_ref().ok_or_else(|| ApiError::FanTokenRequired("Paying with credits needs your Fan-Token header.".into()))?;
            path.pop();
            path.extend(state::after_payment(verdict.decision, false));
            submission.lines = vec![submission::PriceLine { label: format!("{} (paid with {n} credit{})", manifest.title, if n == 1 { "" } else { "s" }), amount: 0 }];
            submission.price.amount = 0;
            Some((n, fan.id.clone()))
        }
        _ => None,
    };
    let status = *path.last().unwrap_or(&Status::Created);
    let provider = match submission.payment {
        Payment::Free => "none",
        Payment::Credits(_) => "credits",
        Payment::Provider(p) => p.as_str(),
    };

    // With a connected Stripe account the creator is paid directly and the marketplace keeps
    // its fee; without one the platform account takes the payment.
    let creator_account = store::creator_stripe_account(&db, &registered.creator_id).await?;
    let application_fee = creator_account.as_ref().map(|_| stripe::application_fee(submission.price.amount, manifest.pricing.platform_fee_bps));
    let page = page_url(&origin, manifest);
    let checkout = match (status, submission.payment) {
        (Status::AwaitingPayment, Payment::Provider(Provider::Paypal)) => {
            let return_url = format!("{origin}/apps/{}/paypal/return?request={id}", manifest.slug);
            let cancel_url = format!("{page}?cancelled=1&request={id}");
            let order = paypal::create_order(env, &id, &manifest.title, &submission.price, &return_url, &cancel_url).await?;
            Some(Checkout { session_id: None, order_id: Some(order.id), url: order.approve_url })
        }
        (Status::AwaitingPayment, _) => {
            let (success_url, cancel_url) = (format!("{page}?paid=1&request={id}"), format!("{page}?cancelled=1&request={id}"));
            let lines = checkout_lines(&submission);
            let email = submission.email(manifest);
            let session = payments::create_checkout(env, &stripe::CheckoutRequest {
                expires_at: Some(payments::checkout_expiry()),
                reference: &id,
                purpose: stripe::Purpose::Request,
                app_slug: &manifest.slug,
                lines: &lines,
                success_url: &success_url,
                cancel_url: &cancel_url,
                customer_email: email.as_deref(),
                hold: manifest.holds_payment(),
                connect: creator_account.as_deref().zip(application_fee).map(|(destination, application_fee)| stripe::Connect { destination, application_fee }),
                subscription: None,
            })
            .await?;
            Some(Checkout { session_id: Some(session.id), order_id: None, url: session.url })
        }
        _ => None,
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
        checkout_session_id: checkout.as_ref().and_then(|c| c.session_id.clone()),
        checkout_url: checkout.as_ref().map(|c| c.url.clone()),
        payment_intent_id: None,
        amount_refunded: 0,
        hold_until: None,
        captured_at: None,
        application_fee: application_fee.filter(|_| checkout.as_ref().is_some_and(|c| c.session_id.is_some())).map(|f| f as i64),
        provider: provider.to_string(),
        paypal_order_id: checkout.as_ref().and_then(|c| c.order_id.clone()),
        paypal_capture_id: None,
        credits_spent: credits.as_ref().map_or(0, |(n, _)| i64::from(*n)),
        fan_id: fan.as_ref().map(|f| f.id.clone()),
        priority: i64::from(tier.is_some_and(|t| t.priority)),
        auction_id: auction.as_ref().map(|a| a.id.clone()),
        triage: Some(serde_json::to_string(&triage)?),
        identity: signed_in.as_ref().map(serde_json::to_string).transpose()?,
        moderation: serde_json::to_string(&verdict)?,
        created_at: now,
        updated_at: now,
    };
    // Quota guards first, so their counts exclude this request; they refuse the whole batch.
    let mut statements = limits::guards(&db, &manifest.slug, &fan_key, &intake_limits, now)?;
    statements.push(store::statement(
        &db,
        "INSERT INTO requests (id, app_slug, status, version, fields, add_ons, amount, currency, price_lines, fan_email, checkout_session_id,
                               checkout_url, moderation, client_ip, user_agent, application_fee, provider, paypal_order_id, credits_spent,
                               fan_id, priority, auction_id, fan_key, triage, identity, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
            row.provider.as_str().into(),
            row.paypal_order_id.as_deref().into(),
            row.credits_spent.into(),
            row.fan_id.as_deref().into(),
            row.priority.into(),
            row.auction_id.as_deref().into(),
            fan_key.as_str().into(),
            row.triage.as_deref().into(),
            row.identity.as_deref().into(),
            now.into(),
            now.into(),
        ],
    )?);
    let reason = (!verdict.reasons.is_empty()).then(|| verdict.reasons.iter().map(|r| r.rule).collect::<Vec<_>>().join(","));
    statements.extend(store::transition_statements(&db, &id, 0, &path, "fan", reason.as_deref(), now)?);
    if let (Some((n, _)), Some(fan)) = (&credits, &fan) {
        statements.push(credits::spend(&db, fan, &manifest.slug, *n, &id)?);
    }
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
            "INSERT INTO idempotency_keys (app_slug, key, request_id, created_at, fingerprint) VALUES (?, ?, ?, ?, ?)",
            &[manifest.slug.as_str().into(), key.as_str().into(), id.as_str().into(), now.into(), fingerprint.as_str().into()],
        )?);
    }
    let mut entries = fulfilment::outbox_entries(manifest, &row, &origin, &path);
    // A request moderation blocked never mails the address typed into it.
    statements.extend(fulfilment::budget_fan_mail(&db, &row, verdict.decision == Verdict::Block, &mut entries, now).await?);
    statements.extend(fulfilment::outbox_statements(&db, &id, &manifest.slug, &entries, now)?);
    statements.push(limits::clear(&db)?);

    let outcome = store::commit(&db, statements).await?;
    if !matches!(outcome, BatchOutcome::Committed) {
        for (_, key) in &stored {
            let _ = bucket.delete(key).await;
        }
    }
    match outcome {
        BatchOutcome::Committed => {
            fulfilment::enqueue(env, &entries).await;
            created_response(&row, &origin, false)
        }
        BatchOutcome::Refused(detail) if limits::refusal(&detail, &intake_limits).is_some() => Err(limits::refusal(&detail, &intake_limits).unwrap_or(ApiError::Internal(detail))),
        BatchOutcome::Refused(_) if credits.is_some() => {
            let balance = fans::balance(&db, &credits.as_ref().map_or(String::new(), |(_, f)| f.clone()), &manifest.slug).await?;
            Err(ApiError::PaymentRequired { code: "insufficient_credits", message: format!("This request costs {} credit(s) and your balance is {balance}.", manifest.pricing.credits_per_request) })
        }
        BatchOutcome::Refused(detail) => Err(ApiError::Internal(detail)),
        // The same Idempotency-Key committed first in a concurrent submission.
        BatchOutcome::Conflict(detail) => match &idempotency_key {
            Some(key) => match idempotent_original(&db, &manifest.slug, key, &fingerprint).await? {
                Some(first) => created_response(&first, &origin, true),
                None => Err(ApiError::Internal(detail)),
            },
            None => Err(ApiError::Internal(detail)),
        },
    }
}

/// Where the fan goes to pay: a Stripe Checkout Session or a PayPal order.
struct Checkout {
    session_id: Option<String>,
    order_id: Option<String>,
    url: String,
}

const FORM_TOKEN_SECRET: &str = "FORM_TOKEN_SECRET";

/// `GET .../api/form-token`: when the form was shown, signed; the form sends it back so the
/// minimum fill time cannot be faked by a bot.
fn form_token(env: &Env, manifest: &Manifest) -> ApiResult<Response> {
    let now = now_ms();
    let token = moderation::form_token(required_config(env, FORM_TOKEN_SECRET)?.as_bytes(), &manifest.slug, now);
    let mut response = json(200, &json!({"form_token": token, "issued_at": rfc3339(now)}));
    response.headers_mut().set("Cache-Control", "no-store")?;
    Ok(response)
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

/// The request first made with this key, if the key was used before with this fingerprint;
/// a key used with another body or by another client is a 422, as at Stripe.
async fn idempotent_original(db: &worker::D1Database, slug: &str, key: &str, fingerprint: &str) -> ApiResult<Option<RequestRow>> {
    #[derive(serde::Deserialize)]
    struct Original {
        request_id: String,
        fingerprint: Option<String>,
    }
    match store::first::<Original>(db, "SELECT request_id, fingerprint FROM idempotency_keys WHERE app_slug = ? AND key = ?", &[slug.into(), key.into()]).await? {
        Some(o) if o.fingerprint.as_deref() == Some(fingerprint) => store::request(db, &o.request_id).await,
        Some(_) => Err(ApiError::IdempotencyKeyReused),
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

/// Reads a JSON, urlencoded or multipart body into a raw submission, keeping file bytes for
/// R2. The body is read as a stream that stops at the cap, declared length or not.
async fn read_submission(mut req: Request, manifest: &Manifest) -> ApiResult<(RawSubmission, Vec<Vec<u8>>)> {
    let content_type = header(&req, "Content-Type").unwrap_or_default();
    let lower = content_type.to_ascii_lowercase();
    let file_fields: Vec<_> = manifest.fields.iter().filter(|f| f.kind == FieldKind::File).collect();
    // Room for every file at its cap plus the text fields; beyond that the body is refused
    // as it arrives. Files over their own cap but inside this get a per-field error.
    let body_max = JSON_BODY_MAX + file_fields.iter().map(|f| f.max_bytes.unwrap_or(0) * 2).sum::<u64>();
    if lower.starts_with("application/json") || lower.starts_with("application/x-www-form-urlencoded") {
        let bytes = body::read_capped(&mut req, JSON_BODY_MAX as usize).await?;
        // `curl -d '{...}'` labels JSON as a form; read it as the JSON it is.
        if lower.starts_with("application/json") || bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
            return Ok((take_honeypot(parse_json_submission(&bytes)?, manifest), Vec::new()));
        }
        return Ok((take_honeypot(parse_urlencoded_submission(&bytes), manifest), Vec::new()));
    }
    let Some(boundary) = fanline_core::multipart::boundary(&content_type) else {
        return Err(ApiError::UnsupportedMediaType("Send application/json, multipart/form-data or a urlencoded form.".into()));
    };
    let bytes = body::read_capped(&mut req, body_max as usize).await?;
    let parts = fanline_core::multipart::parse(&bytes, &boundary).map_err(|why| ApiError::bad_request("invalid_form", format!("The form body could not be read: {why}.")))?;
    let mut raw = RawSubmission::default();
    let mut files = Vec::new();
    for part in &parts {
        let field = manifest.fields.iter().find(|f| f.name == part.name);
        match (field, &part.filename) {
            (Some(field), Some(_)) if field.kind == FieldKind::File => {
                let declared = part.content_type.clone().unwrap_or_default();
                raw.files.push(RawFile { field: field.name.clone(), declared_type: declared, size: part.data.len() as u64, head: part.data.iter().take(16).copied().collect() });
                files.push(part.data.to_vec());
            }
            (Some(field), Some(_)) => {
                return Err(ApiError::Validation(vec![fanline_core::FieldError::new(&field.name, "unexpected_file", "This field does not take a file.")]));
            }
            (Some(field), None) if field.kind == FieldKind::File => {}
            (Some(field), None) => {
                raw.fields.insert(field.name.clone(), Value::String(part.text().unwrap_or_default()));
            }
            (None, _) => {
                let text = || part.text().unwrap_or_default();
                match part.name.as_str() {
                    "add_ons" => raw.add_ons.extend(text().split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)),
                    "tip" => raw.tip = Some(Value::String(text())),
                    "bid" => raw.bid = Some(Value::String(text())),
                    "pay_with" => raw.pay_with = Some(text()),
                    "form_token" => raw.form_token = Some(text()),
                    "cf-turnstile-response" | "turnstile_token" => raw.turnstile_token = Some(text()),
                    name if manifest.moderation.honeypot_field.as_deref() == Some(name) => raw.honeypot = Some(text()),
                    _ => {}
                }
            }
        }
    }
    // Files and bytes stay in the manifest's field order, as `validate` keeps them.
    let order = |name: &str| manifest.fields.iter().position(|f| f.name == name);
    let mut paired: Vec<_> = raw.files.drain(..).zip(files).collect();
    paired.sort_by_key(|(f, _)| order(&f.field));
    let (files, bytes): (Vec<_>, Vec<_>) = paired.into_iter().unzip();
    raw.files = files;
    Ok((raw, bytes))
}

/// The honeypot arrives as if it were a field; it is a signal for moderation, not content.
fn take_honeypot(mut raw: RawSubmission, manifest: &Manifest) -> RawSubmission {
    if let Some(name) = &manifest.moderation.honeypot_field {
        raw.honeypot = raw.fields.remove(name).map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string));
    }
    raw
}

/// A plain HTML form post: text fields by name, `add_ons` repeated or comma-separated.
fn parse_urlencoded_submission(bytes: &[u8]) -> RawSubmission {
    let mut raw = RawSubmission::default();
    for (key, value) in url::form_urlencoded::parse(bytes) {
        if key == "add_ons" {
            raw.add_ons.extend(value.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string));
        } else if key == "tip" {
            raw.tip = Some(Value::String(value.into_owned()));
        } else if key == "bid" {
            raw.bid = Some(Value::String(value.into_owned()));
        } else if key == "pay_with" {
            raw.pay_with = Some(value.into_owned());
        } else if key == "form_token" {
            raw.form_token = Some(value.into_owned());
        } else if key == "turnstile_token" || key == "cf-turnstile-response" {
            raw.turnstile_token = Some(value.into_owned());
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
    let bid = body.remove("bid");
    let form_token = body.remove("form_token").and_then(|v| v.as_str().map(str::to_string));
    let turnstile_token = body.remove("turnstile_token").and_then(|v| v.as_str().map(str::to_string));
    let pay_with = match body.remove("pay_with") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(_) => return Err(ApiError::bad_request("invalid_json", "\"pay_with\" is \"stripe\", \"paypal\" or \"credits\".")),
    };
    if let Some(key) = body.keys().next() {
        return Err(ApiError::bad_request("invalid_json", format!("Unknown top-level key \"{key}\"; fields go inside \"fields\".")));
    }
    Ok(RawSubmission { fields, add_ons, tip, files: Vec::new(), pay_with, bid, form_token, honeypot: None, turnstile_token })
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
        "payment": json!({
            "provider": row.provider,
            "hold": row.is_uncaptured_hold(),
            "accept_by": row.hold_until.filter(|_| row.is_uncaptured_hold()).map(rfc3339),
            "credits": row.credits_spent,
        }),
        "priority": row.priority != 0,
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
        let parsed = |stored: &Option<String>| stored.as_deref().and_then(|t| serde_json::from_str::<Value>(t).ok()).unwrap_or(json!(null));
        body["triage"] = parsed(&row.triage);
        body["identity"] = parsed(&row.identity);
        let attachments: Vec<Value> = store::all::<AttachmentRow>(db, "SELECT field, media_type, size FROM attachments WHERE request_id = ?", &[row.id.as_str().into()])
            .await?
            .into_iter()
            .map(|a| json!({"field": a.field, "media_type": a.media_type, "size": a.size, "url": format!("{}/attachments/{}", status_url(origin, &row.app_slug, &row.id), a.field)}))
            .collect();
        body["attachments"] = json!(attachments);
        body["payment_intent_id"] = json!(row.payment_intent_id);
        body["paypal"] = json!({"order_id": row.paypal_order_id, "capture_id": row.paypal_capture_id});
        body["fan_id"] = json!(row.fan_id);
        body["auction_id"] = json!(row.auction_id);
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

/// `{"note": "..."}` of complete and close; every key optional, nothing else accepted.
#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct NoteBody {
    note: Option<String>,
}

/// `{"reason": "..."}` of accept, decline, approve and reject.
#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ReasonBody {
    reason: Option<String>,
}

/// `{"amount": 500, "reason": "late"}` of a refund; `amount` left out refunds what is left.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RefundBody {
    amount: Option<u64>,
    reason: Option<String>,
}

/// Free text from a creator, cut to `max` characters.
fn cut(text: Option<String>, max: usize) -> Option<String> {
    text.map(|t| t.chars().take(max).collect())
}

/// `POST .../complete`: the creator marks the request fulfilled.
async fn complete(mut req: Request, env: &Env, manifest: &Manifest, id: &str) -> ApiResult<Response> {
    let db = store::db(env)?;
    let (creator, row) = owned_request(&req, &db, manifest, id).await?;
    let note = cut(body::strict_json::<NoteBody>(&mut req, r#"{"note": "played at 21:04"}"#, true).await?.note, 500);
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

/// `POST .../close`: the creator files a fulfilled request away; it leaves the open queue and
/// `request.closed` can be routed (a last note, a card archived by a Zap).
async fn close(mut req: Request, env: &Env, manifest: &Manifest, id: &str) -> ApiResult<Response> {
    let db = store::db(env)?;
    let (creator, row) = owned_request(&req, &db, manifest, id).await?;
    let note = cut(body::strict_json::<NoteBody>(&mut req, r#"{"note": "thanks for the request"}"#, true).await?.note, 500);
    let origin = origin(&req);
    if !fulfilment::advance(env, &db, manifest, &row, &[Status::Closed], &format!("creator:{}", creator.id), note.as_deref(), &origin, Vec::new()).await? {
        return Err(ApiError::Conflict { code: "concurrent_update", message: "The request changed while closing it; fetch it and try again.".into() });
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
    let reason = cut(body::strict_json::<ReasonBody>(&mut req, r#"{"reason": "not my style"}"#, true).await?.reason, 500);
    let target = match decision {
        Decision::Accept => Status::Accepted,
        Decision::Decline => Status::Rejected,
    };
    let status = row.status()?;
    status.walk(&[target]).map_err(|e| ApiError::Conflict { code: "invalid_transition", message: e.to_string() })?;
    // Accepting a bid captures it and gives it a slot for good, so only while slots are left.
    if let (Decision::Accept, Some(auction_id)) = (&decision, &row.auction_id) {
        auctions::may_accept(&db, auction_id).await?;
    }
    let origin = origin(&req);
    let actor = format!("creator:{}", creator.id);
    let moved = match (decision, row.is_uncaptured_hold()) {
        (Decision::Accept, true) => payments::settle_hold(env, &db, manifest, &row, payments::HoldDecision::Accept { then_fulfil: false }, &actor, reason.as_deref(), &origin).await?,
        (Decision::Decline, true) => payments::settle_hold(env, &db, manifest, &row, payments::HoldDecision::Decline, &actor, reason.as_deref(), &origin).await?,
        // Credits come back to the fan's balance in the same batch as the decline.
        (Decision::Decline, false) if row.credits_spent > 0 => {
            let give_back = credits::give_back(&db, &row, "declined")?.into_iter().collect();
            fulfilment::advance(env, &db, manifest, &row, &[target], &actor, reason.as_deref(), &origin, give_back).await?
        }
        (Decision::Decline, false) if row.payment_intent_id.is_some() || row.paypal_capture_id.is_some() => {
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

/// `POST .../approve` and `POST .../reject` (`{"reason": "..."}` optional) for a request held
/// for review; see `review::decide`.
async fn review(mut req: Request, env: &Env, manifest: &Manifest, id: &str, decision: Decision) -> ApiResult<Response> {
    let db = store::db(env)?;
    let (creator, row) = owned_request(&req, &db, manifest, id).await?;
    let reason = cut(body::strict_json::<ReasonBody>(&mut req, r#"{"reason": "fine by me"}"#, true).await?.reason, 500);
    let origin = origin(&req);
    let verdict = match decision {
        Decision::Accept => review::Verdict::Approve,
        Decision::Decline => review::Verdict::Reject,
    };
    review::decide(env, &db, manifest, &row, verdict, &format!("creator:{}", creator.id), reason.as_deref(), &origin).await?;
    let row = load(&db, manifest, id).await?;
    Ok(json(200, &view(&db, &row, &origin, true).await?))
}

/// `POST .../refund` with `{"amount": 500, "reason": "..."}` (`{}` refunds all that is left)
/// and an `Idempotency-Key` header, which is required: it is what makes a blind retry after a
/// lost answer return the first refund instead of making a second. A refund that empties the
/// payment moves the request to `refunded`.
async fn refund(mut req: Request, env: &Env, manifest: &Manifest, id: &str) -> ApiResult<Response> {
    let db = store::db(env)?;
    let (creator, row) = owned_request(&req, &db, manifest, id).await?;
    let Some(caller_key) = header(&req, "Idempotency-Key") else {
        return Err(ApiError::bad_request("idempotency_key_required", "Send an Idempotency-Key header (any unique string per refund you mean, e.g. a UUID) so that retrying this call can never refund twice."));
    };
    let caller_key = ids::parse_idempotency_key(&caller_key).map_err(|m| ApiError::bad_request("invalid_idempotency_key", m))?;
    let body: RefundBody = body::strict_json(&mut req, r#"{"amount": 500, "reason": "late"}"#, false).await?;
    let reason = cut(body.reason, 200);
    // The provider's key is the caller's key, hashed: stable for retries, short enough for
    // PayPal-Request-Id, and scoped to this request. A key that already refunded answers as
    // it did then, whatever happened to the request since.
    let key = format!("refund-{id}-{}", &hex::encode(sha2::Sha256::digest(caller_key.as_bytes()))[..32]);
    if store::refunded_with_key(&db, id, &key).await? {
        return Ok(json(200, &view(&db, &row, &origin(&req), true).await?));
    }
    let status = row.status()?;
    if row.is_uncaptured_hold() {
        return Err(ApiError::Conflict { code: "not_refundable", message: "This payment is only a hold; decline the request (POST .../decline) to release it.".into() });
    }
    if row.credits_spent > 0 {
        return refund_credits(env, &db, manifest, &creator, &row, body.amount, reason.as_deref(), &origin(&req)).await;
    }
    let paid = row.payment_intent_id.is_some() || row.paypal_capture_id.is_some();
    if !paid || !status.can_become(Status::Refunded) {
        return Err(ApiError::Conflict { code: "not_refundable", message: format!("A request that is {} has no payment to refund.", status.as_str()) });
    }
    let remaining = (row.amount - row.amount_refunded).max(0) as u64;
    let amount = body.amount.unwrap_or(remaining);
    if amount == 0 || amount > remaining {
        return Err(ApiError::bad_request("invalid_refund_amount", format!("Refund between 1 and {remaining} (what is left of the payment).")));
    }
    let refund = payments::refund_payment(env, &row, amount, reason.as_deref(), &key).await?;
    let actor = format!("creator:{}", creator.id);
    let mut batch = store::refund_statements(&db, &refund.id, id, refund.amount, reason.as_deref(), &actor)?;
    batch.push(store::statement(&db, "UPDATE refunds SET idempotency_key = ? WHERE id = ? AND idempotency_key IS NULL", &[key.as_str().into(), refund.id.as_str().into()])?);
    store::commit(&db, batch).await?;
    let fresh = load(&db, manifest, id).await?;
    if fresh.amount_refunded >= fresh.amount && fresh.status()?.can_become(Status::Refunded) {
        // Losing this race means the provider's webhook moved it first, which is as good.
        fulfilment::advance(env, &db, manifest, &fresh, &[Status::Refunded], &actor, reason.as_deref(), &origin(&req), Vec::new()).await?;
    }
    let row = load(&db, manifest, id).await?;
    Ok(json(200, &view(&db, &row, &origin(&req), true).await?))
}

/// A request paid with credits is refunded in credits: all of them go back to the fan's
/// balance (the ledger reference makes it once), and the request becomes `refunded`.
#[allow(clippy::too_many_arguments)]
async fn refund_credits(env: &Env, db: &worker::D1Database, manifest: &Manifest, creator: &store::Creator, row: &RequestRow, amount: Option<u64>, reason: Option<&str>, origin: &str) -> ApiResult<Response> {
    if amount.is_some() {
        return Err(ApiError::bad_request("invalid_refund_amount", "A request paid with credits is refunded whole; leave out amount."));
    }
    let give_back = credits::give_back(db, row, "refunded")?.into_iter().collect();
    let actor = format!("creator:{}", creator.id);
    if !fulfilment::advance(env, db, manifest, row, &[Status::Refunded], &actor, reason, origin, give_back).await? {
        return Err(ApiError::Conflict { code: "concurrent_update", message: "The request changed meanwhile; fetch it and try again.".into() });
    }
    let row = load(db, manifest, &row.id).await?;
    Ok(json(200, &view(db, &row, origin, true).await?))
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
    let request = view(&db, &row, &origin(req), true).await?;
    let body = json!({
        "exported_at": rfc3339(now_ms()),
        "app": {"slug": manifest.slug, "title": manifest.title},
        "payment": {
            "provider": row.provider,
            "checkout_session_id": row.checkout_session_id,
            "paypal_order_id": row.paypal_order_id,
            "paypal_capture_id": row.paypal_capture_id,
            "credits": row.credits_spent,
            "payment_intent_id": row.payment_intent_id,
            "amount": row.amount,
            "currency": row.currency,
            "amount_refunded": row.amount_refunded,
        },
        "identity": {
            "signed_in": request["identity"],
            "email": row.fan_email,
            "ip": signals.as_ref().and_then(|s| s.client_ip.clone()),
            "user_agent": signals.and_then(|s| s.user_agent),
        },
        "deliveries": deliveries,
        "request": request,
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
    // A fan's file is never run as a page, whatever its bytes say.
    response.headers_mut().set("Content-Security-Policy", "sandbox; default-src 'none'")?;
    response.headers_mut().set("Cache-Control", "private, no-store")?;
    Ok(response)
}
