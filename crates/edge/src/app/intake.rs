//! A fan's submission, from body to committed request: gather what the intake plan needs
//! (the manifest's rules, the fan's tier, a block-list hit, the form's signals), let
//! `fanline_core::intake::plan` decide, then perform the plan: open the checkout, store the
//! files, and commit the request with its quota guards, history, credits and outbox rows in
//! one batch.

use crate::app::view::created_response;
use crate::db::limits::Sender;
use crate::db::{
    self,
    requests::{AttachmentRow, ClientSignals, Created, IdempotencyKey, NewRequest, RequestRow},
    BatchOutcome, Constraint,
};
use crate::delivery::{fan_mail, outbox};
use crate::money::{auctions, checkout, credits};
use crate::platform::body::read_capped;
use crate::platform::config::{now_ms, random, required_config};
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::http::{client_ip, header, json, origin};
use crate::providers::{turnstile, ProviderError};
use crate::trust::{fans, limits, signin};
use fanline_core::app_state;
use fanline_core::intake::body::{self, BodyError, Shape};
use fanline_core::intake::plan::{self, Inputs, IntakePlan, PlanError};
use fanline_core::intake::submission::{self, RawSubmission};
use fanline_core::intake::{attachment, ids};
use fanline_core::manifest::Manifest;
use fanline_core::money::stripe::application_fee;
use fanline_core::trust::client::{fan_key, ip_key, normalize_email};
use fanline_core::trust::human_check::{self, Answer, Verdict};
use fanline_core::trust::identity;
use fanline_core::trust::moderation;
use fanline_core::util::time::rfc3339;
use serde_json::json;
use worker::{Env, Request, Response};

const JSON_BODY_MAX: u64 = 64 * 1024;
const FORM_TOKEN_SECRET: &str = "FORM_TOKEN_SECRET";

