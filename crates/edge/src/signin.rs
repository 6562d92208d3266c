//! Sign-in with Twitch, Discord or Google for apps that require it: the OAuth 2.0
//! authorization code flow with PKCE (S256) and a one-time state, then an HMAC-signed session
//! cookie. Provider endpoints and credentials come from configuration
//! (`OAUTH_<PROVIDER>_{CLIENT_ID,CLIENT_SECRET,AUTHORIZE_URL,TOKEN_URL,USERINFO_URL}`).

use crate::error::{ApiError, ApiResult};
use crate::http::{header, json, origin};
use crate::platform::{config, now_ms, random, required_config, timeout_signal};
use crate::store;
use fanline_core::identity::{self, Identity, Provider};
use fanline_core::manifest::Manifest;
use serde::Deserialize;
use sha2::Digest;
use serde_json::{json, Value};
use worker::{Env, Fetch, Headers, Method, Request, RequestInit, Response};

struct ProviderConfig {
    client_id: String,
    client_secret: String,
    authorize: String,
    token: String,
    userinfo: String,
    scope: String,
}

fn provider_config(env: &Env, provider: Provider) -> ApiResult<ProviderConfig> {
    let name = provider.as_str().to_ascii_uppercase();
    let d = provider.defaults().ok_or(ApiError::NotFound("route"))?;
    Ok(ProviderConfig {
        client_id: required_config(env, &format!("OAUTH_{name}_CLIENT_ID"))?,
        client_secret: required_config(env, &format!("OAUTH_{name}_CLIENT_SECRET"))?,
        authorize: config(env, &format!("OAUTH_{name}_AUTHORIZE_URL"), d.authorize),
        token: config(env, &format!("OAUTH_{name}_TOKEN_URL"), d.token),
        userinfo: config(env, &format!("OAUTH_{name}_USERINFO_URL"), d.userinfo),
        scope: config(env, &format!("OAUTH_{name}_SCOPE"), d.scope),
    })
}

fn offered(manifest: &Manifest, name: &str) -> ApiResult<Provider> {
    let rules = manifest.identity.as_ref().ok_or(ApiError::NotFound("route"))?;
    Provider::parse(name).filter(|p| rules.providers.contains(p)).ok_or(ApiError::NotFound("sign-in provider"))
}

fn callback_url(origin: &str, manifest: &Manifest, provider: Provider) -> String {
    format!("{origin}/apps/{}/auth/{}/callback", manifest.slug, provider.as_str())
}

/// Sign-in links for the app's providers, in the manifest's order (for error answers and the
/// session endpoint).
pub fn sign_in_links(origin: &str, manifest: &Manifest) -> Value {
    let providers = manifest.identity.as_ref().map(|i| i.providers.clone()).unwrap_or_default();
    json!(providers.iter().map(|p| json!({"provider": p.as_str(), "url": format!("{origin}/apps/{}/auth/{}/start", manifest.slug, p.as_str())})).collect::<Vec<_>>())
}

/// `GET /apps/<slug>/auth/<provider>/start[?return=/path]`: remembers a fresh state and PKCE
/// verifier, binds the state to this browser with a cookie, and sends the fan to the provider.
pub async fn start(req: &Request, env: &Env, manifest: &Manifest, provider: &str) -> ApiResult<Response> {
    let provider = offered(manifest, provider)?;
    let cfg = provider_config(env, provider)?;
    let db = store::db(env)?;
    let url = req.url()?;
    let return_to = identity::safe_return(url.query_pairs().find(|(k, _)| k == "return").map(|(_, v)| v.into_owned()).as_deref(), &format!("/apps/{}/", manifest.slug));
    let state = hex::encode(random::<16>());
    let verifier = identity::base64url(&random::<32>());
    store::run(
        &db,
        "INSERT INTO oauth_logins (state, app_slug, provider, verifier, return_to, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        &[state.as_str().into(), manifest.slug.as_str().into(), provider.as_str().into(), verifier.as_str().into(), return_to.as_str().into(), now_ms().into()],
    )
    .await?;
    let mut to = worker::Url::parse(&cfg.authorize).map_err(|e| ApiError::Internal(format!("authorize url: {e}")))?;
    to.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &cfg.client_id)
        .append_pair("redirect_uri", &callback_url(&origin(req), manifest, provider))
        .append_pair("scope", &cfg.scope)
        .append_pair("state", &state)
        .append_pair("code_challenge", &identity::pkce_challenge(&verifier))
        .append_pair("code_challenge_method", "S256");
    redirect(to.as_str(), 302, &[identity::set_cookie(identity::STATE_COOKIE, &state, &format!("/apps/{}/auth", manifest.slug), identity::LOGIN_SECS)])
}

