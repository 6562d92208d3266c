//! Sign-in with Twitch, Discord or Google for apps that require it: the OAuth 2.0
//! authorization code flow with PKCE (S256) and a one-time state, then an HMAC-signed session
//! cookie. Every step is answered by the hub, with the marketplace's OAuth clients: provider
//! endpoints and credentials come from its configuration
//! (`SIGNIN_<PROVIDER>_*`, else `OAUTH_<PROVIDER>_*`: `CLIENT_ID`, `CLIENT_SECRET`,
//! `AUTHORIZE_URL`, `TOKEN_URL`, `USERINFO_URL`, `SCOPE`). App Workers only read sessions.
//!
//! An embed on a creator's site cannot use that cookie (it is Fanline's, and third-party
//! there), so it signs in through a popup on Fanline's origin: the popup ends on a page that
//! hands a short-lived token to the page that opened it (`postMessage`, to that origin only),
//! and the embed trades the token once for a session it sends as `Fanline-Session`.

use crate::db::{self, logins::NewLogin, BatchOutcome};
use crate::delivery::fan_mail::{mail_budget, FanMail};
use crate::platform::body::{require_json_content_type, strict_json};
use crate::platform::config::{config, now_ms, random, required_config};
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::http::{escape_html, header, html_page, json, origin, query_param, redirect, with_content_type, NO_STORE};
use crate::providers::{self, ProviderError};
use crate::trust::limits;
use fanline_core::manifest::Manifest;
use fanline_core::trust::identity::{self, Identity, Provider};
use fanline_core::util::origin::{is_serialized_origin, with_query};
use serde::Deserialize;
use serde_json::{json, Value};
use worker::{Env, Request, Response};

struct ProviderConfig {
    client_id: String,
    client_secret: String,
    authorize: String,
    token: String,
    userinfo: String,
    scope: String,
}

/// The marketplace's OAuth client for fan sign-in with `provider`: `SIGNIN_<PROVIDER>_<KEY>`
/// where set, else the hub's `OAUTH_<PROVIDER>_<KEY>` (the same Twitch and Google applications
/// that connect creators' channels, when no separate one is set for fans).
fn provider_config(env: &Env, provider: Provider) -> ApiResult<ProviderConfig> {
    let name = provider.as_str().to_ascii_uppercase();
    let d = provider.defaults().ok_or(ApiError::NotFound("route"))?;
    let get = |key: &str, default: &str| {
        let own = config(env, &format!("SIGNIN_{name}_{key}"), "");
        if own.is_empty() {
            config(env, &format!("OAUTH_{name}_{key}"), default)
        } else {
            own
        }
    };
    let required = |key: &str| {
        Some(get(key, "")).filter(|v| !v.is_empty()).ok_or_else(|| ApiError::Misconfigured(format!("SIGNIN_{name}_{key} or OAUTH_{name}_{key} is not set")))
    };
    Ok(ProviderConfig {
        client_id: required("CLIENT_ID")?,
        client_secret: required("CLIENT_SECRET")?,
        authorize: get("AUTHORIZE_URL", d.authorize),
        token: get("TOKEN_URL", d.token),
        userinfo: get("USERINFO_URL", d.userinfo),
        scope: get("SCOPE", d.scope),
    })
}

fn offered(manifest: &Manifest, name: &str) -> ApiResult<Provider> {
    let providers = manifest.sign_in_providers();
    if providers.is_empty() {
        return Err(ApiError::NotFound("route"));
    }
    Provider::parse(name).filter(|p| providers.contains(p)).ok_or(ApiError::NotFound("sign-in provider"))
}

/// One callback per provider for the whole marketplace, so each OAuth client lists one
/// redirect URL however many apps there are (Twitch allows an application ten).
fn callback_url(origin: &str, provider: Provider) -> String {
    format!("{origin}{}", callback_path(provider))
}

/// The callback's path, which is also the only path the state cookie is sent to.
fn callback_path(provider: Provider) -> String {
    format!("/auth/{}/callback", provider.as_str())
}

/// Sign-in links for the app's providers, in the manifest's order (for error answers and the
/// session endpoint).
pub fn sign_in_links(origin: &str, manifest: &Manifest) -> Value {
    let providers = manifest.sign_in_providers();
    json!(providers
        .iter()
        .map(|p| json!({"provider": p.as_str(), "url": format!("{origin}/apps/{}/auth/{}/start", manifest.slug, p.as_str())}))
        .collect::<Vec<_>>())
}

