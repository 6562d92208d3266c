//! The wire format of each destination (Discord, webhooks, Trello, Twilio, Notion, Airtable,
//! mail): a creator's settings for it (checked when saved, shown back without credentials) and
//! the HTTP call that delivers a rendered payload. The Workers shell only performs the call, so
//! every API's request shape is tested here.

use crate::delivery::payload::{self, Email};
use crate::delivery::safety::{self, Policy, MAX_BODY_BYTES};
use crate::manifest::DestinationKind;
use crate::trust::standard_webhooks;
use crate::util::base64;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// Where each outside API lives. Production uses the real hosts; tests point them at local
/// servers speaking the same wire format.
#[derive(Debug, Clone)]
pub struct ApiBases {
    pub trello: String,
    pub twilio: String,
    pub notion: String,
    pub airtable: String,
    pub mail: String,
}

impl Default for ApiBases {
    fn default() -> Self {
        Self {
            trello: "https://api.trello.com".into(),
            twilio: "https://api.twilio.com".into(),
            notion: "https://api.notion.com".into(),
            airtable: "https://api.airtable.com".into(),
            mail: "https://api.sendgrid.com".into(),
        }
    }
}

/// The platform's mail account (SendGrid v3), for fan emails and creator notices.
#[derive(Clone)]
pub struct MailAccount {
    pub api_key: String,
    pub from: String,
}

/// A creator's settings for one target kind, as stored (credentials included).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Settings {
    Discord {
        webhook_url: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        role_id: Option<String>,
    },
    Webhook {
        url: String,
        secret: String,
    },
    CreatorEmail {
        email: String,
    },
    Trello {
        key: String,
        token: String,
        list_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        done_list_id: Option<String>,
    },
    Sms {
        account_sid: String,
        auth_token: String,
        from: String,
        to: String,
    },
    Notion {
        token: String,
        database_id: String,
        title_property: String,
    },
    Airtable {
        token: String,
        base_id: String,
        table: String,
    },
}

// Never print credentials, even in a debug log.
impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Settings({})", self.public_view())
    }
}

/// Why a delivery cannot be attempted at all (unsafe, oversized, not set up): no retry can fix
/// it, so the edge marks the job dead with this reason.
pub type Refusal = String;

/// Every request the platform sends names itself.
const USER_AGENT: (&str, &str) = ("User-Agent", "Fanline-Webhooks/1.0");

/// One outgoing HTTP call. Headers may hold credentials, so it has no `Debug`.
pub struct HttpCall {
    pub method: &'static str,
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

/// What the call must know besides settings and payload.
pub struct CallContext<'a> {
    pub bases: &'a ApiBases,
    pub policy: Policy,
    /// The outbox row id: the `webhook-id` receivers deduplicate on.
    pub message_id: &'a str,
    pub now_secs: i64,
    /// The Trello card made for this request by an earlier delivery, if any.
    pub card_id: Option<&'a str>,
    pub mail: Option<&'a MailAccount>,
}

fn text(value: &Value, key: &str) -> Result<String, String> {
    match value.get(key) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_string()),
        Some(Value::String(_)) | None | Some(Value::Null) => Err(format!("\"{key}\" is required")),
        Some(_) => Err(format!("\"{key}\" must be a string")),
    }
}

fn optional_text(value: &Value, key: &str) -> Result<Option<String>, String> {
    match value.get(key) {
        None | Some(Value::Null) => Ok(None),
        _ => text(value, key).map(Some),
    }
}

fn shaped(value: String, key: &str, what: &str, ok: impl Fn(&str) -> bool) -> Result<String, String> {
    if ok(&value) {
        Ok(value)
    } else {
        Err(format!("\"{key}\" must be {what}"))
    }
}

fn hex_of(len: usize) -> impl Fn(&str) -> bool {
    move |s: &str| s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn is_e164(s: &str) -> bool {
    s.strip_prefix('+').is_some_and(|d| (8..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()) && !d.starts_with('0'))
}

fn is_token(s: &str) -> bool {
    (8..=256).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_graphic())
}

