//! The platform's mail account (SendGrid's API, `MAIL_API_BASE`), and mail sent at once rather
//! than through the outbox: sign-in links, which the fan is waiting for.

use super::{http, ProviderError, ProviderResult};
use crate::platform::config::{config, delivery_timeout, now_ms, outbound_policy, random};
use fanline_core::delivery::destination::{self, ApiBases, CallContext, MailAccount};
use fanline_core::delivery::payload::Email;
use fanline_core::intake::ids;
use worker::Env;

const SERVICE: &str = "mail";

/// The platform's SendGrid account; without `MAIL_API_KEY` emails are skipped.
pub fn account(env: &Env) -> Option<MailAccount> {
    let api_key = config(env, "MAIL_API_KEY", "");
    (!api_key.is_empty()).then(|| MailAccount { api_key, from: config(env, "MAIL_FROM", "requests@fanline.example") })
}

/// Every destination API's base URL, from configuration where set.
pub fn api_bases(env: &Env) -> ApiBases {
    let defaults = ApiBases::default();
    ApiBases {
        trello: config(env, "TRELLO_API_BASE", &defaults.trello),
        twilio: config(env, "TWILIO_API_BASE", &defaults.twilio),
        notion: config(env, "NOTION_API_BASE", &defaults.notion),
        airtable: config(env, "AIRTABLE_API_BASE", &defaults.airtable),
        mail: config(env, "MAIL_API_BASE", &defaults.mail),
    }
}

pub async fn send_now(env: &Env, mail: &Email) -> ProviderResult<()> {
    let account = account(env).ok_or_else(|| ProviderError::NotConfigured("MAIL_API_KEY is not configured".into()))?;
    let bases = api_bases(env);
    let message_id = ids::token("mail_", &random::<12>());
    let ctx =
        CallContext { bases: &bases, policy: outbound_policy(env), message_id: &message_id, now_secs: now_ms() / 1000, card_id: None, mail: Some(&account) };
    let call = destination::mail_call(mail, &ctx).map_err(|r| ProviderError::NotConfigured(format!("mail refused: {r}")))?;
    match http::send(call, delivery_timeout(env)).await {
        Ok(answer) if answer.is_success() => Ok(()),
        Ok(answer) => Err(ProviderError::unavailable(SERVICE, format!("answered {}", answer.status))),
        Err(e) => Err(ProviderError::unavailable(SERVICE, e)),
    }
}
