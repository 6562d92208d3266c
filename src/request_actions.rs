//! The creator's actions on an app's requests (complete, close, accept, decline, approve,
//! reject, refund) and the creator's export of an app, answered by the hub at the app's own
//! URLs. They need D1, the queue, the payment providers and the app's manifest, all of which
//! the hub has; answered here, they are compiled once, into the hub, instead of into every app
//! Worker (about 20 KB gzipped each, measured in docs/performance.md).

use crate::app_link::registered;
use fanline_edge::app::creator::{self, Decision};
use fanline_edge::app::export;
use fanline_edge::platform::error::{ApiError, ApiResult};
use fanline_edge::platform::http::api_answer;
use fanline_edge::review::ReviewDecision;
use worker::{Env, Request, Response};

/// What `POST /apps/<slug>/api/requests/<id>/<action>` asks for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Complete,
    Close,
    Refund,
    Decide(Decision),
    Review(ReviewDecision),
}

impl Action {
    /// The action a path segment names; any other segment (a fan's rating) is the app's own.
    pub fn named(segment: &str) -> Option<Self> {
        Some(match segment {
            "complete" => Self::Complete,
            "close" => Self::Close,
            "refund" => Self::Refund,
            "accept" => Self::Decide(Decision::Accept),
            "decline" => Self::Decide(Decision::Decline),
            "approve" => Self::Review(ReviewDecision::Approve),
            "reject" => Self::Review(ReviewDecision::Reject),
            _ => return None,
        })
    }

    /// The path segment that names this action.
    pub fn name(self) -> &'static str {
        match self {
            Self::Complete => "complete",
            Self::Close => "close",
            Self::Refund => "refund",
            Self::Decide(Decision::Accept) => "accept",
            Self::Decide(Decision::Decline) => "decline",
            Self::Review(ReviewDecision::Approve) => "approve",
            Self::Review(ReviewDecision::Reject) => "reject",
        }
    }
}

pub async fn act(req: Request, env: &Env, slug: &str, id: &str, action: Action) -> ApiResult<Response> {
    let answer = async {
        let manifest = registered(env, slug).await?;
        match action {
            Action::Complete => creator::complete(req, env, &manifest, id).await,
            Action::Close => creator::close(req, env, &manifest, id).await,
            Action::Refund => creator::refund(req, env, &manifest, id).await,
            Action::Decide(decision) => creator::decide(req, env, &manifest, id, decision).await,
            Action::Review(decision) => creator::review(req, env, &manifest, id, decision).await,
        }
    };
    Ok(api_answer(answer.await.unwrap_or_else(ApiError::into_response)))
}

/// `GET /apps/<slug>/api/export`.
pub async fn export(req: &Request, env: &Env, slug: &str) -> ApiResult<Response> {
    let answer = async {
        let manifest = registered(env, slug).await?;
        export::app_export(req, env, &manifest).await
    };
    Ok(api_answer(answer.await.unwrap_or_else(ApiError::into_response)))
}