impl Settings {
    /// Reads what the creator sent for `kind`; `secret` is a fresh signing secret, kept only
    /// when a webhook has none yet (`previous`).
    pub fn parse(kind: DestinationKind, input: &Value, policy: Policy, previous: Option<&Settings>, secret: &str) -> Result<Self, String> {
        let Some(keys) = input.as_object() else {
            return Err("send an object of settings, or null to remove the target".into());
        };
        // A misspelled key must not silently leave a setting at its default.
        let known: &[&str] = match kind {
            DestinationKind::Discord => &["webhook_url", "role_id"],
            DestinationKind::Webhook => &["url", "rotate_secret"],
            DestinationKind::CreatorEmail => &["email"],
            DestinationKind::Trello => &["key", "token", "list_id", "done_list_id"],
            DestinationKind::Sms => &["account_sid", "auth_token", "from", "to"],
            DestinationKind::Notion => &["token", "database_id", "title_property"],
            DestinationKind::Airtable => &["token", "base_id", "table"],
            _ => &[],
        };
        if let Some(unknown) = keys.keys().find(|k| !known.contains(&k.as_str())) {
            return Err(format!("unknown setting \"{unknown}\"; this target takes {}", known.join(", ")));
        }
        Ok(match kind {
            DestinationKind::Discord => {
                let webhook_url = safety::check(&text(input, "webhook_url")?, policy).map_err(|e| format!("\"webhook_url\" {e}"))?.to_string();
                let role_id = optional_text(input, "role_id")?
                    .map(|r| shaped(r, "role_id", "a Discord role id (digits)", |s| (15..=21).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())))
                    .transpose()?;
                Settings::Discord { webhook_url, role_id }
            }
            DestinationKind::Webhook => {
                let url = safety::check(&text(input, "url")?, policy).map_err(|e| format!("\"url\" {e}"))?.to_string();
                // Receivers trust the secret, so saving the URL again keeps it; a creator who
                // moves the endpoint to someone else, or fears the secret leaked, asks for a new one.
                let rotate = match input.get("rotate_secret") {
                    None | Some(Value::Null) => false,
                    Some(Value::Bool(rotate)) => *rotate,
                    Some(_) => return Err("\"rotate_secret\" must be true or false".into()),
                };
                let secret = match previous {
                    Some(Settings::Webhook { secret, .. }) if !rotate => secret.clone(),
                    _ => secret.to_string(),
                };
                Settings::Webhook { url, secret }
            }
            DestinationKind::CreatorEmail => {
                Settings::CreatorEmail { email: shaped(text(input, "email")?, "email", "an email address", crate::trust::client::is_email)? }
            }
            DestinationKind::Trello => Settings::Trello {
                key: shaped(text(input, "key")?, "key", "a Trello API key (32 hex digits)", hex_of(32))?,
                token: shaped(text(input, "token")?, "token", "a Trello token", is_token)?,
                list_id: shaped(text(input, "list_id")?, "list_id", "a Trello list id (24 hex digits)", hex_of(24))?,
                done_list_id: optional_text(input, "done_list_id")?
                    .map(|d| shaped(d, "done_list_id", "a Trello list id (24 hex digits)", hex_of(24)))
                    .transpose()?,
            },
            DestinationKind::Sms => Settings::Sms {
                account_sid: shaped(text(input, "account_sid")?, "account_sid", "a Twilio Account SID (AC + 32 hex digits)", |s| {
                    s.strip_prefix("AC").is_some_and(hex_of(32))
                })?,
                auth_token: shaped(text(input, "auth_token")?, "auth_token", "a Twilio auth token (32 hex digits)", hex_of(32))?,
                from: shaped(text(input, "from")?, "from", "a phone number in E.164 form (+15551234567)", is_e164)?,
                to: shaped(text(input, "to")?, "to", "a phone number in E.164 form (+15551234567)", is_e164)?,
            },
            DestinationKind::Notion => Settings::Notion {
                token: shaped(text(input, "token")?, "token", "a Notion integration token", is_token)?,
                database_id: shaped(text(input, "database_id")?.replace('-', ""), "database_id", "a Notion database id (32 hex digits)", hex_of(32))?,
                title_property: optional_text(input, "title_property")?.unwrap_or_else(|| "Name".into()),
            },
            DestinationKind::Airtable => Settings::Airtable {
                token: shaped(text(input, "token")?, "token", "an Airtable personal access token", is_token)?,
                base_id: shaped(text(input, "base_id")?, "base_id", "an Airtable base id (app...)", |s| {
                    s.len() == 17 && s.starts_with("app") && s.bytes().all(|b| b.is_ascii_alphanumeric())
                })?,
                table: shaped(text(input, "table")?, "table", "a table name or id of at most 100 characters", |s| s.chars().count() <= 100)?,
            },
            DestinationKind::Email | DestinationKind::Feedback => return Err("fan emails go to the address on each request; they have no settings".into()),
            DestinationKind::Twitch | DestinationKind::Youtube => {
                return Err("connect a channel with POST /api/apps/<slug>/twitch or /youtube; it has no settings here".into())
            }
        })
    }

    /// Stored settings, read back as the kind they were saved for.
    pub fn load(kind: DestinationKind, stored: &str) -> Option<Self> {
        let settings: Settings = serde_json::from_str(stored).ok()?;
        let matches = matches!(
            (kind, &settings),
            (DestinationKind::Discord, Settings::Discord { .. })
                | (DestinationKind::Webhook, Settings::Webhook { .. })
                | (DestinationKind::CreatorEmail, Settings::CreatorEmail { .. })
                | (DestinationKind::Trello, Settings::Trello { .. })
                | (DestinationKind::Sms, Settings::Sms { .. })
                | (DestinationKind::Notion, Settings::Notion { .. })
                | (DestinationKind::Airtable, Settings::Airtable { .. })
        );
        matches.then_some(settings)
    }

    /// The settings as the creator sees them: credentials reduced to their last 4 characters.
    /// The webhook signing secret is shown whole, since receivers need it to verify.
    pub fn public_view(&self) -> Value {
        let masked = |s: &str| format!("…{}", s.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect::<String>());
        match self {
            Settings::Discord { webhook_url, role_id } => json!({ "webhook_url": mask_path_token(webhook_url), "role_id": role_id }),
            Settings::Webhook { url, secret } => json!({ "url": url, "secret": secret }),
            Settings::CreatorEmail { email } => json!({ "email": email }),
            Settings::Trello { key, token, list_id, done_list_id } => {
                json!({ "key": masked(key), "token": masked(token), "list_id": list_id, "done_list_id": done_list_id })
            }
            Settings::Sms { account_sid, auth_token, from, to } => {
                json!({ "account_sid": account_sid, "auth_token": masked(auth_token), "from": from, "to": to })
            }
            Settings::Notion { token, database_id, title_property } => {
                json!({ "token": masked(token), "database_id": database_id, "title_property": title_property })
            }
            Settings::Airtable { token, base_id, table } => json!({ "token": masked(token), "base_id": base_id, "table": table }),
        }
    }
}

