//! What the Workers runtime gives us beyond bindings: randomness, the clock, configuration
//! (`[vars]` and secrets, with the defaults and policies that follow from them).

use wasm_bindgen::prelude::*;
use worker::Env;

#[wasm_bindgen]
extern "C" {
    // The Web Crypto CSPRNG, present in every Workers isolate; the slice is copied back.
    #[wasm_bindgen(js_namespace = crypto, js_name = getRandomValues)]
    fn get_random_values(buf: &mut [u8]);

    #[wasm_bindgen(js_namespace = AbortSignal, js_name = timeout)]
    fn abort_signal_timeout(ms: u32) -> worker::web_sys::AbortSignal;
}

pub fn random<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    get_random_values(&mut buf);
    buf
}

pub fn now_ms() -> i64 {
    worker::Date::now().as_millis() as i64
}

pub fn timeout_signal(ms: u32) -> worker::AbortSignal {
    abort_signal_timeout(ms).into()
}

/// A plain `[vars]` value or secret, with a default when it is not set.
pub fn config(env: &Env, name: &str, default: &str) -> String {
    env.secret(name).map(|s| s.to_string()).or_else(|_| env.var(name).map(|v| v.to_string())).unwrap_or_else(|_| default.to_string())
}

/// A setting that has no safe default (API keys, webhook secrets).
pub fn required_config(env: &Env, name: &str) -> Result<String, super::error::ApiError> {
    let value = config(env, name, "");
    if value.is_empty() {
        Err(super::error::ApiError::Misconfigured(format!("{name} is not configured")))
    } else {
        Ok(value)
    }
}

/// Local development (`ALLOW_HTTP_DESTINATIONS = "true"`, set only by the local stack): plain
/// http to loopback destinations and a missing `PUBLIC_ORIGIN` are allowed.
pub fn is_local_dev(env: &Env) -> bool {
    config(env, "ALLOW_HTTP_DESTINATIONS", "false") == "true"
}

/// Local development sends plain http to loopback; a deployment allows neither.
pub fn outbound_policy(env: &Env) -> fanline_core::delivery::safety::Policy {
    if is_local_dev(env) {
        fanline_core::delivery::safety::Policy::LOCAL_DEV
    } else {
        fanline_core::delivery::safety::Policy::PRODUCTION
    }
}

/// How long a receiver may take to answer: 10 s, or `DELIVERY_TIMEOUT_MS` (100 to 30 000).
pub fn delivery_timeout(env: &Env) -> u32 {
    config(env, "DELIVERY_TIMEOUT_MS", "").parse().ok().filter(|ms| (100..=30_000).contains(ms)).unwrap_or(10_000)
}