pub async fn create(req: Request, env: &Env, manifest: &Manifest, auction_id: Option<&str>) -> ApiResult<Response> {
    let db = db::db(env)?;
    if manifest.auction.is_some() != auction_id.is_some() {
        return Err(match auction_id {
            Some(_) => ApiError::NotFound("route"),
            None => ApiError::bad_request("bid_on_an_auction", format!("This app takes bids: POST /apps/{}/api/auctions/<auction id>/bids.", manifest.slug)),
        });
    }
    let idempotency_key =
        header(&req, "Idempotency-Key").map(|k| ids::parse_idempotency_key(&k)).transpose().map_err(|m| ApiError::bad_request("invalid_idempotency_key", m))?;
    // A request the hub relays from a stream's chat arrives from the platform's address, so
    // it is limited per viewer (whom the hub verified) rather than per address.
    let relayed = signin::relayed(&req, env, manifest);
    match &relayed {
        Some(viewer) => limits::edge_limit(env, limits::INTAKE_LIMITER, &viewer.key()).await?,
        None => limits::per_client(env, &req).await?,
    }
    let origin = origin(&req);
    let fan_secret = outbox::fan_key_secret(env);
    let links = outbox::Links { origin: &origin, fan_secret: &fan_secret };
    let fan = match &relayed {
        Some(viewer) => db::credits::linked_fan(&db, &viewer.key()).await?,
        None => fans::from_request(&req, &db).await?,
    };
    let signed_in = relayed.clone().or_else(|| signin::current(&req, env, manifest));
    let ip = client_ip(&req);
    let client = ClientSignals { client_ip: Some(ip.clone()), user_agent: header(&req, "User-Agent").map(|u| u.chars().take(300).collect()) };
    let req_access = header(&req, ACCESS_HEADER);
    let (raw, mut file_bytes) = read_submission(req, manifest).await?;
    // A key is bound to who sent it and what they sent: the same key from the same client with
    // the same submission replays the first answer (before Turnstile, whose token is single
    // use); with anything else it is refused, so one fan's key never returns another's request.
    let (signed_in_key, fan_id) = (signed_in.as_ref().map(|i| i.key()), fan.as_ref().map(|f| f.id.as_str()));
    let client_scope = fan_key(signed_in_key.as_deref(), fan_id, None, &ip);
    let fingerprint = submission::fingerprint(&raw, &file_bytes, &format!("{}/{client_scope}", auction_id.unwrap_or("")));
    let idempotency = idempotency_key.as_deref().map(|key| IdempotencyKey { app_slug: &manifest.slug, key, fingerprint: &fingerprint });
    if let Some(key) = &idempotency {
        if let Some(first) = original(&db, key).await? {
            return created_response(&first, links, true);
        }
    }
    let id = ids::request_id(&random());
    if manifest.turnstile.is_some() && relayed.is_none() {
        human_check(env, manifest, raw.turnstile_token.as_deref(), (&ip, &origin), &id).await?;
    }
    let submission = submission::validate(manifest, &raw).map_err(ApiError::Validation)?;
    let now = now_ms();
    if plan::sign_in_required(manifest, &submission, signed_in.is_some()) {
        return Err(ApiError::SignInRequired(signin::sign_in_links(&origin, manifest)));
    }
    let email = submission.email(manifest);
    let fan_key = fan_key(signed_in_key.as_deref(), fan_id, email.as_deref(), &ip);
    if !fan_key.starts_with("ip:") {
        limits::edge_limit(env, limits::FAN_LIMITER, &fan_key).await?;
    }
    let (ip_key, normalized_email) = (ip_key(&ip), email.as_deref().map(normalize_email));
    let sender = Sender { ip: &ip, ip_key: &ip_key, email: normalized_email.as_deref(), fan_id, identity: signed_in_key.as_deref() };
    let access = access_token(&req_access);
    // A free request without files or an invite may be planned on the app context this Worker
    // read for an earlier one: the batch's `app_context` guard re-checks it (and the block list)
    // in the same transaction, and a refusal there means reading it again and planning anew.
    // Anything that calls out before the commit (a checkout, R2) reads first, as does an invite.
    let reusable = access.is_none() && auction_id.is_none() && submission.files().is_empty() && submission.price().amount == 0;
    let mut known = if reusable { known_context(&manifest.slug) } else { None };
    loop {
        let (context, assumed) = match known.take() {
            Some(context) => (context, true),
            // Everything intake reads about the app, its owner and this sender, in one round trip.
            None => match db::intake::context(&db, &manifest.slug, &sender, &access.as_deref().map(db::creators::hash_token).unwrap_or_default()).await? {
                Some(context) => {
                    remember_context(&manifest.slug, &context);
                    (context, false)
                }
                None => return Err(ApiError::Unavailable(format!("The app '{}' is not registered with the marketplace yet.", manifest.slug))),
            },
        };
        let preview = access.as_deref().is_some_and(|t| identity::is_preview_token(fan_secret.as_bytes(), &manifest.slug, t));
        let test = match app_state::admit(context.state, app_state::Access { invited: context.invited, preview }) {
            Ok(test) => test,
            // A refusal is only ever said on a context read just now.
            Err(_) if assumed => {
                forget_context();
                continue;
            }
            Err(refusal) => return Err(lifecycle_refusal(refusal, manifest, &context, &origin)),
        };
        let intake_limits = context.limits.unwrap_or(manifest.limits);
        // Only an auction app takes bids (checked above), and only it is built with auctions.
        let auction = match auction_id {
            Some(auction_id) if cfg!(feature = "auctions") => Some(auctions::admit_bid(&db, manifest, auction_id, submission.price().amount, now).await?),
            _ => None,
        };
        let tier = match (&fan, &signed_in) {
            (None, None) => None,
            (fan, signed_in) => fans::tier_of(&db, manifest, fan.as_ref(), signed_in.as_ref()).await?,
        };
        let fill_secs = match (&raw.form_token, manifest.moderation.min_fill_secs) {
            (Some(token), Some(_)) => moderation::fill_secs(required_config(env, FORM_TOKEN_SECRET)?.as_bytes(), &manifest.slug, &ip_key, token, now),
            _ => None,
        };
        let inputs = Inputs {
            manifest,
            signals: moderation::Signals { honeypot: raw.honeypot.as_deref(), fill_secs },
            blocked: context.blocked,
            tier,
            has_fan: fan.is_some(),
        };
        let plan = plan::plan(submission.clone(), &inputs).map_err(|e| match e {
            PlanError::FanTokenRequired => ApiError::FanTokenRequired("Paying with credits needs your Fan-Token header.".into()),
        })?;

        let creator_account = context.stripe_account.clone();
        let fee = creator_account.as_ref().map(|_| application_fee(plan.submission.price().amount, manifest.pricing.platform_fee_bps));
        let payment = checkout::open_for_request(
            env,
            manifest,
            &plan,
            &checkout::RequestPayment { id: &id, origin: &origin, creator_account: creator_account.as_deref(), fee, email: email.as_deref() },
        )
        .await?;

        let mut stored = Vec::new();
        if !plan.blocked() {
            // Taken, not copied: a submission with files never plans twice (see `reusable`).
            for (file, bytes) in plan.submission.files().iter().zip(std::mem::take(&mut file_bytes)) {
                let key = attachment::object_key(&id, &file.field, file.media_type);
                stored.push((
                    AttachmentRow { field: file.field.clone(), object_key: key, media_type: file.media_type.to_string(), size: file.size as i64 },
                    bytes,
                ));
            }
        }

        let row = new_row(
            &id,
            manifest,
            &plan,
            &payment,
            RowFacts { fan_id, auction_id: auction.as_ref().map(|a| a.id.as_str()), signed_in: signed_in.as_ref(), fee, now },
        )?;
        // Guards first, so their counts exclude this request; they refuse the whole batch.
        let still_current = assumed.then(|| db::intake::still_current(&manifest.slug, &context, &sender));
        let mut statements: Vec<_> = limits::guards(&db, (&manifest.slug, &fan_key), &intake_limits, still_current, now)?.into_iter().collect();
        statements.push(db::requests::insert(&db, &NewRequest { row: &row, client: &client, fan_key: &fan_key, test })?);
        let reason = (!plan.verdict.reasons.is_empty()).then(|| plan.verdict.reasons.iter().map(|r| r.rule).collect::<Vec<_>>().join(","));
        let transition = db::requests::Transition { request_id: &id, from_version: 0, path: &plan.path, actor: "fan", reason: reason.as_deref(), now };
        statements.extend(db::requests::transition_statements(&db, &transition)?);
        // Only an app that sells packs plans a credit payment (validation refuses `credits`
        // otherwise), and it is built with the feature: without it, spending is left out.
        if let (true, Some(n), Some(fan)) = (cfg!(feature = "credits"), plan.credits, &fan) {
            statements.push(credits::spend(&db, fan, &manifest.slug, n, &id)?);
        }
        for (a, _) in &stored {
            statements.push(db::requests::insert_attachment(&db, &id, a)?);
        }
        if let Some(key) = &idempotency {
            statements.push(key.insert(&db, &id, now)?);
        }
        let mut entries = outbox::deferred_entries(manifest, &row, links, signed_in.as_ref(), &plan.path);
        outbox::skip_not_set_up(&mut entries, |kind| context.has_destination(kind));
        // A request moderation blocked never mails the address typed into it.
        statements.extend(fan_mail::budget_fan_mail(&db, &row, plan.blocked(), &mut entries, now).await?);
        statements.extend(outbox::statements(&db, &row, &entries, now)?);

        let outcome = store_then_commit(env, stored, &db, statements).await?;
        return match outcome {
            BatchOutcome::Committed => {
                outbox::enqueue(env, &entries).await;
                created_response(&row.into(), links, false)
            }
            // What this Worker knew of the app changed (paused, limits set, the sender blocked):
            // read it and plan again. A context read just now is never refused this way.
            BatchOutcome::Refused(Constraint::AppContext) if assumed => {
                forget_context();
                continue;
            }
            BatchOutcome::Refused(constraint) => match (limits::refusal(&constraint, &intake_limits), &constraint, &fan) {
                (Some(refusal), _, _) => Err(refusal),
                (None, Constraint::CreditBalance, Some(fan)) if cfg!(feature = "credits") && plan.credits.is_some() => {
                    let balance = db::credits::balance(&db, &fan.id, &manifest.slug).await?;
                    Err(ApiError::PaymentRequired {
                        code: "insufficient_credits",
                        message: format!("This request costs {} credit(s) and your balance is {balance}.", manifest.pricing.credits_per_request),
                    })
                }
                (None, other, _) => Err(ApiError::internal(format!("intake batch refused: {other:?}"))),
            },
            // The same Idempotency-Key committed first in a concurrent submission.
            BatchOutcome::Conflict(detail) => match &idempotency {
                Some(key) => original(&db, key).await?.map_or(Err(ApiError::Internal(detail)), |first| created_response(&first, links, true)),
                None => Err(ApiError::Internal(detail)),
            },
        };
    }
}