/// A Discord webhook URL's last segment is its token: anyone holding it can post.
fn mask_path_token(url: &str) -> String {
    match url.rsplit_once('/') {
        Some((head, token)) if token.len() > 4 => format!("{head}/…{}", &token[token.len() - 4..]),
        _ => url.to_string(),
    }
}

/// The HTTP call delivering `payload` (as `payload::payload` rendered it) to `kind`. Fan and
/// creator emails need the platform's `mail` account; every other kind its `settings`.
pub fn call(kind: DestinationKind, settings: Option<&Settings>, payload: &Value, ctx: &CallContext) -> Result<HttpCall, Refusal> {
    let json_headers = |mut extra: Vec<(&'static str, String)>| {
        extra.insert(0, ("Content-Type", "application/json".to_string()));
        extra.insert(1, (USER_AGENT.0, USER_AGENT.1.to_string()));
        extra
    };
    let missing = || format!("no {} destination configured", kind.as_str());
    let field = |key: &str| payload.get(key).and_then(Value::as_str).unwrap_or_default().to_string();
    let call = match (kind, settings) {
        (DestinationKind::Email | DestinationKind::Feedback, _) | (DestinationKind::CreatorEmail, Some(Settings::CreatorEmail { .. })) => {
            let mut mail: Email = serde_json::from_value(payload.clone()).map_err(|_| String::from("not an email payload"))?;
            if let Some(Settings::CreatorEmail { email }) = settings {
                mail.to = email.clone();
            }
            return mail_call(&mail, ctx).and_then(|call| checked(call, ctx));
        }
        (DestinationKind::Discord, Some(Settings::Discord { webhook_url, role_id })) => {
            let mut body = payload.clone();
            if let Some(role) = role_id {
                // Only this role may be pinged: fan text naming others stays silent.
                let content = body["content"].as_str().unwrap_or_default();
                body["content"] = Value::String(payload::clip(&format!("<@&{role}> {content}"), 2000));
                body["allowed_mentions"] = json!({ "parse": [], "roles": [role] });
            }
            let mut url = url::Url::parse(webhook_url).map_err(|_| String::from("the Discord webhook URL is not a URL"))?;
            // `wait=true`: Discord answers once the message exists, so a 2xx means delivered.
            url.query_pairs_mut().append_pair("wait", "true");
            HttpCall { method: "POST", url: url.to_string(), headers: json_headers(vec![]), body: body.to_string() }
        }
        (DestinationKind::Webhook, Some(Settings::Webhook { url, secret })) => {
            let key = standard_webhooks::secret_key(secret).ok_or_else(|| String::from("the webhook signing secret is damaged"))?;
            let body = payload.to_string();
            let signature = standard_webhooks::sign(&key, ctx.message_id, ctx.now_secs, body.as_bytes());
            let headers = json_headers(vec![
                ("webhook-id", ctx.message_id.to_string()),
                ("webhook-timestamp", ctx.now_secs.to_string()),
                ("webhook-signature", signature),
            ]);
            HttpCall { method: "POST", url: url.clone(), headers, body }
        }
        (DestinationKind::Trello, Some(Settings::Trello { key, token, list_id, done_list_id })) => {
            let auth = vec![("Authorization", trello_auth(key, token))];
            let base = ctx.bases.trello.trim_end_matches('/');
            let finished = field("event") == "request.fulfilled";
            match ctx.card_id {
                None => {
                    let list = trello_create_list(payload, list_id, done_list_id.as_ref());
                    HttpCall {
                        method: "POST",
                        url: format!("{base}/1/cards"),
                        headers: json_headers(auth),
                        body: json!({ "idList": list, "name": field("name"), "desc": field("desc"), "pos": "bottom" }).to_string(),
                    }
                }
                Some(card) if finished && done_list_id.is_some() => HttpCall {
                    method: "PUT",
                    url: format!("{base}/1/cards/{}", url_segment(card)),
                    headers: json_headers(auth),
                    body: json!({ "idList": done_list_id }).to_string(),
                },
                Some(card) => HttpCall {
                    method: "POST",
                    url: format!("{base}/1/cards/{}/actions/comments", url_segment(card)),
                    headers: json_headers(auth),
                    body: json!({ "text": field("comment") }).to_string(),
                },
            }
        }
        (DestinationKind::Sms, Some(Settings::Sms { account_sid, auth_token, from, to })) => {
            let body = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("To", to)
                .append_pair("From", from)
                .append_pair("Body", &field("body"))
                .finish();
            HttpCall {
                method: "POST",
                url: format!("{}/2010-04-01/Accounts/{account_sid}/Messages.json", ctx.bases.twilio.trim_end_matches('/')),
                headers: vec![
                    ("Content-Type", "application/x-www-form-urlencoded".to_string()),
                    (USER_AGENT.0, USER_AGENT.1.to_string()),
                    ("Authorization", format!("Basic {}", base64::encode(format!("{account_sid}:{auth_token}").as_bytes()))),
                ],
                body,
            }
        }
        (DestinationKind::Notion, Some(Settings::Notion { token, database_id, title_property })) => {
            // Notion caps a rich-text item at 2000 characters and a request at 100 blocks.
            let children: Vec<Value> = field("text")
                .lines()
                .filter(|l| !l.trim().is_empty())
                .take(100)
                .map(|line| json!({ "object": "block", "type": "paragraph", "paragraph": { "rich_text": [{ "type": "text", "text": { "content": payload::clip(line, 2000) } }] } }))
                .collect();
            let mut properties = serde_json::Map::new();
            properties.insert(title_property.clone(), json!({ "title": [{ "type": "text", "text": { "content": payload::clip(&field("title"), 2000) } }] }));
            HttpCall {
                method: "POST",
                url: format!("{}/v1/pages", ctx.bases.notion.trim_end_matches('/')),
                headers: json_headers(vec![("Authorization", format!("Bearer {token}")), ("Notion-Version", "2022-06-28".to_string())]),
                body: json!({ "parent": { "database_id": database_id }, "properties": properties, "children": children }).to_string(),
            }
        }
        (DestinationKind::Airtable, Some(Settings::Airtable { token, base_id, table })) => HttpCall {
            method: "POST",
            url: format!("{}/v0/{base_id}/{}", ctx.bases.airtable.trim_end_matches('/'), url_segment(table)),
            headers: json_headers(vec![("Authorization", format!("Bearer {token}"))]),
            body: json!({ "records": [{ "fields": payload.get("fields").cloned().unwrap_or(json!({})) }], "typecast": true }).to_string(),
        },
        _ => return Err(missing()),
    };
    checked(call, ctx)
}

