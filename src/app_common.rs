//! What every app answers alike at its URLs, answered by the hub: the pages (form, embed page
//! and script, public manifest), a request's status and its rating, a fan's own data, a
//! request's evidence and attachments, whether the app is taking requests, an auction app's
//! auctions (listing, showing, and the creator opening one: bids are intake, in the app), a
//! fan's credits and tier (buying packs and tiers, and cancelling the tier), every sign-in step
//! (with the marketplace's OAuth clients and the shared `SESSION_SECRET`), and where PayPal
//! sends a fan back after approving a payment (the capture, for apps that take PayPal). What
//! costs mail or a Checkout Session passes the hub's per-client limiter, keyed by app.
//! They read or change what intake stored and need D1, R2 and the app's manifest, all of which
//! the hub has; answered here, they are compiled once, into the hub, instead of into every app
//! Worker, which keeps only intake and what its manifest's optional parts add to it
//! (docs/performance.md measures what this saves).

use crate::app_link::{self, recently_registered};
use crate::shared_copies;
use fanline_core::manifest::{Feature, Manifest};
use fanline_edge::app::page::{Page, Pages};
use fanline_edge::app::{evidence, export, part_not_used, view};
use fanline_edge::money::{auctions, credits, paypal, tiers};
use fanline_edge::platform::error::{ApiError, ApiResult};
use fanline_edge::platform::http::api_answer;
use fanline_edge::trust::{fans, limits, signin};
use worker::{Env, Method, Request, Response};

