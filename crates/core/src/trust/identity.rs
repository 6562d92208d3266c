//! Sign-in through OAuth 2.0 / OpenID Connect (authorization code with PKCE and state) and the
//! session cookie that carries the identity afterwards: an HMAC-signed value, so the Worker
//! needs no session store.

use crate::util::base64;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub const SESSION_COOKIE: &str = "fl_session";
pub const STATE_COOKIE: &str = "fl_oauth_state";
/// A session lasts a week; a sign-in attempt ten minutes.
pub const SESSION_SECS: i64 = 7 * 24 * 3600;
pub const LOGIN_SECS: i64 = 600;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    Twitch,
    Discord,
    Google,
    /// Patrons: their pledges (through Patreon's webhooks) give them the mapped tier.
    Patreon,
    /// No OAuth: an email address confirmed by a signed link.
    Email,
    /// Not a sign-in: a YouTube channel whose live-chat message the hub relayed.
    Youtube,
}

/// Where a provider lives by default; every URL can be replaced by configuration.
pub struct Endpoints {
    pub authorize: &'static str,
    pub token: &'static str,
    pub userinfo: &'static str,
    pub scope: &'static str,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Twitch => "twitch",
            Self::Discord => "discord",
            Self::Google => "google",
            Self::Patreon => "patreon",
            Self::Email => "email",
            Self::Youtube => "youtube",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Twitch, Self::Discord, Self::Google, Self::Patreon, Self::Email, Self::Youtube].into_iter().find(|p| p.as_str() == s)
    }
    /// The provider's OAuth endpoints; `None` for email links.
    pub fn defaults(self) -> Option<Endpoints> {
        Some(match self {
            Self::Twitch => Endpoints {
                authorize: "https://id.twitch.tv/oauth2/authorize",
                token: "https://id.twitch.tv/oauth2/token",
                userinfo: "https://id.twitch.tv/oauth2/userinfo",
                scope: "openid user:read:email",
            },
            Self::Discord => Endpoints {
                authorize: "https://discord.com/oauth2/authorize",
                token: "https://discord.com/api/oauth2/token",
                userinfo: "https://discord.com/api/users/@me",
                scope: "identify email",
            },
            Self::Google => Endpoints {
                authorize: "https://accounts.google.com/o/oauth2/v2/auth",
                token: "https://oauth2.googleapis.com/token",
                userinfo: "https://openidconnect.googleapis.com/v1/userinfo",
                scope: "openid email profile",
            },
            // Patreon's identity endpoint answers JSON:API (`data.id`, `data.attributes`).
            Self::Patreon => Endpoints {
                authorize: "https://www.patreon.com/oauth2/authorize",
                token: "https://www.patreon.com/api/oauth2/token",
                userinfo: "https://www.patreon.com/api/oauth2/v2/identity?fields%5Buser%5D=full_name,email",
                scope: "identity identity[email]",
            },
            Self::Email | Self::Youtube => return None,
        })
    }
}

/// base64url without padding, as PKCE and cookies want it.
pub fn base64url(bytes: &[u8]) -> String {
    base64::encode(bytes).trim_end_matches('=').replace('+', "-").replace('/', "_")
}

/// Decodes only the canonical spelling: url-safe alphabet, no padding, zero trailing bits.
/// A token therefore has exactly one valid string, so "used once" cannot be dodged by
/// re-spelling it (`=` appended, `+` for `-`, other low bits in the last character).
fn base64url_decode(s: &str) -> Option<Vec<u8>> {
    if !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return None;
    }
    let mut std = s.replace('-', "+").replace('_', "/");
    while !std.len().is_multiple_of(4) {
        std.push('=');
    }
    let bytes = base64::decode(&std)?;
    (base64url(&bytes) == s).then_some(bytes)
}

/// The PKCE S256 challenge for a verifier (RFC 7636).
pub fn pkce_challenge(verifier: &str) -> String {
    base64url(&Sha256::digest(verifier.as_bytes()))
}

/// Who signed in, as carried by the session cookie and stored with their requests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub provider: Provider,
    /// The provider's stable user id.
    pub sub: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    /// Set only on requests the hub relays from a live stream's chat (never by a sign-in).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live: Option<LiveOrigin>,
}