/// The marketplace's mail account sending `mail`: what `call` makes of every email kind, and
/// all an app Worker needs to send a sign-in link at once (without every other destination's
/// wire format in its bundle). Its URL is the operator's `MAIL_API_BASE`, never one a creator
/// or fan names, so only the body's size is checked here: `call` also puts it through the
/// outbound policy, and an app's sign-in mail does not, which keeps the URL parser (21 KB
/// gzipped) out of every app with sign-in.
pub fn mail_call(mail: &Email, ctx: &CallContext) -> Result<HttpCall, Refusal> {
    let account = ctx.mail.ok_or_else(|| String::from("email is not configured for this marketplace"))?;
    if mail.to.is_empty() {
        return Err(String::from("no address to send to"));
    }
    let call = HttpCall {
        method: "POST",
        url: format!("{}/v3/mail/send", ctx.bases.mail.trim_end_matches('/')),
        headers: vec![
            ("Content-Type", "application/json".to_string()),
            (USER_AGENT.0, USER_AGENT.1.to_string()),
            ("Authorization", format!("Bearer {}", account.api_key)),
        ],
        body: payload::sendgrid_mail(mail, &account.from, "Fanline").to_string(),
    };
    within_cap(call)
}

/// Every call goes out only to a URL the outbound policy allows, with a body under the cap.
fn checked(call: HttpCall, ctx: &CallContext) -> Result<HttpCall, Refusal> {
    safety::check(&call.url, ctx.policy).map_err(|e| format!("target URL {e}"))?;
    within_cap(call)
}

fn within_cap(call: HttpCall) -> Result<HttpCall, Refusal> {
    if call.body.len() > MAX_BODY_BYTES {
        return Err(format!("payload of {} bytes is over the {MAX_BODY_BYTES}-byte limit", call.body.len()));
    }
    Ok(call)
}