/// A redirect that also sets cookies (`Response::redirect`'s headers cannot be changed).
fn redirect(to: &str, status: u16, cookies: &[String]) -> ApiResult<Response> {
    let headers = Headers::new();
    headers.set("Location", to)?;
    headers.set("Cache-Control", "no-store")?;
    for cookie in cookies {
        headers.append("Set-Cookie", cookie)?;
    }
    Ok(Response::empty()?.with_status(status).with_headers(headers))
}

/// `GET /apps/<slug>/auth/<provider>/callback?code=...&state=...`: the state must be this
/// browser's and unused; the code is exchanged with the PKCE verifier; the user info becomes
/// the session.
pub async fn callback(req: &Request, env: &Env, manifest: &Manifest, provider: &str) -> ApiResult<Response> {
    let provider = offered(manifest, provider)?;
    let cfg = provider_config(env, provider)?;
    let db = store::db(env)?;
    let url = req.url()?;
    let param = |name: &str| url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned());
    let invalid = |why: &str| ApiError::bad_request("invalid_state", format!("This sign-in link is not valid ({why}); start again."));
    let (Some(code), Some(state)) = (param("code"), param("state")) else {
        return Err(ApiError::bad_request("sign_in_cancelled", param("error").map_or("The provider sent no code.".to_string(), |e| format!("The provider said: {e}."))));
    };
    let cookies = header(req, "Cookie").unwrap_or_default();
    if identity::cookie(&cookies, identity::STATE_COOKIE) != Some(state.as_str()) {
        return Err(invalid("it was started in another browser"));
    }
    // One use per state: a replayed callback finds it used.
    let claimed = store::changes(
        &db,
        "UPDATE oauth_logins SET used_at = ? WHERE state = ? AND app_slug = ? AND provider = ? AND used_at IS NULL AND created_at > ?",
        &[now_ms().into(), state.as_str().into(), manifest.slug.as_str().into(), provider.as_str().into(), (now_ms() - identity::LOGIN_SECS * 1000).into()],
    )
    .await?;
    if claimed != 1 {
        return Err(invalid("it was already used or has expired"));
    }
    #[derive(Deserialize)]
    struct Login {
        verifier: String,
        return_to: String,
    }
    let login = store::first::<Login>(&db, "SELECT verifier, return_to FROM oauth_logins WHERE state = ?", &[state.as_str().into()]).await?.ok_or_else(|| invalid("unknown"))?;

    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("grant_type", "authorization_code")
        .append_pair("code", &code)
        .append_pair("redirect_uri", &callback_url(&origin(req), manifest, provider))
        .append_pair("client_id", &cfg.client_id)
        .append_pair("client_secret", &cfg.client_secret)
        .append_pair("code_verifier", &login.verifier);
    let token = send(Method::Post, &cfg.token, Some(form.finish()), None).await?;
    let access = token["access_token"].as_str().ok_or_else(|| ApiError::bad_request("sign_in_failed", "The provider did not accept the sign-in; start again."))?;
    let info = send(Method::Get, &cfg.userinfo, None, Some(access)).await?;
    let who = Identity::from_userinfo(provider, &info).ok_or_else(|| ApiError::Upstream(format!("{} user info has no id", provider.as_str())))?;
    let secret = required_config(env, "SESSION_SECRET")?;
    let session = identity::session_value(secret.as_bytes(), &manifest.slug, &who, now_ms() / 1000);
    redirect(
        &format!("{}{}", origin(req), login.return_to),
        303,
        &[identity::set_cookie(identity::SESSION_COOKIE, &session, &identity::session_path(&manifest.slug), identity::SESSION_SECS), identity::set_cookie(identity::STATE_COOKIE, "", &format!("/apps/{}/auth", manifest.slug), 0)],
    )
}

/// A provider call; a refusal (4xx) is the fan's failed sign-in, anything else the provider's.
async fn send(method: Method, url: &str, form: Option<String>, bearer: Option<&str>) -> ApiResult<Value> {
    let headers = Headers::new();
    headers.set("Accept", "application/json")?;
    if let Some(token) = bearer {
        headers.set("Authorization", &format!("Bearer {token}"))?;
    }
    let mut init = RequestInit::new();
    if let Some(form) = form {
        headers.set("Content-Type", "application/x-www-form-urlencoded")?;
        init.with_body(Some(form.into()));
    }
    init.with_method(method).with_headers(headers);
    let mut response = Fetch::Request(Request::new_with_init(url, &init)?).send_with_signal(&timeout_signal(10_000)).await.map_err(|e| ApiError::Upstream(format!("oauth provider: {e}")))?;
    let status = response.status_code();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    match status {
        200..=299 => Ok(body),
        400..=499 => Err(ApiError::bad_request("sign_in_failed", "The provider did not accept the sign-in (the code may have been used already); start again.")),
        _ => Err(ApiError::Upstream(format!("oauth provider answered {status}"))),
    }
}