/// The channel a chat request came from, and the channel-points redemption it settles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveOrigin {
    /// The broadcaster's Twitch user id.
    pub channel: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redemption: Option<Redemption>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redemption {
    pub reward_id: String,
    pub id: String,
}

impl Identity {
    /// Reads a provider's user-info answer: OIDC `sub`, Discord's `id`, or Patreon's JSON:API
    /// `data` (its `id` and `attributes`).
    pub fn from_userinfo(provider: Provider, info: &serde_json::Value) -> Option<Self> {
        if let (serde_json::Value::String(_), attributes) = (&info["data"]["id"], &info["data"]["attributes"]) {
            let flat = serde_json::json!({"id": info["data"]["id"], "name": attributes["full_name"], "email": attributes["email"]});
            return Self::from_userinfo(provider, &flat);
        }
        let sub = match (&info["sub"], &info["id"]) {
            (serde_json::Value::String(s), _) | (_, serde_json::Value::String(s)) => s.clone(),
            (serde_json::Value::Number(n), _) | (_, serde_json::Value::Number(n)) => n.to_string(),
            _ => return None,
        };
        let text = |k: &str| info[k].as_str().filter(|s| !s.is_empty()).map(|s| s.chars().take(100).collect::<String>());
        Some(Self { provider, sub, name: text("preferred_username").or_else(|| text("name")).or_else(|| text("username")), email: text("email"), live: None })
    }

    pub fn key(&self) -> String {
        format!("{}:{}", self.provider.as_str(), self.sub)
    }

    /// The identity in a sealed body's fields, as `Serialize` wrote them beside the body's own
    /// (`app`, `exp`). Read from a JSON value rather than derived: the flattened deserializer
    /// buffers every field through serde's generic content, code that app Workers, which
    /// read a session on every signed-in intake, would carry for this alone.
    fn from_fields(body: &serde_json::Value) -> Option<Self> {
        use serde_json::Value;
        let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_string);
        let optional = |k: &str| match body.get(k) {
            None | Some(Value::Null) => Some(None),
            Some(Value::String(s)) => Some(Some(s.clone())),
            Some(_) => None,
        };
        let live = match body.get("live") {
            None | Some(Value::Null) => None,
            Some(live) => Some(LiveOrigin {
                channel: live.get("channel")?.as_str()?.to_string(),
                redemption: match live.get("redemption") {
                    None | Some(Value::Null) => None,
                    Some(r) => Some(Redemption { reward_id: r.get("reward_id")?.as_str()?.to_string(), id: r.get("id")?.as_str()?.to_string() }),
                },
            }),
        };
        Some(Self { provider: Provider::parse(body.get("provider")?.as_str()?)?, sub: text("sub")?, name: optional("name")?, email: optional("email")?, live })
    }
}

/// A sealed body that carries an identity, with the app it was made for and when it ends.
struct Sealed {
    identity: Identity,
    app: String,
    exp: i64,
}

impl Sealed {
    fn open(secret: &[u8], domain: &str, sealed: &str) -> Option<Self> {
        let body: serde_json::Value = unseal(secret, domain, sealed)?;
        Some(Self { identity: Identity::from_fields(&body)?, app: body.get("app")?.as_str()?.to_string(), exp: body.get("exp")?.as_i64()? })
    }
}

#[derive(Serialize)]
struct SessionBody {
    #[serde(flatten)]
    identity: Identity,
    /// The app that signed the fan in: a session made at one app never satisfies another.
    app: String,
    /// Unix seconds after which the session is over.
    exp: i64,
}

/// `base64url(json).base64url(hmac)`, the HMAC keyed by `secret` over `domain` and the body,
/// so a value sealed for one purpose is never accepted for another.
fn seal<T: Serialize>(secret: &[u8], domain: &str, value: &T) -> String {
    let body = base64url(serde_json::to_string(value).unwrap_or_default().as_bytes());
    format!("{body}.{}", base64url(&mac(secret, domain, &body).finalize().into_bytes()))
}

