//! An app's lifecycle, for its creator: `GET` and `POST /api/apps/:slug/state` (draft, live,
//! paused, invite_only, archived; each change an event with who and why) and the invite links
//! of an invite-only app (`POST /api/apps/:slug/invites`, `DELETE .../invites/:id`). Archiving
//! tells every fan with an open request what happens to it, and with `refund` or `move` gives
//! their money back through the creator's own refund, decline and reject actions, so each
//! payment moves once however often this is retried.

use crate::request_actions::{self, Action};
use fanline_core::app_state::{AppState, OpenRequests};
use fanline_core::delivery::payload::Email;
use fanline_core::delivery::state::OutboxState;
use fanline_core::intake::ids;
use fanline_core::lifecycle::{groups, Status};
use fanline_core::manifest::DestinationKind;
use fanline_core::trust::identity;
use fanline_core::util::time::rfc3339;
use fanline_edge::app::creator::Decision;
use fanline_edge::db::{self, app_lifecycle, apps::StateChange, outbox::OutboxEntry, requests::QueueFilter};
use fanline_edge::delivery::outbox;
use fanline_edge::platform::body::strict_json;
use fanline_edge::platform::config::{now_ms, random};
use fanline_edge::platform::error::{ApiError, ApiResult};
use fanline_edge::platform::http::{header, json, origin};
use fanline_edge::review::ReviewDecision;
use fanline_edge::trust::auth;
use serde_json::{json, Value};
use worker::{Env, Headers, Method, Request, RequestInit, Response};

/// How many open requests one archive call settles (each is one creator action).
const ARCHIVE_MAX: u32 = 300;

pub async fn show(req: &Request, env: &Env, slug: &str) -> ApiResult<Response> {
    let db = db::db(env)?;
    let (_, app) = auth::creator_app(req, &db, slug).await?;
    let history: Vec<Value> = app_lifecycle::events(&db, slug)
        .await?
        .into_iter()
        .map(|e| json!({"from": e.from_state, "to": e.to_state, "actor": e.actor, "reason": e.reason, "at": rfc3339(e.at)}))
        .collect();
    let invites: Vec<Value> = app_lifecycle::invites(&db, slug)
        .await?
        .into_iter()
        .map(|i| json!({"id": i.id, "label": i.label, "created_at": rfc3339(i.created_at), "revoked_at": i.revoked_at.map(rfc3339)}))
        .collect();
    let secret = outbox::fan_key_secret(env);
    let preview = (!secret.is_empty()).then(|| format!("{}/apps/{slug}/?preview={}", origin(req), identity::preview_token(secret.as_bytes(), slug)));
    Ok(json(
        200,
        &json!({
            "app": slug, "state": app.state().as_str(), "message": app.state_message, "successor": app.successor,
            "preview_url": preview, "history": history, "invites": invites,
        }),
    ))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Change {
    state: String,
    reason: Option<String>,
    message: Option<String>,
    open_requests: Option<OpenRequests>,
    successor: Option<String>,
}

/// `POST` with `{"state": "paused", "reason": "...", "message": "Back on Monday!"}`; to
/// archive also `"open_requests": "fulfil" | "refund" | "move"` (default fulfil) and, to move,
/// `"successor": "<another of your apps>"`.
pub async fn change(mut req: Request, env: &Env, slug: &str) -> ApiResult<Response> {
    let db = db::db(env)?;
    let (creator, app) = auth::creator_app(&req, &db, slug).await?;
    let example = r#"{"state": "paused", "reason": "on holiday", "message": "Back on Monday!"} or {"state": "archived", "open_requests": "refund"}"#;
    let body: Change = strict_json(&mut req, example, false).await?;
    let to =
        AppState::parse(&body.state).ok_or_else(|| ApiError::bad_request("invalid_state", "state is one of draft, live, paused, invite_only, archived."))?;
    let from = app.state();
    from.can_become(to).map_err(|message| ApiError::Conflict { code: "invalid_transition", message })?;
    let text = |v: &Option<String>, name: &str| -> ApiResult<Option<String>> {
        match v.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            Some(t) if t.chars().count() > 500 => Err(ApiError::bad_request("invalid_state", format!("{name} is at most 500 characters."))),
            other => Ok(other.map(str::to_string)),
        }
    };
    let (reason, message) = (text(&body.reason, "reason")?, text(&body.message, "message")?);
    let plan = body.open_requests.unwrap_or(OpenRequests::Fulfil);
    if to != AppState::Archived && (body.open_requests.is_some() || body.successor.is_some()) {
        return Err(ApiError::bad_request("invalid_state", "open_requests and successor only go with \"state\": \"archived\"."));
    }
    let successor = match (plan, body.successor.as_deref()) {
        (OpenRequests::Move, None) => {
            return Err(ApiError::bad_request("successor_required", "Moving open requests needs \"successor\": the slug of another of your apps."))
        }
        (_, Some(next)) => {
            let (_, next_app) = auth::creator_app(&req, &db, next)
                .await
                .map_err(|_| ApiError::bad_request("invalid_successor", format!("'{next}' is not one of your apps.")))?;
            if next == slug || next_app.state() == AppState::Archived {
                return Err(ApiError::bad_request("invalid_successor", "The successor is another of your apps that is not archived."));
            }
            Some((next.to_string(), next_app.title))
        }
        (_, None) => None,
    };
    let change = StateChange { slug, from, to, message: message.as_deref(), successor: successor.as_ref().map(|(s, _)| s.as_str()) };
    let now = now_ms();
    let actor = format!("creator:{}", creator.id);
    let event = app_lifecycle::NewEvent { app_slug: slug, from: from.as_str(), to: to.as_str(), actor: &actor, reason: reason.as_deref() };
    if !db::apps::changed(&db, &change).await? {
        return Err(ApiError::Conflict { code: "concurrent_update", message: "The app's state changed meanwhile; fetch it and try again.".into() });
    }
    db::commit_all(&db, vec![app_lifecycle::event(&db, &event, now)?]).await?;
    crate::marketplace::forget_catalog(&origin(&req), &creator.id).await;
    let mut answer = json!({"app": slug, "state": to.as_str(), "previous": from.as_str(), "message": message});
    if to == AppState::Archived {
        answer["open_requests"] = archive(&req, env, Sunset { slug, title: &app.title, plan, successor: successor.as_ref() }).await?;
    }
    Ok(json(200, &answer))
}