/// `GET /apps/<slug>/auth/<provider>/start[?return=/path]`: remembers a fresh state and PKCE
/// verifier, binds the state to this browser with a cookie, and sends the fan to the provider.
pub async fn start(req: &Request, env: &Env, manifest: &Manifest, provider: &str) -> ApiResult<Response> {
    let provider = offered(manifest, provider)?;
    let cfg = provider_config(env, provider)?;
    let db = db::db(env)?;
    let return_to = match query_param(req, "popup") {
        // A popup ends on the page that hands the sign-in to the embed that opened it.
        Some(opener) => format!("/apps/{}/auth/popup?origin={}", manifest.slug, url_encode(&opener_origin(req, manifest, &opener)?)),
        None => identity::safe_return(query_param(req, "return").as_deref(), &format!("/apps/{}/", manifest.slug)),
    };
    let state = hex::encode(random::<16>());
    let verifier = identity::base64url(&random::<32>());
    let login = NewLogin { state: &state, app_slug: &manifest.slug, provider: provider.as_str(), verifier: &verifier, return_to: &return_to };
    db::logins::start(&db, &login, now_ms()).await?;
    let to = with_query(
        &cfg.authorize,
        &[
            ("response_type", "code"),
            ("client_id", &cfg.client_id),
            ("redirect_uri", &callback_url(&origin(req), provider)),
            ("scope", &cfg.scope),
            ("state", &state),
            ("code_challenge", &identity::pkce_challenge(&verifier)),
            ("code_challenge_method", "S256"),
        ],
    );
    Ok(redirect(&to, 302, &[identity::set_cookie(identity::STATE_COOKIE, &state, &callback_path(provider), identity::LOGIN_SECS)])?)
}

fn url_encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// The origin of a page that opened a sign-in popup, if it may: Fanline's own (the iframe
/// embed) or one of the app's embed sites (any site when it lists none).
fn opener_origin(req: &Request, manifest: &Manifest, claimed: &str) -> ApiResult<String> {
    let refused = || ApiError::bad_request("invalid_origin", "popup must be the origin of the page that embeds the app, e.g. https://mysite.example.");
    if !is_serialized_origin(claimed) {
        return Err(refused());
    }
    let origin_text = claimed.trim_end_matches('/').to_string();
    if origin_text == origin(req) || manifest.embed.allows(&origin_text) {
        Ok(origin_text)
    } else {
        Err(ApiError::Forbidden { code: "origin_not_allowed", message: "This site is not one of the app's embed sites.".into() })
    }
}

/// `GET /apps/<slug>/auth/popup?origin=...`: where a sign-in popup ends. It hands a token for
/// the session just made to the page that opened it, at that page's origin only, and closes.
pub fn popup_page(req: &Request, env: &Env, manifest: &Manifest) -> ApiResult<Response> {
    let opener = opener_origin(req, manifest, &query_param(req, "origin").unwrap_or_default())?;
    let token = match current(req, env, manifest) {
        Some(who) => {
            let secret = required_config(env, "SESSION_SECRET")?;
            identity::handoff_token(secret.as_bytes(), &manifest.slug, &who, &hex::encode(random::<16>()), now_ms() / 1000)
        }
        None => String::new(),
    };
    let html = format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Sign-in</title>
<style>body{{font-family:system-ui,sans-serif;margin:3rem 1.5rem;text-align:center;color:#1d1d26}}</style>
</head><body><p id="fanline-popup-message">{message}</p>
<script src="/apps/{slug}/auth/popup.js" data-app="{slug}" data-origin="{opener}" data-token="{token}"></script>
</body></html>"#,
        message = if token.is_empty() { "The sign-in did not complete; close this window and try again." } else { "Signed in. This window closes by itself." },
        slug = manifest.slug,
        opener = escape_html(&opener),
    );
    let mut response = html_page(html);
    response.headers_mut().set("Cache-Control", NO_STORE)?;
    response.headers_mut().set("Referrer-Policy", "no-referrer")?;
    Ok(response)
}

/// The popup page's script: it posts the hand-off to the opener's origin (never `*`).
pub fn popup_script() -> Response {
    with_content_type(POPUP_JS, "text/javascript; charset=utf-8")
}

const POPUP_JS: &str = r#"(() => {
  const d = document.currentScript.dataset;
  const message = d.token ? { source: "fanline", type: "signed-in", app: d.app, token: d.token } : { source: "fanline", type: "sign-in-failed", app: d.app };
  if (window.opener && d.origin) {
    window.opener.postMessage(message, d.origin);
    if (d.token) setTimeout(() => window.close(), 100);
  } else if (d.token) {
    document.getElementById("fanline-popup-message").textContent = "Signed in. Go back to the page you came from.";
  }
})();
"#;