/// For a create whose answer never came (a timeout, a dropped connection): a call that looks
/// for what it may have made, so the retry records that instead of making it twice. Trello
/// and Airtable can be asked (neither takes an idempotency key); Twilio and Notion cannot.
pub fn find_earlier_create(kind: DestinationKind, settings: Option<&Settings>, payload: &Value, ctx: &CallContext) -> Option<HttpCall> {
    let agent = (USER_AGENT.0, USER_AGENT.1.to_string());
    match settings? {
        Settings::Trello { key, token, list_id, done_list_id } if kind == DestinationKind::Trello && ctx.card_id.is_none() => {
            let list = trello_create_list(payload, list_id, done_list_id.as_ref());
            Some(HttpCall {
                method: "GET",
                url: format!("{}/1/lists/{list}/cards?fields=id,desc&filter=open", ctx.bases.trello.trim_end_matches('/')),
                headers: vec![("Authorization", trello_auth(key, token)), agent],
                body: String::new(),
            })
        }
        Settings::Airtable { token, base_id, table } if kind == DestinationKind::Airtable => {
            // A request has one record per routed event: match its id and the status it reports.
            let fields = &payload["fields"];
            let formula = format!("AND({{Request}}='{}',{{Status}}='{}')", formula_text(fields["Request"].as_str()?), formula_text(fields["Status"].as_str()?));
            let query = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("filterByFormula", &formula)
                .append_pair("maxRecords", "1")
                .append_pair("fields[]", "Request")
                .finish();
            Some(HttpCall {
                method: "GET",
                url: format!("{}/v0/{base_id}/{}?{query}", ctx.bases.airtable.trim_end_matches('/'), url_segment(table)),
                headers: vec![("Authorization", format!("Bearer {token}")), agent],
                body: String::new(),
            })
        }
        _ => None,
    }
}

/// Text inside a single-quoted Airtable formula string.
fn formula_text(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\'', "\\'")
}

/// What `find_earlier_create`'s answer shows the unanswered attempt made, if anything.
pub fn earlier_create_id(kind: DestinationKind, body: &str, request_id: &str) -> Option<String> {
    let answer: Value = serde_json::from_str(body).ok()?;
    let found = match kind {
        DestinationKind::Trello => {
            // The marker is the description's last line, after anything the fan wrote, so a
            // fan who types another request's marker into a field cannot lend it this card.
            let marker = format!("Fanline request {request_id} ");
            answer.as_array()?.iter().find(|c| c["desc"].as_str().is_some_and(|d| d.lines().last().is_some_and(|l| l.starts_with(&marker))))?.clone()
        }
        DestinationKind::Airtable => answer["records"].as_array()?.first()?.clone(),
        _ => return None,
    };
    created_id(&found.to_string())
}

/// Trello takes credentials in an Authorization header, which keeps them out of URLs.
fn trello_auth(key: &str, token: &str) -> String {
    format!("OAuth oauth_consumer_key=\"{key}\", oauth_token=\"{token}\"")
}

/// A card is made in the done list when the request's first Trello event is its fulfilment.
fn trello_create_list<'a>(payload: &Value, list_id: &'a String, done_list_id: Option<&'a String>) -> &'a String {
    match done_list_id {
        Some(done) if payload["event"] == "request.fulfilled" => done,
        _ => list_id,
    }
}

/// One path segment, percent-encoded (Airtable table names may hold spaces or slashes).
fn url_segment(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>().replace('+', "%20")
}