/// Puts the files in R2, then commits the request; when the commit does not happen (refused,
/// conflicting or failing, or a later put failed) the files already put are deleted, so R2
/// never keeps a file without its request.
async fn store_then_commit(
    env: &Env,
    files: Vec<(AttachmentRow, Vec<u8>)>,
    db: &worker::D1Database,
    statements: Vec<worker::D1PreparedStatement>,
) -> ApiResult<BatchOutcome> {
    if files.is_empty() {
        return db::commit(db, statements).await;
    }
    let bucket = env.bucket("ATTACHMENTS")?;
    let mut put = Vec::new();
    let outcome = async {
        for (a, bytes) in files {
            let metadata = worker::HttpMetadata { content_type: Some(a.media_type), ..Default::default() };
            bucket.put(&a.object_key, bytes).http_metadata(metadata).execute().await?;
            put.push(a.object_key);
        }
        db::commit(db, statements).await
    }
    .await;
    if !matches!(outcome, Ok(BatchOutcome::Committed)) {
        for key in &put {
            let _ = bucket.delete(key).await;
        }
    }
    outcome
}

thread_local! {
    // The app context the last full read found, for requests that may plan on it (see
    // `create`); per isolate, and only ever trusted through the batch's guard.
    static KNOWN_CONTEXT: std::cell::RefCell<Option<(String, db::intake::IntakeContext)>> = const { std::cell::RefCell::new(None) };
}

