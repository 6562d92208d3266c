//! Sealing credentials with the runtime's Web Crypto AES-256-GCM (the format and why:
//! `fanline_core::trust::sealed`). `CREDENTIALS_KEY` seals; `CREDENTIALS_KEY_PREVIOUS`, while
//! set during a rotation, still opens what the old key sealed.

use super::config::{config, random};
use super::error::{ApiError, ApiResult};
use fanline_core::trust::sealed::{self, Column, Key, Stored, NONCE_LEN};
use wasm_bindgen::prelude::*;
use worker::js_sys::{Array, Object, Promise, Reflect, Uint8Array};
use worker::wasm_bindgen_futures::JsFuture;
use worker::Env;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(catch, js_namespace = ["crypto", "subtle"], js_name = importKey)]
    fn import_key(format: &str, key: &Uint8Array, algorithm: &str, extractable: bool, usages: &Array) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_namespace = ["crypto", "subtle"], js_name = encrypt)]
    fn subtle_encrypt(algorithm: &Object, key: &JsValue, data: &Uint8Array) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_namespace = ["crypto", "subtle"], js_name = decrypt)]
    fn subtle_decrypt(algorithm: &Object, key: &JsValue, data: &Uint8Array) -> Result<Promise, JsValue>;
}

pub const KEY_VAR: &str = "CREDENTIALS_KEY";
pub const PREVIOUS_KEY_VAR: &str = "CREDENTIALS_KEY_PREVIOUS";

/// The sealing key and, during a rotation, the one before it.
pub struct Keys {
    pub current: Key,
    previous: Option<Key>,
}

impl Keys {
    /// A deployment without `CREDENTIALS_KEY` cannot save credentials (503 `not_configured`);
    /// one that is set but malformed is refused the same way rather than sealing with nothing.
    pub fn from_env(env: &Env) -> ApiResult<Self> {
        let key = |name: &str| -> ApiResult<Option<Key>> {
            let secret = config(env, name, "");
            if secret.is_empty() {
                return Ok(None);
            }
            Key::parse(&secret).map(Some).map_err(|e| ApiError::Misconfigured(format!("{name} {e}")))
        };
        let current = key(KEY_VAR)?.ok_or_else(|| ApiError::Misconfigured(format!("{KEY_VAR} is not configured")))?;
        Ok(Keys { current, previous: key(PREVIOUS_KEY_VAR)? })
    }

    /// The keys where only reading needs them (deliveries, webhooks, chat): plain rows still
    /// read without them. A key that is set but malformed is logged, not passed over silently.
    pub fn if_configured(env: &Env) -> Option<Self> {
        if config(env, KEY_VAR, "").is_empty() {
            return None;
        }
        Self::from_env(env).map_err(|e| worker::console_error!("sealed credentials cannot be read: {e}")).ok()
    }

    fn by_id(&self, id: &str) -> Option<&Key> {
        std::iter::once(&self.current).chain(self.previous.as_ref()).find(|k| k.id() == id)
    }
}

fn js_error(what: &str, e: JsValue) -> ApiError {
    ApiError::Internal(format!("{what}: {}", e.as_string().unwrap_or_else(|| format!("{e:?}"))))
}

async fn crypto_key(key: &Key, usage: &str) -> ApiResult<JsValue> {
    let bytes = Uint8Array::from(&key.bytes()[..]);
    let promise = import_key("raw", &bytes, "AES-GCM", false, &Array::of1(&usage.into())).map_err(|e| js_error("importKey", e))?;
    JsFuture::from(promise).await.map_err(|e| js_error("importKey", e))
}

fn gcm(nonce: &[u8], associated: &[u8]) -> ApiResult<Object> {
    let params = Object::new();
    let set = |k: &str, v: JsValue| Reflect::set(&params, &k.into(), &v).map_err(|e| js_error("AES-GCM parameters", e));
    set("name", "AES-GCM".into())?;
    set("iv", Uint8Array::from(nonce).into())?;
    set("additionalData", Uint8Array::from(associated).into())?;
    Ok(params)
}

/// `plaintext` sealed under the current key, bound to `associated` (the row it is stored in).
pub async fn seal(keys: &Keys, associated: &[u8], plaintext: &str) -> ApiResult<String> {
    let nonce: [u8; NONCE_LEN] = random();
    let key = crypto_key(&keys.current, "encrypt").await?;
    let promise = subtle_encrypt(&gcm(&nonce, associated)?, &key, &Uint8Array::from(plaintext.as_bytes())).map_err(|e| js_error("encrypt", e))?;
    let ciphertext = JsFuture::from(promise).await.map_err(|e| js_error("encrypt", e))?;
    Ok(sealed::format(&keys.current, &nonce, &Uint8Array::new(&ciphertext).to_vec()))
}

/// The plaintext of a stored value: plain text as it is, sealed text opened with the key that
/// sealed it. `None` when it cannot be read: its key is gone, or the text was altered or
/// copied from another row (the caller treats that like settings that no longer parse).
/// Without keys (`CREDENTIALS_KEY` unset) plain text still reads, and sealed text is a
/// configuration error to retry after, not settings that are missing.
pub async fn open(keys: Option<&Keys>, associated: &[u8], stored: &str) -> ApiResult<Option<String>> {
    let Some(parsed) = Stored::parse(stored) else { return Ok(None) };
    let (key_id, nonce, ciphertext) = match parsed {
        Stored::Plain(text) => return Ok(Some(text.to_string())),
        Stored::Sealed { key_id, nonce, ciphertext } => (key_id, nonce, ciphertext),
    };
    let keys = keys.ok_or_else(|| ApiError::Misconfigured(format!("{KEY_VAR} is not configured, and a stored credential is sealed")))?;
    let Some(key) = keys.by_id(key_id) else {
        worker::console_error!("a sealed value names key {key_id}, which neither {KEY_VAR} nor {PREVIOUS_KEY_VAR} is");
        return Ok(None);
    };
    let crypto = crypto_key(key, "decrypt").await?;
    let promise = subtle_decrypt(&gcm(&nonce, associated)?, &crypto, &Uint8Array::from(&ciphertext[..])).map_err(|e| js_error("decrypt", e))?;
    match JsFuture::from(promise).await {
        Ok(plain) => Ok(String::from_utf8(Uint8Array::new(&plain).to_vec()).ok()),
        Err(_) => {
            worker::console_error!("a sealed value under key {key_id} failed its integrity check");
            Ok(None)
        }
    }
}

/// An OAuth access and refresh token as a row of `column`'s table stores them, each sealed
/// under the current key and bound to its app and column.
pub async fn seal_tokens(keys: &Keys, column: Column, app_slug: &str, access: &str, refresh: &str) -> ApiResult<(String, String)> {
    let access = seal(keys, &sealed::associated_data(column, app_slug, "access_token"), access).await?;
    let refresh = seal(keys, &sealed::associated_data(column, app_slug, "refresh_token"), refresh).await?;
    Ok((access, refresh))
}

/// A stored token pair, opened (plain tokens from before sealing read as they are); `None`
/// when either does not open, which means connecting the channel again.
pub async fn open_tokens(keys: Option<&Keys>, column: Column, app_slug: &str, access: &str, refresh: &str) -> ApiResult<Option<(String, String)>> {
    let access = open(keys, &sealed::associated_data(column, app_slug, "access_token"), access).await?;
    let refresh = open(keys, &sealed::associated_data(column, app_slug, "refresh_token"), refresh).await?;
    Ok(access.zip(refresh))
}
