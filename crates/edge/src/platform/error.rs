//! One error type for every endpoint. Each variant has its HTTP status; internal details are
//! logged and never returned.

use fanline_core::intake::FieldError;
use serde_json::json;
use worker::{console_error, Response};

#[derive(Debug)]
pub enum ApiError {
    BadRequest {
        code: &'static str,
        message: String,
    },
    Unauthorized,
    /// A fan action that needs the fan's token (`Fan-Token` header) without a valid one.
    FanTokenRequired(String),
    /// The app needs the fan signed in (OAuth); the body lists where to sign in.
    SignInRequired(serde_json::Value),
    /// Not enough credits (or another reason the fan cannot pay this way).
    PaymentRequired {
        code: &'static str,
        message: String,
    },
    /// Refused by a check the caller can act on (e.g. Turnstile).
    Forbidden {
        code: &'static str,
        message: String,
    },
    NotFound(&'static str),
    MethodNotAllowed,
    Conflict {
        code: &'static str,
        message: String,
    },
    /// Gone for good (an archived app).
    Gone {
        code: &'static str,
        message: String,
    },
    PayloadTooLarge(String),
    UnsupportedMediaType(String),
    Validation(Vec<FieldError>),
    /// The Idempotency-Key was used before with another body or by another client.
    IdempotencyKeyReused,
    /// Moderation blocked it; deliberately says nothing about which rule fired.
    Rejected {
        request_id: String,
    },
    /// An edge limiter refused: `policy` names it in the `RateLimit` header, and
    /// `policy_header` is its `RateLimit-Policy` item when the deployment declares its limit.
    RateLimited {
        policy: &'static str,
        retry_after_secs: u32,
        policy_header: Option<String>,
    },
    /// A per-fan quota is used up (429 without Retry-After: it frees up as requests finish).
    QuotaExceeded(String),
    /// A payment or other outside service failed; the fan may retry.
    Upstream(String),
    Unavailable(String),
    /// The deployment lacks something it needs (a binding, a setting). The detail is logged
    /// for the operator; callers get a 503 that names no configuration.
    Misconfigured(String),
    Internal(String),
}

impl ApiError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadRequest { code, message: message.into() }
    }

    /// The request moved under us (another writer won the race); the caller fetches it again.
    pub fn concurrent_update(doing: &str) -> Self {
        Self::Conflict { code: "concurrent_update", message: format!("The request changed while {doing}; fetch it and try again.") }
    }

    /// An internal failure, with the context that goes to the log (never to the client).
    pub fn internal(context: impl Into<String>) -> Self {
        Self::Internal(context.into())
    }

    pub fn status(&self) -> u16 {
        match self {
            Self::BadRequest { .. } => 400,
            Self::Unauthorized | Self::FanTokenRequired(_) | Self::SignInRequired(_) => 401,
            Self::PaymentRequired { .. } => 402,
            Self::Forbidden { .. } => 403,
            Self::NotFound(_) => 404,
            Self::MethodNotAllowed => 405,
            Self::Conflict { .. } => 409,
            Self::Gone { .. } => 410,
            Self::PayloadTooLarge(_) => 413,
            Self::UnsupportedMediaType(_) => 415,
            Self::Validation(_) | Self::Rejected { .. } | Self::IdempotencyKeyReused => 422,
            Self::RateLimited { .. } | Self::QuotaExceeded(_) => 429,
            Self::Internal(_) => 500,
            Self::Upstream(_) => 502,
            Self::Unavailable(_) | Self::Misconfigured(_) => 503,
        }
    }

    /// What the caller is told (never the logged context), for a page that shows it.
    pub fn public_message(&self) -> String {
        self.body()["error"]["message"].as_str().unwrap_or_default().to_string()
    }

    fn body(&self) -> serde_json::Value {
        let (code, message): (&str, String) = match self {
            Self::BadRequest { code, message }
            | Self::Conflict { code, message }
            | Self::Gone { code, message }
            | Self::PaymentRequired { code, message }
            | Self::Forbidden { code, message } => (code, message.clone()),
            Self::QuotaExceeded(m) => ("quota_exceeded", m.clone()),
            Self::FanTokenRequired(m) => ("fan_token_required", m.clone()),
            Self::Unauthorized => ("unauthorized", "A valid creator API key is required (Authorization: Bearer <key>).".into()),
            Self::NotFound(what) => ("not_found", format!("No such {what}.")),
            Self::MethodNotAllowed => ("method_not_allowed", "This endpoint does not take that method.".into()),
            Self::PayloadTooLarge(m) => ("payload_too_large", m.clone()),
            Self::IdempotencyKeyReused => {
                ("idempotency_key_reused", "This Idempotency-Key was already used for a different request; use a new key for each new request.".into())
            }
            Self::UnsupportedMediaType(m) => ("unsupported_media_type", m.clone()),
            Self::Validation(errors) => return json!({"error": {"code": "validation_failed", "message": "Some fields need attention.", "fields": errors}}),
            Self::SignInRequired(links) => return json!({"error": {"code": "sign_in_required", "message": "Sign in to send this request.", "sign_in": links}}),
            Self::Rejected { request_id } => {
                return json!({"error": {"code": "request_rejected", "message": "This request cannot be accepted.", "request_id": request_id}})
            }
            Self::RateLimited { retry_after_secs, .. } => ("rate_limited", format!("Too many requests; try again in {retry_after_secs} seconds.")),
            Self::Upstream(_) => ("upstream_unavailable", "A payment or delivery service did not answer; please try again.".into()),
            Self::Unavailable(m) => ("unavailable", m.clone()),
            Self::Misconfigured(_) => ("not_configured", "This service is not fully set up yet; its operator has been told. Please try again later.".into()),
            Self::Internal(_) => ("internal", "Something went wrong on our side; please try again.".into()),
        };
        json!({"error": {"code": code, "message": message}})
    }

    pub fn into_response(self) -> Response {
        if let Self::Internal(detail) | Self::Upstream(detail) | Self::Misconfigured(detail) = &self {
            console_error!("{}: {detail}", self.status());
        }
        let status = self.status();
        let mut response = super::http::json(status, &self.body());
        if let Self::RateLimited { policy, retry_after_secs, policy_header } = &self {
            let headers = response.headers_mut();
            let _ = headers.set("Retry-After", &retry_after_secs.to_string());
            let _ = headers.set("RateLimit", &format!("\"{policy}\";r=0;t={retry_after_secs}"));
            if let Some(policy_header) = policy_header {
                let _ = headers.set("RateLimit-Policy", policy_header);
            }
        }
        response
    }
}

impl From<worker::Error> for ApiError {
    fn from(e: worker::Error) -> Self {
        Self::Internal(e.to_string())
    }
}

impl From<serde_json::Error> for ApiError {
    fn from(e: serde_json::Error) -> Self {
        Self::Internal(format!("json: {e}"))
    }
}

impl std::fmt::Display for ApiError {
    /// What the log shows: the status, the code and any context kept from the client.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let body = self.body();
        write!(f, "{} {}", self.status(), body["error"]["code"].as_str().unwrap_or(""))?;
        match self {
            Self::Internal(detail) | Self::Upstream(detail) | Self::Misconfigured(detail) | Self::Unavailable(detail) => write!(f, ": {detail}"),
            _ => Ok(()),
        }
    }
}

impl std::error::Error for ApiError {}

pub type ApiResult<T> = Result<T, ApiError>;