fn unseal<T: for<'de> Deserialize<'de>>(secret: &[u8], domain: &str, sealed: &str) -> Option<T> {
    let (body, sig) = sealed.split_once('.')?;
    mac(secret, domain, body).verify_slice(&base64url_decode(sig)?).ok()?;
    serde_json::from_slice(&base64url_decode(body)?).ok()
}

fn mac(secret: &[u8], domain: &str, body: &str) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC accepts any key length");
    mac.update(domain.as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    mac
}

/// The session cookie's value, for the app that signed the fan in.
pub fn session_value(secret: &[u8], app: &str, identity: &Identity, now_secs: i64) -> String {
    seal(secret, "fanline-session", &SessionBody { identity: identity.clone(), app: app.to_string(), exp: now_secs + SESSION_SECS })
}

/// The identity in a session cookie value, if it is genuine, not expired, made by `app` and
/// from one of the providers `app` accepts.
pub fn read_session(secret: &[u8], app: &str, providers: &[Provider], value: &str, now_secs: i64) -> Option<Identity> {
    let session = Sealed::open(secret, "fanline-session", value)?;
    (session.exp > now_secs && session.app == app && providers.contains(&session.identity.provider)).then_some(session.identity)
}

/// How long a popup sign-in's hand-off token works: enough to reach the page that opened it.
pub const HANDOFF_SECS: i64 = 120;

#[derive(Serialize)]
struct HandoffBody {
    #[serde(flatten)]
    identity: Identity,
    app: String,
    exp: i64,
    /// Makes every token distinct, so the one-use record of one never refuses another.
    nonce: String,
}

/// The token a sign-in popup hands to the embed that opened it (through `postMessage`), which
/// trades it once for a session (`POST /apps/<slug>/api/session`). Sealed for its own purpose:
/// it is never a session, and a session is never one.
pub fn handoff_token(secret: &[u8], app: &str, identity: &Identity, nonce: &str, now_secs: i64) -> String {
    seal(secret, "fanline-handoff", &HandoffBody { identity: identity.clone(), app: app.to_string(), exp: now_secs + HANDOFF_SECS, nonce: nonce.to_string() })
}

/// The identity a hand-off token carries, if it is genuine, current and made by `app`.
/// (That it is used only once is recorded in D1 by the caller.)
pub fn read_handoff(secret: &[u8], app: &str, token: &str, now_secs: i64) -> Option<Identity> {
    let body = Sealed::open(secret, "fanline-handoff", token)?;
    (body.exp > now_secs && body.app == app).then_some(body.identity)
}

/// How long a relayed chat request's token works: the hub makes it for one call to the app.
pub const RELAY_SECS: i64 = 60;

#[derive(Serialize)]
struct RelayBody {
    #[serde(flatten)]
    identity: Identity,
    app: String,
    exp: i64,
}

/// The hub's word to an app Worker that a request comes from a viewer it verified on a live
/// platform (a signed EventSub delivery): the app takes it as that viewer signed in, and
/// limits it by the viewer rather than by the platform's address. Sealed for its own purpose.
pub fn relay_token(secret: &[u8], app: &str, identity: &Identity, now_secs: i64) -> String {
    seal(secret, "fanline-relay", &RelayBody { identity: identity.clone(), app: app.to_string(), exp: now_secs + RELAY_SECS })
}

pub fn read_relay(secret: &[u8], app: &str, token: &str, now_secs: i64) -> Option<Identity> {
    let body = Sealed::open(secret, "fanline-relay", token)?;
    (body.exp > now_secs && body.app == app && body.identity.live.is_some()).then_some(body.identity)
}

/// The path a session cookie is scoped to: the app's own pages and API.
pub fn session_path(app: &str) -> String {
    format!("/apps/{app}/")
}

/// How long an emailed sign-in link works.
pub const EMAIL_LINK_SECS: i64 = 1800;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailLink {
    pub email: String,
    pub return_to: String,
    app: String,
    exp: i64,
    /// Makes every link its own: a link is used once, and without it two links asked for the
    /// same address in the same second were one, so using either spent both. Links sealed
    /// before it existed read as having none.
    #[serde(default)]
    nonce: String,
}