fn known_context(slug: &str) -> Option<db::intake::IntakeContext> {
    KNOWN_CONTEXT.with(|k| k.borrow().as_ref().filter(|(s, _)| s == slug).map(|(_, c)| c.clone()))
}

/// Keeps what holds for any sender: the block-list hit and the invite belong to one request.
fn remember_context(slug: &str, context: &db::intake::IntakeContext) {
    let general = db::intake::IntakeContext { blocked: None, invited: false, ..context.clone() };
    KNOWN_CONTEXT.with(|k| *k.borrow_mut() = Some((slug.to_string(), general)));
}

fn forget_context() {
    KNOWN_CONTEXT.with(|k| *k.borrow_mut() = None);
}

/// The request first made with this key; a key used with another body or by another client
/// is a 422, as at Stripe.
async fn original(db: &worker::D1Database, key: &IdempotencyKey<'_>) -> ApiResult<Option<Created>> {
    match key.original(db).await? {
        Some(Ok(row)) => Ok(Some(row)),
        Some(Err(())) => Err(ApiError::IdempotencyKeyReused),
        None => Ok(None),
    }
}

/// Turnstile at intake fails closed: no answer from the verifier means no request, and a
/// token solved for another form or on a site the app is not shown on is refused.
async fn human_check(env: &Env, manifest: &Manifest, token: Option<&str>, (ip, origin): (&str, &str), id: &str) -> ApiResult<()> {
    let Some(token) = token.map(str::trim).filter(|t| !t.is_empty() && t.len() <= 2048) else {
        return Err(ApiError::Forbidden {
            code: "turnstile_required",
            message: "Complete the human check (Turnstile) and send its token as turnstile_token.".into(),
        });
    };
    match turnstile::verify(env, token, ip, id).await {
        Ok(answer) => {
            let own_host = fanline_core::util::origin::host_of(origin);
            let said = Answer { success: answer.success, hostname: answer.hostname.as_deref(), action: answer.action.as_deref() };
            let message = match human_check::judge(&said, token, own_host, |host| manifest.embed.allows_host(host)) {
                Verdict::Human => return Ok(()),
                Verdict::Refused => "The human check failed; please try it again.",
                verdict => {
                    worker::console_warn!("turnstile: {verdict:?} (hostname {:?}, action {:?})", answer.hostname, answer.action);
                    "The human check was completed for another form or site; please complete it on this form."
                }
            };
            Err(ApiError::Forbidden { code: "turnstile_failed", message: message.into() })
        }
        Err(ProviderError::NotConfigured(what)) => Err(ApiError::Misconfigured(what)),
        Err(e) => {
            worker::console_warn!("turnstile: {e}");
            Err(ApiError::Unavailable("The human check could not be verified right now; please try again.".into()))
        }
    }
}

/// What the row records besides the plan and the payment.
struct RowFacts<'a> {
    fan_id: Option<&'a str>,
    auction_id: Option<&'a str>,
    signed_in: Option<&'a fanline_core::trust::identity::Identity>,
    /// The marketplace's Connect fee, recorded when a Stripe session carries it.
    fee: Option<u64>,
    now: i64,
}