/// The signed-in fan, if their session cookie is genuine, current, made by this app and from
/// a provider this app accepts (an email-link session never satisfies a Twitch-only app).
pub fn current(req: &Request, env: &Env, manifest: &Manifest) -> Option<Identity> {
    let providers = &manifest.identity.as_ref()?.providers;
    let cookies = header(req, "Cookie")?;
    let secret = config(env, "SESSION_SECRET", "");
    if secret.is_empty() {
        return None;
    }
    // Several cookies of the name may arrive (paths of other apps); any genuine one counts.
    cookies.split(';').filter_map(|p| p.trim().split_once('=')).filter(|(k, _)| *k == identity::SESSION_COOKIE).find_map(|(_, v)| identity::read_session(secret.as_bytes(), &manifest.slug, providers, v, now_ms() / 1000))
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
    // Each call mails from the platform's address: limited per client address, JSON only (a
    // cross-site page cannot make a browser post JSON), and a bounded number per recipient.
    crate::limits::per_client(env, &req).await?;
    crate::body::require_json_content_type(&req)?;
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Start {
        email: String,
        #[serde(rename = "return")]
        return_to: Option<String>,
    }
    let body: Start = crate::body::strict_json(&mut req, r#"{"email": "fan@example.com"}"#, false).await?;
    let email = Some(body.email.trim()).filter(|e| fanline_core::submission::is_email(e)).ok_or_else(|| ApiError::bad_request("invalid_email", "Enter an email address like name@example.com."))?.to_lowercase();
    let return_to = identity::safe_return(body.return_to.as_deref(), &format!("/apps/{}/", manifest.slug));
    let db = store::db(env)?;
    let Some(counted) = crate::limits::mail_budget(&db, &email, crate::limits::FanMail::SignIn, now_ms()).await? else {
        return Err(ApiError::QuotaExceeded("Too many sign-in links were sent to this address; try again in an hour.".into()));
    };
    store::commit(&db, vec![counted]).await?;
    let secret = required_config(env, "SESSION_SECRET")?;
    let token = identity::email_link_token(secret.as_bytes(), &manifest.slug, &email, &return_to, now_ms() / 1000);
    let link = format!("{}/apps/{}/auth/email/confirm?token={token}", origin(&req), manifest.slug);
    let mail = fanline_core::routing::Email {
        to: email.clone(),
        subject: format!("Sign in to {}", manifest.title),
        text: format!("Open this link to confirm your email and sign in (valid for 30 minutes, once):\n\n{link}\n\nIf you did not ask for it, ignore this mail."),
        request_id: String::new(),
    };
    crate::fulfilment::send_mail_now(env, &mail).await?;
    Ok(json(202, &json!({"sent_to": email, "message": "Check your inbox for a sign-in link."})))
}

/// `GET /apps/<slug>/auth/email/confirm?token=...`: a genuine, unexpired, unused link signs the
/// fan in with the email as their identity.
pub async fn email_confirm(req: &Request, env: &Env, manifest: &Manifest) -> ApiResult<Response> {
    offered(manifest, "email")?;
    let url = req.url()?;
    let token = url.query_pairs().find(|(k, _)| k == "token").map(|(_, v)| v.into_owned()).unwrap_or_default();
    let secret = required_config(env, "SESSION_SECRET")?;
    let invalid = || ApiError::bad_request("invalid_link", "This sign-in link is not valid, has expired or was used; ask for a new one.");
    let link = identity::read_email_link(secret.as_bytes(), &manifest.slug, &token, now_ms() / 1000).ok_or_else(invalid)?;
    // Once: the link's hash is recorded as a used sign-in.
    let used = store::commit(
        &store::db(env)?,
        vec![store::statement(
            &store::db(env)?,
            "INSERT INTO oauth_logins (state, app_slug, provider, verifier, return_to, created_at, used_at) VALUES (?, ?, 'email', '', ?, ?, ?)",
            &[hex::encode(sha2::Sha256::digest(token.as_bytes())).as_str().into(), manifest.slug.as_str().into(), link.return_to.as_str().into(), now_ms().into(), now_ms().into()],
        )?],
    )
    .await?;
    if !matches!(used, store::BatchOutcome::Committed) {
        return Err(invalid());
    }
    let who = Identity { provider: Provider::Email, sub: link.email.clone(), name: None, email: Some(link.email) };
    let session = identity::session_value(secret.as_bytes(), &manifest.slug, &who, now_ms() / 1000);
    redirect(&format!("{}{}", origin(req), link.return_to), 303, &[identity::set_cookie(identity::SESSION_COOKIE, &session, &identity::session_path(&manifest.slug), identity::SESSION_SECS)])
}