/// Tells each fan with an open request what happens to it, then (refund or move) gives the
/// money back through the app, keyed per request so a retry never pays twice.
/// What archiving does to the open requests: the plan and the app fans are pointed to.
struct Sunset<'a> {
    slug: &'a str,
    title: &'a str,
    plan: OpenRequests,
    /// (slug, title) of the successor app.
    successor: Option<&'a (String, String)>,
}

async fn archive(req: &Request, env: &Env, sunset: Sunset<'_>) -> ApiResult<Value> {
    let Sunset { slug, title, plan, successor } = sunset;
    let db = db::db(env)?;
    let origin = origin(req);
    let apps = [slug.to_string()];
    let open = db::requests::queue(&db, &QueueFilter { apps: &apps, statuses: groups::IN_QUEUE, text: None, limit: ARCHIVE_MAX }).await?;
    let secret = outbox::fan_key_secret(env);
    let next = successor.map(|(s, t)| (t.as_str(), format!("{origin}/apps/{s}/")));
    let line = plan.fan_line(title, next.as_ref().map(|(t, u)| (*t, u.as_str())));
    let now = now_ms();
    let mut entries_all = Vec::new();
    let mut statements = Vec::new();
    for r in open.iter().filter(|r| r.fan_email.is_some()) {
        let page = outbox::page_url(&origin, slug, &r.id, outbox::fan_key(&secret, &r.id).as_deref());
        let mail = Email {
            to: r.fan_email.clone().unwrap_or_default(),
            subject: format!("{title} is closing: about your request"),
            text: format!("{line}\n\nYour request: {page}\n"),
            request_id: r.id.clone(),
        };
        let entry = OutboxEntry {
            id: ids::token("msg_", &random::<16>()),
            event: "app.archived".into(),
            destination: DestinationKind::Email,
            payload: serde_json::to_string(&mail).map_err(|e| ApiError::internal(e.to_string()))?,
            state: OutboxState::Pending,
        };
        statements.extend(db::outbox::insert_statements(&db, &r.id, slug, std::slice::from_ref(&entry), now)?);
        entries_all.push(entry);
    }
    db::commit_all(&db, statements).await?;
    outbox::enqueue(env, &entries_all).await;
    let (mut settled, mut failed) = (Vec::new(), Vec::new());
    if plan != OpenRequests::Fulfil {
        for r in &open {
            let status = Status::parse(&r.status);
            let charged = status != Some(Status::Authorized) && r.amount > r.amount_refunded && matches!(r.provider.as_str(), "stripe" | "paypal");
            let action = match status {
                Some(Status::HeldForReview) => Action::Review(ReviewDecision::Reject),
                _ if charged => Action::Refund,
                _ => Action::Decide(Decision::Decline),
            };
            let answer = settle(req, env, slug, &r.id, action).await?;
            if (200..300).contains(&answer.0) {
                settled.push(json!({"id": r.id, "action": action.name()}));
            } else {
                failed.push(json!({"id": r.id, "action": action.name(), "error": answer.1}));
            }
        }
    }
    Ok(json!({"plan": plan.as_str(), "count": open.len(), "notified": entries_all.len(), "settled": settled, "failed": failed}))
}