fn new_row(id: &str, manifest: &Manifest, plan: &IntakePlan, payment: &checkout::Payment, facts: RowFacts) -> ApiResult<RequestRow> {
    let s = &plan.submission;
    let add_on_ids: Vec<&str> = s.add_ons().iter().map(|a| a.id.as_str()).collect();
    Ok(RequestRow {
        id: id.to_string(),
        app_slug: manifest.slug.clone(),
        status: plan.status(),
        version: plan.path.len() as i64,
        fields: serde_json::to_string(s.fields())?,
        add_ons: serde_json::to_string(&add_on_ids)?,
        amount: s.price().amount as i64,
        currency: s.price().currency.as_str().to_string(),
        price_lines: serde_json::to_string(s.lines())?,
        fan_email: s.email(manifest),
        checkout_session_id: payment.session_id.clone(),
        checkout_url: payment.url.clone(),
        payment_intent_id: None,
        amount_refunded: 0,
        hold_until: None,
        captured_at: None,
        application_fee: facts.fee.filter(|_| payment.session_id.is_some()).map(|f| f as i64),
        provider: plan.provider,
        paypal_order_id: payment.order_id.clone(),
        paypal_capture_id: None,
        credits_spent: plan.credits.map_or(0, i64::from),
        fan_id: facts.fan_id.map(str::to_string),
        priority: i64::from(plan.priority),
        auction_id: facts.auction_id.map(str::to_string),
        // Classified when the creator reads it (`trust::triage::of_request`).
        triage: None,
        identity: facts.signed_in.map(serde_json::to_string).transpose()?,
        moderation: serde_json::to_string(&plan.verdict)?,
        created_at: facts.now,
        updated_at: facts.now,
    })
}

/// `GET .../api/form-token`: when the form was shown and to whom, signed; the form sends it
/// back so the minimum fill time cannot be faked by a bot, nor one token shared between many.
pub fn form_token(req: &Request, env: &Env, manifest: &Manifest) -> ApiResult<Response> {
    let now = now_ms();
    let token = moderation::form_token(required_config(env, FORM_TOKEN_SECRET)?.as_bytes(), &manifest.slug, &ip_key(&client_ip(req)), now);
    let mut response = json(200, &json!({"form_token": token, "issued_at": rfc3339(now)}));
    response.headers_mut().set("Cache-Control", "no-store")?;
    Ok(response)
}

/// Reads a JSON, urlencoded or multipart body into a raw submission, keeping file bytes for
/// R2. The body is read as a stream that stops at the cap, declared length or not.
async fn read_submission(mut req: Request, manifest: &Manifest) -> ApiResult<(RawSubmission, Vec<Vec<u8>>)> {
    let content_type = header(&req, "Content-Type").unwrap_or_default();
    let read = match body::shape(&content_type) {
        Shape::Text { json } => {
            let bytes = read_capped(&mut req, JSON_BODY_MAX as usize).await?;
            body::from_text(&bytes, json, manifest).map(|raw| (raw, Vec::new()))
        }
        Shape::Multipart { boundary } => {
            let bytes = read_capped(&mut req, body::multipart_cap(manifest, JSON_BODY_MAX) as usize).await?;
            body::from_multipart(&bytes, &boundary, manifest)
        }
        Shape::Unsupported => return Err(ApiError::UnsupportedMediaType("Send application/json, multipart/form-data or a urlencoded form.".into())),
    };
    read.map_err(|e| match e {
        BodyError::Json(message) => ApiError::bad_request("invalid_json", message),
        BodyError::Form(message) => ApiError::bad_request("invalid_form", message),
        BodyError::UnexpectedFile(error) => ApiError::Validation(vec![error]),
    })
}

/// The header an invite link's or a preview link's token travels in (the embed copies
/// `?invite=` or `?preview=` from the page's address into it).
pub const ACCESS_HEADER: &str = "Fanline-Access";

fn access_token(value: &Option<String>) -> Option<String> {
    value.as_deref().map(str::trim).filter(|t| !t.is_empty() && t.len() <= 100).map(str::to_string)
}

/// Why the app's state refuses a new request, in the fan's words.
fn lifecycle_refusal(refusal: app_state::Refusal, manifest: &Manifest, context: &db::intake::IntakeContext, origin: &str) -> ApiError {
    let said = context.state_message.as_deref().map(|m| format!(" {m}")).unwrap_or_default();
    match refusal {
        app_state::Refusal::Draft => ApiError::Forbidden { code: "app_draft", message: format!("{} is not open yet.", manifest.title) },
        app_state::Refusal::InviteRequired => ApiError::Forbidden {
            code: "invite_required",
            message: format!("{} takes requests by invitation; use the invite link you were sent.", manifest.title),
        },
        app_state::Refusal::Paused => {
            ApiError::Conflict { code: "app_paused", message: format!("{} is paused and not taking requests right now.{said}", manifest.title) }
        }
        app_state::Refusal::Archived => {
            let next = context.successor.as_deref().map(|s| format!(" The creator continues at {origin}/apps/{s}/.")).unwrap_or_default();
            ApiError::Gone { code: "app_archived", message: format!("{} has closed for good and takes no new requests.{said}{next}", manifest.title) }
        }
    }
}