/// When a link is made, and the random value (from the caller) that makes it distinct.
#[derive(Debug, Clone, Copy)]
pub struct Issue<'a> {
    pub now_secs: i64,
    pub nonce: &'a str,
}

/// The token in an emailed sign-in link: the email, app, return path and expiry, sealed, with
/// the issue's nonce making each link distinct.
pub fn email_link_token(secret: &[u8], app: &str, email: &str, return_to: &str, issue: Issue) -> String {
    let Issue { now_secs, nonce } = issue;
    seal(
        secret,
        "fanline-email-link",
        &EmailLink {
            email: email.to_string(),
            return_to: return_to.to_string(),
            app: app.to_string(),
            exp: now_secs + EMAIL_LINK_SECS,
            nonce: nonce.to_string(),
        },
    )
}

/// A genuine, unexpired link for this app. (Using it once is the caller's to enforce.)
pub fn read_email_link(secret: &[u8], app: &str, token: &str, now_secs: i64) -> Option<EmailLink> {
    let link: EmailLink = unseal(secret, "fanline-email-link", token)?;
    (link.exp > now_secs && link.app == app).then_some(link)
}

/// A 128-bit tag of `subject` for one purpose (`domain`), base64url: short enough for a link.
fn link_tag(secret: &[u8], domain: &str, subject: &str) -> String {
    base64url(&mac(secret, domain, subject).finalize().into_bytes()[..16])
}

fn is_link_tag(secret: &[u8], domain: &str, subject: &str, tag: &str) -> bool {
    let Some(given) = base64url_decode(tag) else { return false };
    if given.len() != 16 || secret.is_empty() {
        return false;
    }
    // Compares the tag's first 16 bytes in constant time.
    mac(secret, domain, subject).verify_truncated_left(&given).is_ok()
}

/// The fan's key to their own request: the links Fanline mails to the fan (and gives the
/// fan's browser after submitting) carry it, and rating the request needs it. The request's
/// id alone is not enough, because the creator's team sees ids in Discord, Trello and mail.
pub fn fan_request_key(secret: &[u8], request_id: &str) -> String {
    link_tag(secret, "fanline-fan-request", request_id)
}

/// Whether `key` is the fan's key to `request_id` (compared in constant time).
pub fn is_fan_request_key(secret: &[u8], request_id: &str, key: &str) -> bool {
    is_link_tag(secret, "fanline-fan-request", request_id, key)
}

/// The creator's preview token of an app: it opens a draft app (its requests are tests).
pub fn preview_token(secret: &[u8], app_slug: &str) -> String {
    format!("pv_{}", link_tag(secret, "fanline-app-preview", app_slug))
}

pub fn is_preview_token(secret: &[u8], app_slug: &str, token: &str) -> bool {
    token.strip_prefix("pv_").is_some_and(|tag| is_link_tag(secret, "fanline-app-preview", app_slug, tag))
}

/// An expiring download link to one request's attachment (exports hand these out).
pub struct AttachmentLink<'a> {
    pub request_id: &'a str,
    pub field: &'a str,
    /// Unix seconds.
    pub expires: i64,
}

impl AttachmentLink<'_> {
    fn subject(&self) -> String {
        format!("{}/{}/{}", self.request_id, self.field, self.expires)
    }

    pub fn tag(&self, secret: &[u8]) -> String {
        link_tag(secret, "fanline-attachment-link", &self.subject())
    }

    /// Whether `tag` opens this attachment and the link has not expired at `now_secs`.
    pub fn opens(&self, secret: &[u8], tag: &str, now_secs: i64) -> bool {
        self.expires > now_secs && is_link_tag(secret, "fanline-attachment-link", &self.subject(), tag)
    }
}

/// One cookie's value from a `Cookie` header.
pub fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').filter_map(|p| p.trim().split_once('=')).find(|(k, _)| *k == name).map(|(_, v)| v)
}

/// `Set-Cookie` for our cookies: HttpOnly, Secure, SameSite=Lax, never readable by scripts.
pub fn set_cookie(name: &str, value: &str, path: &str, max_age: i64) -> String {
    format!("{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; Secure; SameSite=Lax")
}