/// `POST /apps/<slug>/api/session` with `{"token": "..."}`: trades a popup's hand-off token,
/// once, for a session the embed sends back as the `Fanline-Session` header.
pub async fn exchange(mut req: Request, env: &Env, manifest: &Manifest) -> ApiResult<Response> {
    require_json_content_type(&req)?;
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Trade {
        token: String,
    }
    let trade: Trade = strict_json(&mut req, r#"{"token": "<the token the sign-in popup posted>"}"#, false).await?;
    let secret = required_config(env, "SESSION_SECRET")?;
    let now = now_ms();
    let who = identity::read_handoff(secret.as_bytes(), &manifest.slug, &trade.token, now / 1000)
        .ok_or_else(|| ApiError::Forbidden { code: "invalid_token", message: "This sign-in token is not valid or has expired; sign in again.".into() })?;
    let db = db::db(env)?;
    let token_hash = db::creators::hash_token(&trade.token);
    if !matches!(db::commit(&db, vec![db::logins::used_handoff(&db, &token_hash, &manifest.slug, now)?]).await?, BatchOutcome::Committed) {
        return Err(ApiError::Conflict { code: "token_used", message: "This sign-in token was already used; sign in again.".into() });
    }
    let session = identity::session_value(secret.as_bytes(), &manifest.slug, &who, now / 1000);
    Ok(json(200, &json!({"session": session, "identity": who, "expires_in": identity::SESSION_SECS})))
}

/// The header an embed on another site sends its session in (its cookie cannot travel there).
pub const SESSION_HEADER: &str = "Fanline-Session";

/// A sign-in the provider sent back, its state used: which app it is for, and how to finish it.
pub struct Returned {
    provider: Provider,
    code: String,
    login: db::logins::Login,
}

/// `GET /auth/<provider>/callback?code=...&state=...`, first half: the state must be this
/// browser's and unused, and names the app the sign-in was started at (whose manifest the
/// caller reads for `finish`).
pub async fn returned(req: &Request, env: &Env, provider: &str) -> ApiResult<Returned> {
    let provider = Provider::parse(provider).ok_or(ApiError::NotFound("sign-in provider"))?;
    let db = db::db(env)?;
    let param = |name: &str| query_param(req, name);
    let invalid = |why: &str| ApiError::bad_request("invalid_state", format!("This sign-in link is not valid ({why}); start again."));
    let (Some(code), Some(state)) = (param("code"), param("state")) else {
        return Err(ApiError::bad_request(
            "sign_in_cancelled",
            param("error").map_or("The provider sent no code.".to_string(), |e| format!("The provider said: {e}.")),
        ));
    };
    let cookies = header(req, "Cookie").unwrap_or_default();
    if identity::cookie(&cookies, identity::STATE_COOKIE) != Some(state.as_str()) {
        return Err(invalid("it was started in another browser"));
    }
    // One use per state: a replayed callback finds it used.
    let key = db::logins::LoginKey { state: &state, provider: provider.as_str() };
    let now = now_ms();
    let login = db::logins::take(&db, &key, now, now - identity::LOGIN_SECS * 1000).await?.ok_or_else(|| invalid("it was already used or has expired"))?;
    Ok(Returned { provider, code, login })
}

impl Returned {
    /// The app the sign-in was started at.
    pub fn app_slug(&self) -> &str {
        &self.login.app_slug
    }
}

/// The second half, with the manifest of the app the sign-in is for: the code is exchanged
/// with the PKCE verifier and the user info becomes the app's session.
pub async fn finish(req: &Request, env: &Env, manifest: &Manifest, returned: Returned) -> ApiResult<Response> {
    let Returned { provider, code, login, .. } = returned;
    // The app may have dropped the provider since the sign-in started.
    offered(manifest, provider.as_str())?;
    let cfg = provider_config(env, provider)?;
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("grant_type", "authorization_code")
        .append_pair("code", &code)
        .append_pair("redirect_uri", &callback_url(&origin(req), provider))
        .append_pair("client_id", &cfg.client_id)
        .append_pair("client_secret", &cfg.client_secret)
        .append_pair("code_verifier", &login.verifier);
    let token = providers::oauth::token(&cfg.token, form.finish()).await.map_err(sign_in_failed)?;
    let access =
        token["access_token"].as_str().ok_or_else(|| ApiError::bad_request("sign_in_failed", "The provider did not accept the sign-in; start again."))?;
    let info = providers::oauth::userinfo(&cfg.userinfo, access).await.map_err(sign_in_failed)?;
    let who = Identity::from_userinfo(provider, &info).ok_or_else(|| ApiError::Upstream(format!("{} user info has no id", provider.as_str())))?;
    let secret = required_config(env, "SESSION_SECRET")?;
    let session = identity::session_value(secret.as_bytes(), &manifest.slug, &who, now_ms() / 1000);
    Ok(redirect(
        &format!("{}{}", origin(req), login.return_to),
        303,
        &[
            identity::set_cookie(identity::SESSION_COOKIE, &session, &identity::session_path(&manifest.slug), identity::SESSION_SECS),
            identity::set_cookie(identity::STATE_COOKIE, "", &callback_path(provider), 0),
        ],
    )?)
}

/// A refusal (4xx) is the fan's failed sign-in, anything else the provider's.
fn sign_in_failed(e: ProviderError) -> ApiError {
    match e {
        ProviderError::Refused { .. } => {
            ApiError::bad_request("sign_in_failed", "The provider did not accept the sign-in (the code may have been used already); start again.")
        }
        ProviderError::Unavailable { detail, .. } => ApiError::Upstream(format!("oauth provider: {detail}")),
        other => other.into(),
    }
}

/// The signed-in fan, if their session cookie is genuine, current, made by this app and from
/// a provider this app accepts (an email-link session never satisfies a Twitch-only app).
pub fn current(req: &Request, env: &Env, manifest: &Manifest) -> Option<Identity> {
    // Only a manifest with sign-in has sessions, and such an app is built with the feature:
    // without it, session reading is left out of the Worker.
    if !cfg!(feature = "sign-in") {
        return None;
    }
    let providers = manifest.sign_in_providers();
    let secret = config(env, "SESSION_SECRET", "");
    if secret.is_empty() || providers.is_empty() {
        return None;
    }
    let read = |v: &str| identity::read_session(secret.as_bytes(), &manifest.slug, &providers, v.trim(), now_ms() / 1000);
    if let Some(session) = header(req, SESSION_HEADER).and_then(|v| read(&v)) {
        return Some(session);
    }
    // Several cookies of the name may arrive (paths of other apps); any genuine one counts.
    header(req, "Cookie")?.split(';').filter_map(|p| p.trim().split_once('=')).filter(|(k, _)| *k == identity::SESSION_COOKIE).find_map(|(_, v)| read(v))
}

/// The header a request relayed by the hub from a live stream's chat carries.
pub const RELAY_HEADER: &str = "Fanline-Relay";

/// The viewer the hub vouches for, on a request it relays from a verified EventSub delivery.
pub fn relayed(req: &Request, env: &Env, manifest: &Manifest) -> Option<Identity> {
    // A chat relay needs `chat`, which builds the app with sign-in (see `current`).
    if !cfg!(feature = "sign-in") {
        return None;
    }
    let token = header(req, RELAY_HEADER)?;
    let secret = config(env, "SESSION_SECRET", "");
    if secret.is_empty() || manifest.chat.is_none() {
        return None;
    }
    identity::read_relay(secret.as_bytes(), &manifest.slug, token.trim(), now_ms() / 1000)
}

/// `GET /apps/<slug>/api/session`: who is signed in, and where to sign in.
pub fn session(req: &Request, env: &Env, manifest: &Manifest) -> ApiResult<Response> {
    let who = current(req, env, manifest);
    Ok(json(200, &json!({"signed_in": who.is_some(), "identity": who, "sign_in": sign_in_links(&origin(req), manifest)})))
}

/// `POST /apps/<slug>/auth/logout`: forgets the session in this browser. Only the app's own
/// pages may ask (a cross-site form cannot sign a fan out).
pub fn logout(req: &Request, manifest: &Manifest) -> ApiResult<Response> {
    same_origin(req)?;
    let mut response = json(200, &json!({"signed_in": false}));
    response.headers_mut().append("Set-Cookie", &identity::set_cookie(identity::SESSION_COOKIE, "", &identity::session_path(&manifest.slug), 0))?;
    Ok(response)
}

/// Refuses a browser request sent from another site (its `Origin` is not ours).
fn same_origin(req: &Request) -> ApiResult<()> {
    match header(req, "Origin") {
        Some(o) if o != origin(req) => Err(ApiError::Forbidden { code: "cross_site", message: "This action is only taken from the app's own page.".into() }),
        _ => Ok(()),
    }
}

/// `POST /apps/<slug>/auth/email/start` with `{"email": "...", "return": "/apps/<slug>/"}`:
/// mails a signed sign-in link, valid for 30 minutes and usable once. For low-value apps that
/// only need to know the fan's email is really theirs.
pub async fn email_start(mut req: Request, env: &Env, manifest: &Manifest) -> ApiResult<Response> {
    offered(manifest, "email")?;
    // Each call mails from the platform's address: limited per client address and app, JSON
    // only (a cross-site page cannot make a browser post JSON), and a bounded number per
    // recipient.
    limits::per_client_of(env, &req, &manifest.slug).await?;
    require_json_content_type(&req)?;
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Start {
        email: String,
        #[serde(rename = "return")]
        return_to: Option<String>,
    }
    let body: Start = strict_json(&mut req, r#"{"email": "fan@example.com"}"#, false).await?;
    let email = Some(body.email.trim())
        .filter(|e| fanline_core::trust::client::is_email(e))
        .ok_or_else(|| ApiError::bad_request("invalid_email", "Enter an email address like name@example.com."))?
        .to_lowercase();
    let return_to = identity::safe_return(body.return_to.as_deref(), &format!("/apps/{}/", manifest.slug));
    let db = db::db(env)?;
    let Some(counted) = mail_budget(&db, &email, FanMail::SignIn, now_ms()).await? else {
        return Err(ApiError::QuotaExceeded("Too many sign-in links were sent to this address; try again in an hour.".into()));
    };
    db::commit_all(&db, vec![counted]).await?;
    let secret = required_config(env, "SESSION_SECRET")?;
    let token = identity::email_link_token(
        secret.as_bytes(),
        &manifest.slug,
        &email,
        &return_to,
        identity::Issue { now_secs: now_ms() / 1000, nonce: &hex::encode(random::<12>()) },
    );
    let link = format!("{}/apps/{}/auth/email/confirm?token={token}", origin(&req), manifest.slug);
    let mail = fanline_core::delivery::payload::Email {
        to: email.clone(),
        subject: format!("Sign in to {}", manifest.title),
        text: format!(
            "Open this link to confirm your email and sign in (valid for 30 minutes, once):\n\n{link}\n\nIf you did not ask for it, ignore this mail."
        ),
        request_id: String::new(),
    };
    providers::mail::send_now(env, &mail).await.map_err(|e| match e {
        ProviderError::NotConfigured(_) => ApiError::Unavailable("Email is not configured for this marketplace.".into()),
        other => other.into(),
    })?;
    Ok(json(202, &json!({"sent_to": email, "message": "Check your inbox for a sign-in link."})))
}

/// `GET /apps/<slug>/auth/email/confirm?token=...`: a page naming the address the link signs in
/// as, with a button that signs in (the `POST` below). Opening the link alone never uses it, so
/// a mail scanner that fetches links cannot spend it, and a link someone else asked for shows
/// whose it is before anyone is signed in with it.
pub async fn email_confirm_page(req: &Request, env: &Env, manifest: &Manifest) -> ApiResult<Response> {
    let answer = async {
        offered(manifest, "email")?;
        let token = query_param(req, "token").unwrap_or_default();
        let link = read_link(env, manifest, &token)?;
        if db::logins::email_link_used(&db::db(env)?, &token).await? {
            return Err(invalid_link());
        }
        let body = format!(
            "<h1>Sign in to {title}</h1><p>This link signs you in as <strong>{email}</strong>.</p>\
             <form method=\"post\" action=\"/apps/{slug}/auth/email/confirm\"><input type=\"hidden\" name=\"token\" value=\"{token}\">\
             <button type=\"submit\" id=\"confirm\">Sign in</button></form>\
             <p class=\"quiet\">Not your address, or you did not ask for this link? Close this page.</p>",
            title = escape_html(&manifest.title),
            email = escape_html(&link.email),
            slug = manifest.slug,
            token = escape_html(&token),
        );
        Ok(link_page(200, &manifest.title, &body))
    }
    .await;
    for_people(req, manifest, answer)
}

/// `POST /apps/<slug>/auth/email/confirm` with the form's `token` (or `?token=`): a genuine,
/// unexpired, unused link signs the fan in with the email as their identity, once, and sends
/// them back where they asked for it. Only from the link's own page: another site cannot
/// sign a visitor in as someone else (login CSRF).
pub async fn email_confirm(mut req: Request, env: &Env, manifest: &Manifest) -> ApiResult<Response> {
    let answer = async {
        offered(manifest, "email")?;
        same_origin(&req)?;
        let mut token = query_param(&req, "token").unwrap_or_default();
        if token.is_empty() {
            if let Ok(form) = req.form_data().await {
                if let Some(worker::FormEntry::Field(t)) = form.get("token") {
                    token = t;
                }
            }
        }
        let link = read_link(env, manifest, &token)?;
        // Once: the link's hash is recorded as a used sign-in.
        let db = db::db(env)?;
        let used = db::commit(&db, vec![db::logins::used_email_link(&db, &token, &manifest.slug, &link.return_to, now_ms())?]).await?;
        if !matches!(used, BatchOutcome::Committed) {
            return Err(invalid_link());
        }
        let secret = required_config(env, "SESSION_SECRET")?;
        let who = Identity { provider: Provider::Email, sub: link.email.clone(), name: None, email: Some(link.email), live: None };
        let session = identity::session_value(secret.as_bytes(), &manifest.slug, &who, now_ms() / 1000);
        Ok(redirect(
            &format!("{}{}", origin(&req), link.return_to),
            303,
            &[identity::set_cookie(identity::SESSION_COOKIE, &session, &identity::session_path(&manifest.slug), identity::SESSION_SECS)],
        )?)
    }
    .await;
    for_people(&req, manifest, answer)
}

fn invalid_link() -> ApiError {
    ApiError::bad_request("invalid_link", "This sign-in link is not valid, has expired or was used; ask for a new one.")
}

fn read_link(env: &Env, manifest: &Manifest, token: &str) -> ApiResult<identity::EmailLink> {
    let secret = required_config(env, "SESSION_SECRET")?;
    identity::read_email_link(secret.as_bytes(), &manifest.slug, token, now_ms() / 1000).ok_or_else(invalid_link)
}

/// A person who opened the link in a browser sees a refusal as a page; a program gets the
/// usual JSON error.
fn for_people(req: &Request, manifest: &Manifest, answer: ApiResult<Response>) -> ApiResult<Response> {
    match answer {
        Err(e) if header(req, "Accept").is_some_and(|a| a.contains("text/html")) => {
            let body = format!(
                "<h1>Sign-in failed</h1><p role=\"alert\">{}</p><p><a href=\"/apps/{}/\">Back to {}</a></p>",
                escape_html(&e.public_message()),
                manifest.slug,
                escape_html(&manifest.title)
            );
            Ok(link_page(e.status(), &manifest.title, &body))
        }
        other => other,
    }
}

fn link_page(status: u16, title: &str, body: &str) -> Response {
    let html = format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Sign in - {title}</title>
<style>body{{font-family:system-ui,sans-serif;margin:3rem auto;max-width:30rem;padding:0 1.5rem;color:#1d1d26;line-height:1.5}}h1{{font-size:1.4rem}}button{{font:inherit;padding:.6rem 1.4rem;border:0;border-radius:.4rem;background:#5b3df5;color:#fff;cursor:pointer}}.quiet{{color:#5d5d6b;font-size:.9rem}}a{{color:#5b3df5}}</style>
</head><body>{body}</body></html>"#,
        title = escape_html(title),
    );
    let mut response = html_page(html).with_status(status);
    let headers = response.headers_mut();
    let _ = headers.set("Cache-Control", NO_STORE);
    // Not `no-referrer`: with it, browsers send `Origin: null` on the form's POST.
    let _ = headers.set("Referrer-Policy", "same-origin");
    response
}