/// One of the creator's actions on a request, as the creator (their Authorization), taken the
/// way the creator's own call would take it.
async fn settle(req: &Request, env: &Env, slug: &str, id: &str, action: Action) -> ApiResult<(u16, Value)> {
    let headers = Headers::new();
    headers.set("Content-Type", "application/json")?;
    if let Some(auth) = header(req, "Authorization") {
        headers.set("Authorization", &auth)?;
    }
    if action == Action::Refund {
        headers.set("Idempotency-Key", &format!("archive-{id}"))?;
    }
    let body = json!({"reason": "the app was archived"});
    let url = format!("{}/apps/{slug}/api/requests/{id}/{}", origin(req), action.name());
    let call = Request::new_with_init(&url, RequestInit::new().with_method(Method::Post).with_headers(headers).with_body(Some(body.to_string().into())))?;
    let mut answer = request_actions::act(call, env, slug, id, action).await?;
    let status = answer.status_code();
    let body = answer.json::<Value>().await.unwrap_or(Value::Null);
    Ok((status, body["error"].clone()))
}

/// `POST /api/apps/:slug/invites` with `{"label": "Discord mods"}` (optional): a new invite
/// link, shown once.
pub async fn invite(mut req: Request, env: &Env, slug: &str) -> ApiResult<Response> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct NewInvite {
        label: Option<String>,
    }
    let db = db::db(env)?;
    auth::creator_app(&req, &db, slug).await?;
    let body: NewInvite = strict_json(&mut req, r#"{"label": "Discord mods"}"#, true).await?;
    let label: Option<String> = body.label.map(|l| l.trim().chars().take(100).collect()).filter(|l: &String| !l.is_empty());
    let (id, token) = (ids::token("inv_", &random::<8>()), ids::token("in_", &random::<18>()));
    let now = now_ms();
    let hash = db::creators::hash_token(&token);
    app_lifecycle::add_invite(&db, &app_lifecycle::NewInvite { id: &id, app_slug: slug, token_hash: &hash, label: label.as_deref() }, now).await?;
    let url = format!("{}/apps/{slug}/?invite={token}", origin(&req));
    Ok(json(201, &json!({"id": id, "label": label, "url": url, "created_at": rfc3339(now)})))
}

/// `DELETE /api/apps/:slug/invites/:id`: the link stops working at once.
pub async fn revoke(req: &Request, env: &Env, slug: &str, id: &str) -> ApiResult<Response> {
    let db = db::db(env)?;
    auth::creator_app(req, &db, slug).await?;
    if !app_lifecycle::revoke_invite(&db, slug, id, now_ms()).await? {
        return Err(ApiError::NotFound("invite"));
    }
    Ok(Response::empty()?.with_status(204))
}