/// One of the app's API routes the hub answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommonRoute<'a> {
    /// `GET api/requests/<id>`
    Request(&'a str),
    /// `POST api/requests/<id>/rating`
    Rating(&'a str),
    /// `GET api/me/data`
    FanData,
    /// `DELETE api/me/data`
    FanErase,
    /// `GET api/requests/<id>/evidence`
    Evidence(&'a str),
    /// `GET api/requests/<id>/attachments/<field>`
    Attachment(&'a str, &'a str),
    /// `GET api/status`
    Status,
    /// `GET api/auctions`
    Auctions,
    /// `POST api/auctions` (the creator)
    OpenAuction,
    /// `GET api/auctions/<id>`
    Auction(&'a str),
    /// `GET api/me`: a fan's credits, purchases and tier
    FanAccount,
    /// `POST api/tiers/cancel`
    CancelTier,
    /// `GET api/session`: who is signed in
    Session,
    /// `POST api/session`: a sign-in popup's token traded for a session
    TradeSession,
    /// `POST` or `DELETE api/me/links`: a sign-in linked to (or unlinked from) a fan
    LinkSignIn { unlink: bool },
    /// `POST auth/logout`
    SignOut,
    /// `POST auth/email/start`: a sign-in link mailed to a fan
    EmailSignIn,
    /// `POST auth/email/confirm`: the link's page signs the fan in
    EmailConfirm,
    /// `POST api/credits/checkout`: a fan buys a credit pack
    BuyCredits,
    /// `POST api/tiers/checkout`: a fan subscribes to a tier
    BuyTier,
}

impl<'a> CommonRoute<'a> {
    /// The optional part of a manifest this route belongs to: an app without it answers 404.
    fn part(self) -> Option<Feature> {
        match self {
            Self::Auctions | Self::OpenAuction | Self::Auction(_) => Some(Feature::Auctions),
            Self::FanAccount | Self::CancelTier | Self::BuyCredits | Self::BuyTier => Some(Feature::Credits),
            Self::Session | Self::TradeSession | Self::LinkSignIn { .. } | Self::SignOut | Self::EmailSignIn | Self::EmailConfirm => Some(Feature::SignIn),
            _ => None,
        }
    }

    /// Whether this route costs the platform mail or a Checkout Session, and so passes the
    /// hub's per-client limiter (`limits::per_client_of`), which its answers announce.
    fn limited(self) -> bool {
        matches!(self, Self::EmailSignIn | Self::BuyCredits | Self::BuyTier)
    }

    /// The route at this path under `/apps/<slug>/`, if it is one of these.
    pub fn at(rest: &[&'a str], method: &Method) -> Option<Self> {
        Some(match (rest, method) {
            (["api", "requests", id], Method::Get) => Self::Request(id),
            (["api", "requests", id, "rating"], Method::Post) => Self::Rating(id),
            (["api", "me", "data"], Method::Get) => Self::FanData,
            (["api", "me", "data"], Method::Delete) => Self::FanErase,
            (["api", "requests", id, "evidence"], Method::Get) => Self::Evidence(id),
            (["api", "requests", id, "attachments", field], Method::Get) => Self::Attachment(id, field),
            (["api", "status"], Method::Get) => Self::Status,
            (["api", "auctions"], Method::Get) => Self::Auctions,
            (["api", "auctions"], Method::Post) => Self::OpenAuction,
            (["api", "auctions", id], Method::Get) => Self::Auction(id),
            (["api", "me"], Method::Get) => Self::FanAccount,
            (["api", "tiers", "cancel"], Method::Post) => Self::CancelTier,
            (["api", "session"], Method::Get) => Self::Session,
            (["api", "session"], Method::Post) => Self::TradeSession,
            (["api", "me", "links"], Method::Post) => Self::LinkSignIn { unlink: false },
            (["api", "me", "links"], Method::Delete) => Self::LinkSignIn { unlink: true },
            (["auth", "logout"], Method::Post) => Self::SignOut,
            (["auth", "email", "start"], Method::Post) => Self::EmailSignIn,
            (["auth", "email", "confirm"], Method::Post) => Self::EmailConfirm,
            (["api", "credits", "checkout"], Method::Post) => Self::BuyCredits,
            (["api", "tiers", "checkout"], Method::Post) => Self::BuyTier,
            _ => return None,
        })
    }
}

pub async fn answer(req: Request, env: &Env, slug: &str, route: CommonRoute<'_>) -> ApiResult<Response> {
    let answer = async {
        // A purchase moves money, so it goes by the manifest as registered now.
        let manifest = if route.limited() { app_link::registered(env, slug).await? } else { recently_registered(env, slug).await?.manifest()? };
        let manifest = &*manifest;
        uses(manifest, route.part())?;
        match route {
            CommonRoute::Request(id) => view::show(&req, env, manifest, id).await,
            CommonRoute::Rating(id) => view::rate(req, env, manifest, id).await,
            CommonRoute::FanData => export::fan_export(&req, env, manifest).await,
            CommonRoute::FanErase => export::fan_erase(&req, env, manifest).await,
            CommonRoute::Evidence(id) => evidence::evidence(&req, env, manifest, id).await,
            CommonRoute::Attachment(id, field) => evidence::attachment_file(&req, env, manifest, id, field).await,
            CommonRoute::Status => limits::status(env, manifest).await,
            CommonRoute::Auctions => auctions::list(env, manifest).await,
            CommonRoute::OpenAuction => auctions::open(req, env, manifest).await,
            CommonRoute::Auction(id) => auctions::show(env, manifest, id).await,
            CommonRoute::FanAccount => credits::me(&req, env, manifest).await,
            CommonRoute::CancelTier => tiers::cancel(&req, env, manifest).await,
            CommonRoute::Session => signin::session(&req, env, manifest),
            CommonRoute::TradeSession => signin::exchange(req, env, manifest).await,
            CommonRoute::LinkSignIn { unlink } => fans::link(&req, env, manifest, unlink).await,
            CommonRoute::SignOut => signin::logout(&req, manifest),
            CommonRoute::EmailSignIn => signin::email_start(req, env, manifest).await,
            CommonRoute::EmailConfirm => signin::email_confirm(req, env, manifest).await,
            CommonRoute::BuyCredits => credits::checkout(req, env, manifest).await,
            CommonRoute::BuyTier => tiers::checkout(req, env, manifest).await,
        }
    };
    let mut answer = answer.await.unwrap_or_else(ApiError::into_response);
    if route.limited() {
        answer = limits::announce(env, &[limits::FAN_ACCOUNT_LIMITER], answer);
    }
    // Signing out and in are the app's own pages' actions, not the request API.
    Ok(if matches!(route, CommonRoute::SignOut | CommonRoute::EmailConfirm) { answer } else { api_answer(answer) })
}

/// Refuses a route of an optional part the app's manifest does not use, as its Worker would.
fn uses(manifest: &Manifest, part: Option<Feature>) -> ApiResult<()> {
    match part {
        Some(part) if !manifest.features().contains(&part) => Err(part_not_used(part)),
        _ => Ok(()),
    }
}

/// `GET /auth/<provider>/callback`: the marketplace's one OAuth callback per provider finishes
/// a sign-in for the app it was started at (its state names the app).
pub async fn sign_in_callback(req: Request, env: &Env, provider: &str) -> ApiResult<Response> {
    let returned = signin::returned(&req, env, provider).await?;
    let app = recently_registered(env, returned.app_slug()).await?;
    let manifest = &*app.manifest()?;
    uses(manifest, Some(Feature::SignIn))?;
    signin::finish(&req, env, manifest, returned).await
}

/// A GET of a page every fan gets alike (anything outside the app's `api/`, which depends on
/// who asks) that the entry holds no fresh copy of: answered (the app's pages, the sign-in
/// steps and the PayPal return) and kept when its answer says a shared cache may keep it (a
/// sign-in step's never does).
pub async fn shared_page(req: Request, env: &Env, slug: &str, rest: &[&str]) -> ApiResult<Response> {
    let key = shared_copies::key(&req);
    let answer = match (Page::at(rest), rest) {
        (Some(page), _) => {
            let app = recently_registered(env, slug).await?;
            Pages::new(&app.manifest, &*app.manifest()?).answer(&req, page)?
        }
        (None, ["auth", "popup" | "popup.js"] | ["auth", _, "start" | "confirm"]) => {
            let app = recently_registered(env, slug).await?;
            let manifest = &*app.manifest()?;
            uses(manifest, Some(Feature::SignIn))?;
            match rest {
                ["auth", "popup"] => signin::popup_page(&req, env, manifest)?,
                ["auth", "popup.js"] => signin::popup_script(),
                ["auth", "email", "confirm"] => signin::email_confirm_page(&req, env, manifest).await?,
                ["auth", provider, "start"] => signin::start(&req, env, manifest, provider).await?,
                _ => return Err(ApiError::NotFound("route")),
            }
        }
        // Money moves here, so it goes by the manifest as registered now; never kept (no-store).
        (None, ["paypal", "return"]) => {
            let manifest = app_link::registered(env, slug).await?;
            uses(&manifest, Some(Feature::Paypal))?;
            paypal::approval_return(&req, env, &manifest).await?
        }
        (None, _) => app_link::call(req, env, slug).await?,
    };
    shared_copies::keep(&key, answer).await
}