/// Where to send the fan after signing in: only a path on this site (no open redirects).
pub fn safe_return(path: Option<&str>, fallback: &str) -> String {
    match path {
        Some(p) if p.starts_with('/') && !p.starts_with("//") && !p.contains('\\') && p.len() <= 500 && !p.chars().any(char::is_control) => p.to_string(),
        _ => fallback.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_relay_token_needs_a_live_origin_and_its_app() {
        let mut who = Identity { provider: Provider::Twitch, sub: "2002".into(), name: Some("viewer".into()), email: None, live: None };
        assert_eq!(read_relay(b"k", "song-request", &relay_token(b"k", "song-request", &who, 100), 100), None);
        who.live = Some(LiveOrigin { channel: "1001".into(), redemption: None });
        let token = relay_token(b"k", "song-request", &who, 100);
        assert_eq!(read_relay(b"k", "song-request", &token, 159), Some(who.clone()));
        assert_eq!(read_relay(b"k", "song-request", &token, 160), None);
        assert_eq!(read_relay(b"k", "shoutout", &token, 100), None);
        assert_eq!(read_relay(b"other", "song-request", &token, 100), None);
        assert_eq!(read_session(b"k", "song-request", &[Provider::Twitch], &token, 100), None);
    }

    #[test]
    fn a_handoff_token_is_short_lived_bound_to_its_app_and_never_a_session() {
        let who = Identity { provider: Provider::Twitch, sub: "42".into(), name: Some("dj".into()), email: None, live: None };
        let token = handoff_token(b"secret", "shoutout", &who, "n1", 1_000);
        assert_eq!(read_handoff(b"secret", "shoutout", &token, 1_000 + HANDOFF_SECS - 1), Some(who.clone()));
        assert_eq!(read_handoff(b"secret", "shoutout", &token, 1_000 + HANDOFF_SECS), None, "expired");
        assert_eq!(read_handoff(b"secret", "other-app", &token, 1_000), None);
        assert_eq!(read_handoff(b"other", "shoutout", &token, 1_000), None);
        assert_ne!(token, handoff_token(b"secret", "shoutout", &who, "n2", 1_000), "each token is its own");
        assert_eq!(read_session(b"secret", "shoutout", &[Provider::Twitch], &token, 1_000), None, "a token is not a session");
        let session = session_value(b"secret", "shoutout", &who, 1_000);
        assert_eq!(read_handoff(b"secret", "shoutout", &session, 1_000), None, "a session is not a token");
    }

    #[test]
    fn a_fan_request_key_opens_only_its_own_request() {
        let key = fan_request_key(b"secret", "req_1");
        assert_eq!(key.len(), 22);
        assert!(is_fan_request_key(b"secret", "req_1", &key));
        assert!(!is_fan_request_key(b"secret", "req_2", &key));
        assert!(!is_fan_request_key(b"other", "req_1", &key));
        assert!(!is_fan_request_key(b"secret", "req_1", &key[..21]));
        assert!(!is_fan_request_key(b"secret", "req_1", "not base64!"));
        assert!(!is_fan_request_key(b"", "req_1", &fan_request_key(b"", "req_1")));
    }

    #[test]
    fn an_attachment_link_opens_one_file_until_it_expires() {
        let link = |request_id, field, expires| AttachmentLink { request_id, field, expires };
        let tag = link("req_1", "reference", 1_000).tag(b"secret");
        assert!(link("req_1", "reference", 1_000).opens(b"secret", &tag, 999));
        assert!(!link("req_1", "reference", 1_000).opens(b"secret", &tag, 1_000), "expired");
        assert!(!link("req_1", "reference", 2_000).opens(b"secret", &tag, 999), "another expiry");
        assert!(!link("req_1", "other", 1_000).opens(b"secret", &tag, 999));
        assert!(!link("req_2", "reference", 1_000).opens(b"secret", &tag, 999));
    }

    #[test]
    fn a_preview_token_opens_only_its_app_and_is_not_a_request_key() {
        let token = preview_token(b"secret", "my-app");
        assert!(is_preview_token(b"secret", "my-app", &token));
        assert!(!is_preview_token(b"secret", "other-app", &token));
        assert!(!is_preview_token(b"secret", "my-app", token.trim_start_matches("pv_")));
        assert!(!is_fan_request_key(b"secret", "my-app", token.trim_start_matches("pv_")), "purposes never mix");
    }

    #[test]
    fn sealed_identities_read_back_whole_and_only_for_their_purpose() {
        let viewer = Identity {
            provider: Provider::Twitch,
            sub: "141981764".into(),
            name: Some("TwitchDev".into()),
            email: None,
            live: Some(LiveOrigin { channel: "12826".into(), redemption: Some(Redemption { reward_id: "r1".into(), id: "red-9".into() }) }),
        };
        let relay = relay_token(b"k", "song-request", &viewer, 1000);
        assert_eq!(read_relay(b"k", "song-request", &relay, 1001), Some(viewer.clone()));
        assert_eq!(read_relay(b"k", "song-request", &relay, 1000 + RELAY_SECS), None, "expired");
        assert_eq!(read_relay(b"k", "shoutout", &relay, 1001), None, "another app");
        assert_eq!(read_handoff(b"k", "song-request", &relay, 1001), None, "a relay token is not a hand-off");
        let fan = Identity { provider: Provider::Google, sub: "johndoe".into(), name: None, email: Some("j@example.com".into()), live: None };
        let handoff = handoff_token(b"k", "shoutout", &fan, "n1", 1000);
        assert_eq!(read_handoff(b"k", "shoutout", &handoff, 1001), Some(fan.clone()));
        assert_eq!(read_relay(b"k", "shoutout", &handoff, 1001), None, "no live origin, and not a relay");
        assert_eq!(read_session(b"k", "shoutout", &[Provider::Google], &handoff, 1001), None, "a hand-off is not a session");
        // A field of the wrong type is refused, not read as missing.
        let forged = seal(b"k", "fanline-session", &serde_json::json!({"provider": "google", "sub": "x", "name": 7, "app": "shoutout", "exp": 2000}));
        assert_eq!(read_session(b"k", "shoutout", &[Provider::Google], &forged, 1001), None);
        let unknown = seal(b"k", "fanline-session", &serde_json::json!({"provider": "myspace", "sub": "x", "app": "shoutout", "exp": 2000}));
        assert_eq!(read_session(b"k", "shoutout", &[Provider::Google], &unknown, 1001), None);
    }

    #[test]
    fn pkce_matches_rfc_7636() {
        assert_eq!(pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    }

    #[test]
    fn sessions_are_signed_and_expire() {
        let who = Identity { provider: Provider::Twitch, sub: "123".into(), name: Some("ana".into()), email: None, live: None };
        let twitch = [Provider::Twitch];
        let v = session_value(b"k", "song-request", &who, 1000);
        assert_eq!(read_session(b"k", "song-request", &twitch, &v, 1001), Some(who.clone()));
        assert_eq!(read_session(b"other", "song-request", &twitch, &v, 1001), None);
        assert_eq!(read_session(b"k", "song-request", &twitch, &v, 1000 + SESSION_SECS), None);
        let (body, sig) = v.split_once('.').unwrap();
        let forged = base64url(br#"{"provider":"twitch","sub":"admin","app":"song-request","exp":99999999999}"#);
        assert_eq!(read_session(b"k", "song-request", &twitch, &format!("{forged}.{sig}"), 1001), None);
        assert_eq!(read_session(b"k", "song-request", &twitch, body, 1001), None);
        assert_eq!(read_session(b"k", "song-request", &twitch, "", 1001), None);
    }

    #[test]
    fn a_session_is_bound_to_the_app_and_provider_that_made_it() {
        let by_email = Identity { provider: Provider::Email, sub: "x@example.com".into(), name: None, email: Some("x@example.com".into()), live: None };
        let v = session_value(b"k", "shoutout", &by_email, 1000);
        assert!(read_session(b"k", "shoutout", &[Provider::Email], &v, 1001).is_some());
        assert_eq!(read_session(b"k", "song-request", &[Provider::Email, Provider::Twitch], &v, 1001), None, "another app");
        assert_eq!(read_session(b"k", "shoutout", &[Provider::Twitch], &v, 1001), None, "a provider the app does not accept");
    }

    #[test]
    fn a_sealed_token_has_exactly_one_spelling() {
        let t = email_link_token(b"k", "shoutout", "fan@example.com", "/apps/shoutout/", Issue { now_secs: 1000, nonce: "n1" });
        assert!(read_email_link(b"k", "shoutout", &t, 1001).is_some());
        let (body, sig) = t.split_once('.').unwrap();
        let mut variants = vec![format!("{t}="), format!("{t}=="), format!("{body}.{}", sig.replace('-', "+").replace('_', "/"))];
        // The last character of a 32-byte MAC carries 2 unused low bits; try every other value.
        let last = sig.chars().last().unwrap();
        let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let index = alphabet.find(last).unwrap();
        for low in 1..4 {
            let other = alphabet.as_bytes()[(index & !3) | ((index + low) & 3)] as char;
            variants.push(format!("{body}.{}{other}", &sig[..sig.len() - 1]));
        }
        for v in &variants {
            if v != &t {
                assert_eq!(read_email_link(b"k", "shoutout", v, 1001), None, "{v}");
            }
        }
    }

    #[test]
    fn reads_userinfo_from_oidc_and_discord() {
        let oidc = Identity::from_userinfo(Provider::Google, &serde_json::json!({"sub": "johndoe", "email": "j@example.com", "name": "John"})).unwrap();
        assert_eq!((oidc.key().as_str(), oidc.name.as_deref(), oidc.email.as_deref()), ("google:johndoe", Some("John"), Some("j@example.com")));
        let discord = Identity::from_userinfo(Provider::Discord, &serde_json::json!({"id": "80351110224678912", "username": "nelly"})).unwrap();
        assert_eq!((discord.sub.as_str(), discord.name.as_deref()), ("80351110224678912", Some("nelly")));
        assert!(Identity::from_userinfo(Provider::Twitch, &serde_json::json!({"name": "no id"})).is_none());
    }

    #[test]
    fn email_links_are_signed_per_app_and_expire() {
        let t = email_link_token(b"k", "shoutout", "fan@example.com", "/apps/shoutout/", Issue { now_secs: 1000, nonce: "n1" });
        let link = read_email_link(b"k", "shoutout", &t, 1001).unwrap();
        assert_eq!((link.email.as_str(), link.return_to.as_str()), ("fan@example.com", "/apps/shoutout/"));
        assert_eq!(read_email_link(b"k", "song-request", &t, 1001), None, "another app");
        assert_eq!(read_email_link(b"other", "shoutout", &t, 1001), None);
        assert_eq!(read_email_link(b"k", "shoutout", &t, 1000 + EMAIL_LINK_SECS), None, "expired");
        assert_eq!(read_email_link(b"k", "shoutout", "garbage", 1001), None);
        let twin = email_link_token(b"k", "shoutout", "fan@example.com", "/apps/shoutout/", Issue { now_secs: 1000, nonce: "n2" });
        assert_ne!(twin, t, "two links asked in the same second are two links");
        assert_eq!(read_email_link(b"k", "shoutout", &twin, 1001).map(|l| l.email), Some("fan@example.com".into()));
        assert_eq!(Provider::Email.defaults().map(|d| d.token), None);
    }

    #[test]
    fn cookies_and_returns() {
        assert_eq!(cookie("a=1; fl_session=xyz.abc; b=2", SESSION_COOKIE), Some("xyz.abc"));
        assert_eq!(cookie("a=1", SESSION_COOKIE), None);
        assert!(set_cookie("n", "v", "/", 10).contains("HttpOnly; Secure; SameSite=Lax"));
        assert_eq!(safe_return(Some("/apps/x/?a=1"), "/"), "/apps/x/?a=1");
        for bad in ["https://evil.example", "//evil.example", "/\\evil", "javascript:alert(1)"] {
            assert_eq!(safe_return(Some(bad), "/home"), "/home", "{bad}");
        }
    }
}