/// The id of what a create call made (Trello card), read from the API's answer.
pub fn created_id(body: &str) -> Option<String> {
    serde_json::from_str::<Value>(body)
        .ok()?
        .get("id")?
        .as_str()
        .filter(|id| id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric()))
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::payload::RequestSummary;
    use crate::manifest::{tests::SONG, Manifest, Route};
    use std::collections::BTreeMap;

    const LOCAL: Policy = Policy::LOCAL_DEV;
    const PRODUCTION: Policy = Policy::PRODUCTION;

    fn summary() -> RequestSummary {
        payload::tests::summary_of(&[("song", json!("Africa")), ("artist", json!("Toto")), ("email", json!("fan@example.com"))], &[])
    }

    fn render(to: DestinationKind, title: Option<&str>, template: Option<&str>, event: &str) -> Value {
        let manifest = Manifest::parse(SONG).unwrap();
        let route = Route { to, title: title.map(Into::into), template: template.map(Into::into) };
        payload::payload(&manifest, &summary(), &route, &payload::Occasion { event, fan_address: Some("fan@example.com"), now_ms: 0 }).unwrap()
    }

    fn ctx<'a>(bases: &'a ApiBases, card_id: Option<&'a str>, mail: Option<&'a MailAccount>) -> CallContext<'a> {
        CallContext { bases, policy: PRODUCTION, message_id: "msg_1", now_secs: 1_700_000_000, card_id, mail }
    }

    fn header<'a>(call: &'a HttpCall, name: &str) -> &'a str {
        call.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str()).unwrap()
    }

    fn settings(kind: DestinationKind, input: Value) -> Result<Settings, String> {
        Settings::parse(kind, &input, PRODUCTION, None, "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD")
    }

    #[test]
    fn a_webhook_keeps_its_secret_unless_asked_to_rotate_it() {
        let old = settings(DestinationKind::Webhook, json!({"url": "https://hooks.example/a"})).unwrap();
        let fresh = "whsec_bmV3IHNlY3JldCBmb3IgdGhlIHRlc3Q=";
        let parse = |input: Value| Settings::parse(DestinationKind::Webhook, &input, PRODUCTION, Some(&old), fresh);
        let secret_of = |s: Settings| match s {
            Settings::Webhook { secret, .. } => secret,
            _ => unreachable!(),
        };
        assert_eq!(secret_of(parse(json!({"url": "https://other.example/b"})).unwrap()), "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD");
        assert_eq!(secret_of(parse(json!({"url": "https://hooks.example/a", "rotate_secret": false})).unwrap()), "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD");
        assert_eq!(secret_of(parse(json!({"url": "https://hooks.example/a", "rotate_secret": true})).unwrap()), fresh);
        assert!(parse(json!({"url": "https://hooks.example/a", "rotate_secret": "yes"})).unwrap_err().contains("true or false"));
    }

    const KEY: &str = "0123456789abcdef0123456789abcdef";
    const LIST: &str = "5f1e2d3c4b5a697887766554";
    const DONE: &str = "5f1e2d3c4b5a697887766555";

    #[test]
    fn trello_creates_a_card_then_moves_it_when_fulfilled() {
        let s = settings(DestinationKind::Trello, json!({"key": KEY, "token": "ATTAtoken123456", "list_id": LIST, "done_list_id": DONE})).unwrap();
        let bases = ApiBases::default();
        let queued = render(DestinationKind::Trello, Some("{{song}} by {{artist}}"), None, "request.queued");
        let create = call(DestinationKind::Trello, Some(&s), &queued, &ctx(&bases, None, None)).unwrap();
        assert_eq!((create.method, create.url.as_str()), ("POST", "https://api.trello.com/1/cards"));
        assert_eq!(header(&create, "authorization"), format!("OAuth oauth_consumer_key=\"{KEY}\", oauth_token=\"ATTAtoken123456\""));
        let body: Value = serde_json::from_str(&create.body).unwrap();
        assert_eq!(body["idList"], LIST);
        assert_eq!(body["name"], "Africa by Toto");
        assert!(body["desc"].as_str().unwrap().contains("Song: Africa"));
        assert!(!create.url.contains("ATTAtoken"), "credentials stay out of the URL");

        let fulfilled = render(DestinationKind::Trello, None, None, "request.fulfilled");
        let moved = call(DestinationKind::Trello, Some(&s), &fulfilled, &ctx(&bases, Some("card123"), None)).unwrap();
        assert_eq!((moved.method, moved.url.as_str()), ("PUT", "https://api.trello.com/1/cards/card123"));
        assert_eq!(serde_json::from_str::<Value>(&moved.body).unwrap()["idList"], DONE);

        let other =
            call(DestinationKind::Trello, Some(&s), &render(DestinationKind::Trello, None, None, "request.refunded"), &ctx(&bases, Some("card123"), None))
                .unwrap();
        assert_eq!(other.url, "https://api.trello.com/1/cards/card123/actions/comments");
        assert_eq!(created_id(r#"{"id":"60d5ecb0a1b2c3d4e5f60718","name":"x"}"#).as_deref(), Some("60d5ecb0a1b2c3d4e5f60718"));
        assert!(created_id(r#"{"id":"../../x"}"#).is_none());
    }

    #[test]
    fn a_trello_retry_looks_for_the_card_an_unanswered_create_made() {
        let s = settings(DestinationKind::Trello, json!({"key": KEY, "token": "ATTAtoken123456", "list_id": LIST, "done_list_id": DONE})).unwrap();
        let bases = ApiBases::default();
        let queued = render(DestinationKind::Trello, None, None, "request.queued");
        assert!(queued["desc"].as_str().unwrap().ends_with("Fanline request req_1 · http://x/apps/song-request/?request=req_1"));
        let look = find_earlier_create(DestinationKind::Trello, Some(&s), &queued, &ctx(&bases, None, None)).unwrap();
        assert_eq!((look.method, look.url.as_str()), ("GET", format!("https://api.trello.com/1/lists/{LIST}/cards?fields=id,desc&filter=open").as_str()));
        assert!(find_earlier_create(DestinationKind::Trello, Some(&s), &queued, &ctx(&bases, Some("card"), None)).is_none(), "the card is known");
        let listed =
            json!([{"id": "aaa111", "desc": "Fanline request req_10 · x"}, {"id": "bbb222", "desc": "text\n\nFanline request req_1 · http://x"}]).to_string();
        assert_eq!(earlier_create_id(DestinationKind::Trello, &listed, "req_1").as_deref(), Some("bbb222"));
        assert_eq!(earlier_create_id(DestinationKind::Trello, &listed, "req_2"), None);
        let faked = json!([{"id": "ccc333", "desc": "Song: Fanline request req_2 · x\n\nFanline request req_3 · http://x"}]).to_string();
        assert_eq!(earlier_create_id(DestinationKind::Trello, &faked, "req_2"), None, "a marker typed by a fan is not the card's");
        assert_eq!(earlier_create_id(DestinationKind::Trello, &faked, "req_3").as_deref(), Some("ccc333"));
        assert_eq!(earlier_create_id(DestinationKind::Trello, "not json", "req_1"), None);

        let airtable =
            settings(DestinationKind::Airtable, json!({"token": "patABC123.secretpart", "base_id": "appABCDEFGHIJKLMN", "table": "Fan requests"})).unwrap();
        let record = render(DestinationKind::Airtable, None, None, "request.queued");
        let look = find_earlier_create(DestinationKind::Airtable, Some(&airtable), &record, &ctx(&bases, None, None)).unwrap();
        let query: BTreeMap<String, String> = url::Url::parse(&look.url).unwrap().query_pairs().into_owned().collect();
        assert_eq!(query["filterByFormula"], "AND({Request}='req_1',{Status}='queued')");
        assert!(look.url.starts_with("https://api.airtable.com/v0/appABCDEFGHIJKLMN/Fan%20requests?"));
        assert_eq!(earlier_create_id(DestinationKind::Airtable, r#"{"records":[{"id":"recABC123","fields":{}}]}"#, "req_1").as_deref(), Some("recABC123"));
        assert_eq!(earlier_create_id(DestinationKind::Airtable, r#"{"records":[]}"#, "req_1"), None);
        assert_eq!(formula_text("it's"), "it\\'s");
        assert!(find_earlier_create(DestinationKind::Sms, None, &record, &ctx(&bases, None, None)).is_none());
    }

    #[test]
    fn twilio_sms_is_a_form_post_with_basic_auth() {
        let sid = format!("AC{KEY}");
        let s = settings(DestinationKind::Sms, json!({"account_sid": sid, "auth_token": KEY, "from": "+15005550006", "to": "+15551234567"})).unwrap();
        let bases = ApiBases::default();
        let payload = render(DestinationKind::Sms, None, Some("New: {{song}} ({{price}})"), "request.queued");
        let sms = call(DestinationKind::Sms, Some(&s), &payload, &ctx(&bases, None, None)).unwrap();
        assert_eq!(sms.url, format!("https://api.twilio.com/2010-04-01/Accounts/{sid}/Messages.json"));
        assert_eq!(header(&sms, "content-type"), "application/x-www-form-urlencoded");
        assert_eq!(header(&sms, "authorization"), format!("Basic {}", base64::encode(format!("{sid}:{KEY}").as_bytes())));
        let form: BTreeMap<String, String> = url::form_urlencoded::parse(sms.body.as_bytes()).into_owned().collect();
        assert_eq!(form["Body"], "New: Africa ($3.00)");
        assert_eq!((form["To"].as_str(), form["From"].as_str()), ("+15551234567", "+15005550006"));
        assert!(settings(DestinationKind::Sms, json!({"account_sid": sid, "auth_token": KEY, "from": "555-1234", "to": "+15551234567"}))
            .unwrap_err()
            .contains("E.164"));
    }

    #[test]
    fn notion_and_airtable_get_their_documented_shapes() {
        let bases = ApiBases::default();
        let notion = settings(DestinationKind::Notion, json!({"token": "ntn_abcdefgh12345", "database_id": "668d797c-76fa-4934-9b05-ad288df2d136"})).unwrap();
        let page =
            call(DestinationKind::Notion, Some(&notion), &render(DestinationKind::Notion, None, None, "request.queued"), &ctx(&bases, None, None)).unwrap();
        assert_eq!(page.url, "https://api.notion.com/v1/pages");
        assert_eq!(header(&page, "notion-version"), "2022-06-28");
        let body: Value = serde_json::from_str(&page.body).unwrap();
        assert_eq!(body["parent"]["database_id"], "668d797c76fa49349b05ad288df2d136");
        assert_eq!(body["properties"]["Name"]["title"][0]["text"]["content"], "Request a song: Africa");
        assert!(body["children"].as_array().unwrap().iter().any(|b| b["paragraph"]["rich_text"][0]["text"]["content"] == "Artist: Toto"));

        let airtable =
            settings(DestinationKind::Airtable, json!({"token": "patABC123.secretpart", "base_id": "appABCDEFGHIJKLMN", "table": "Fan requests"})).unwrap();
        let record =
            call(DestinationKind::Airtable, Some(&airtable), &render(DestinationKind::Airtable, None, None, "request.queued"), &ctx(&bases, None, None))
                .unwrap();
        assert_eq!(record.url, "https://api.airtable.com/v0/appABCDEFGHIJKLMN/Fan%20requests");
        let body: Value = serde_json::from_str(&record.body).unwrap();
        assert_eq!(body["records"][0]["fields"]["Request"], "req_1");
        assert_eq!(body["records"][0]["fields"]["Price"], "$3.00");
        assert_eq!(body["typecast"], true);
    }

    #[test]
    fn discord_role_mentions_ping_only_that_role() {
        let s = settings(DestinationKind::Discord, json!({"webhook_url": "https://discord.com/api/webhooks/1/tok", "role_id": "123456789012345678"})).unwrap();
        let bases = ApiBases::default();
        let payload = render(DestinationKind::Discord, None, Some("{{song}} @everyone"), "request.queued");
        let c = call(DestinationKind::Discord, Some(&s), &payload, &ctx(&bases, None, None)).unwrap();
        assert_eq!(c.url, "https://discord.com/api/webhooks/1/tok?wait=true");
        let body: Value = serde_json::from_str(&c.body).unwrap();
        assert_eq!(body["content"], "<@&123456789012345678> Africa @everyone");
        assert_eq!(body["allowed_mentions"], json!({"parse": [], "roles": ["123456789012345678"]}));
        assert!(settings(DestinationKind::Discord, json!({"webhook_url": "https://discord.com/api/webhooks/1/tok", "role_id": "@everyone"})).is_err());
    }

    #[test]
    fn webhooks_are_signed_and_emails_go_through_the_mail_api() {
        let bases = ApiBases::default();
        let hook = settings(DestinationKind::Webhook, json!({"url": "https://hooks.zapier.com/x"})).unwrap();
        let c = call(DestinationKind::Webhook, Some(&hook), &render(DestinationKind::Webhook, None, None, "request.queued"), &ctx(&bases, None, None)).unwrap();
        let key = standard_webhooks::secret_key("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap();
        assert!(standard_webhooks::verify(&key, "msg_1", 1_700_000_000, c.body.as_bytes(), header(&c, "webhook-signature")));

        let account = MailAccount { api_key: "SG.key".into(), from: "requests@fanline.example".into() };
        let creator = settings(DestinationKind::CreatorEmail, json!({"email": "me@creator.example"})).unwrap();
        let notice = render(DestinationKind::CreatorEmail, Some("New: {{song}}"), None, "request.queued");
        let c = call(DestinationKind::CreatorEmail, Some(&creator), &notice, &ctx(&bases, None, Some(&account))).unwrap();
        let body: Value = serde_json::from_str(&c.body).unwrap();
        assert_eq!(body["personalizations"][0]["to"][0]["email"], "me@creator.example");
        assert_eq!(body["subject"], "New: Africa");
        assert!(call(DestinationKind::CreatorEmail, Some(&creator), &notice, &ctx(&bases, None, None)).is_err(), "no mail account");
        let feedback = render(DestinationKind::Feedback, None, None, "request.fulfilled");
        assert_eq!(feedback["to"], "fan@example.com");
        assert!(feedback["subject"].as_str().unwrap().starts_with("How was it?"));
    }

    #[test]
    fn unsafe_targets_and_oversized_bodies_are_refused() {
        let bases = ApiBases { trello: "http://127.0.0.1:9000".into(), ..ApiBases::default() };
        let s = settings(DestinationKind::Trello, json!({"key": KEY, "token": "ATTAtoken123456", "list_id": LIST})).unwrap();
        let refusal =
            call(DestinationKind::Trello, Some(&s), &render(DestinationKind::Trello, None, None, "request.queued"), &ctx(&bases, None, None)).err().unwrap();
        assert!(refusal.contains("https"), "{refusal}");
        let local = CallContext { policy: LOCAL, ..ctx(&bases, None, None) };
        assert!(call(DestinationKind::Trello, Some(&s), &render(DestinationKind::Trello, None, None, "request.queued"), &local).is_ok());

        assert!(settings(DestinationKind::Webhook, json!({"url": "https://169.254.169.254/latest"})).unwrap_err().contains("private"));
        let hook = Settings::Webhook { url: "https://hooks.example/x".into(), secret: "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD".into() };
        let huge = json!({ "type": "request.queued", "data": "x".repeat(MAX_BODY_BYTES) });
        assert!(call(DestinationKind::Webhook, Some(&hook), &huge, &ctx(&bases, None, None)).err().unwrap().contains("limit"));
        assert!(call(DestinationKind::Sms, None, &huge, &ctx(&bases, None, None)).err().unwrap().contains("no sms destination"));
    }

    #[test]
    fn credentials_never_show() {
        let s = settings(DestinationKind::Trello, json!({"key": KEY, "token": "ATTAsecrettoken99", "list_id": LIST})).unwrap();
        let shown = s.public_view().to_string() + &format!("{s:?}");
        assert!(!shown.contains("ATTAsecrettoken99") && !shown.contains(KEY));
        assert!(shown.contains("…en99"));
        let d = settings(DestinationKind::Discord, json!({"webhook_url": "https://discord.com/api/webhooks/1/abcdefghijkl"})).unwrap();
        assert_eq!(d.public_view()["webhook_url"], "https://discord.com/api/webhooks/1/…ijkl");
        assert_eq!(Settings::load(DestinationKind::Trello, &serde_json::to_string(&s).unwrap()), Some(s.clone()));
        assert_eq!(Settings::load(DestinationKind::Sms, &serde_json::to_string(&s).unwrap()), None);
    }
}
