//! An app's place in its lifecycle: draft, live, paused, invite-only or archived (sunset), and
//! what each state lets a fan do. The state is the creator's to change (console, API or
//! command line); each change is an event with who and why.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppState {
    /// Only the creator opens and tests it (through a preview link); its requests are tests.
    Draft,
    Live,
    /// The form says so with the creator's message; new requests are refused; existing ones
    /// keep flowing.
    Paused,
    /// Not in the catalog; fans reach it through invite links the creator can revoke.
    InviteOnly,
    /// Sunset: no new requests, ever; payments still settle and webhooks still verify.
    Archived,
}

pub const ALL: [AppState; 5] = [AppState::Draft, AppState::Live, AppState::Paused, AppState::InviteOnly, AppState::Archived];

impl AppState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Live => "live",
            Self::Paused => "paused",
            Self::InviteOnly => "invite_only",
            Self::Archived => "archived",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Only live apps are in the catalog.
    pub fn listed(self) -> bool {
        self == Self::Live
    }

    /// Whether this change is allowed: an archived app stays archived (its fans were told what
    /// happens to their requests), and a change to the same state is no change.
    pub fn can_become(self, next: Self) -> Result<(), String> {
        match (self, next) {
            (a, b) if a == b => Err(format!("The app is {} already.", a.as_str())),
            (Self::Archived, _) => Err("An archived app stays archived; start a new app from its manifest instead.".into()),
            _ => Ok(()),
        }
    }
}

/// How a fan is let in, besides the public form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Access {
    /// The request carries a live invite of this app.
    pub invited: bool,
    /// The request carries the creator's preview token of this app.
    pub preview: bool,
}

/// Why intake refuses a request in this state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Draft,
    Paused,
    InviteRequired,
    Archived,
}

/// What intake may do in `state` for a fan with `access`: `Ok(true)` takes a test request
/// (a draft previewed by its creator), `Ok(false)` a real one.
pub fn admit(state: AppState, access: Access) -> Result<bool, Refusal> {
    match state {
        AppState::Live => Ok(false),
        AppState::Draft if access.preview => Ok(true),
        AppState::Draft => Err(Refusal::Draft),
        AppState::Paused => Err(Refusal::Paused),
        AppState::InviteOnly if access.invited || access.preview => Ok(false),
        AppState::InviteOnly => Err(Refusal::InviteRequired),
        AppState::Archived => Err(Refusal::Archived),
    }
}

/// What happens to the requests still open when an app is archived; the fans are told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpenRequests {
    /// The creator still fulfils them.
    Fulfil,
    /// Each is refunded in full (a held card is released, a free one declined).
    Refund,
    /// The fan is pointed at another app of the creator's to ask again; this one is declined
    /// and refunded like `Refund`.
    Move,
}

impl OpenRequests {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fulfil => "fulfil",
            Self::Refund => "refund",
            Self::Move => "move",
        }
    }

    /// What the fan's mail says happens to their request.
    pub fn fan_line(self, app_title: &str, successor: Option<(&str, &str)>) -> String {
        match (self, successor) {
            (Self::Fulfil, _) => format!("{app_title} is closing, but your request is still in the queue and will be fulfilled as promised."),
            (Self::Refund, _) => format!("{app_title} is closing and will not be able to fulfil your request. Any payment is refunded in full and any card hold released; you will not be charged."),
            (Self::Move, Some((title, url))) => format!(
                "{app_title} is closing and will not be able to fulfil your request. Any payment is refunded in full and any card hold released. The creator continues with \"{title}\": you can ask again there: {url}"
            ),
            (Self::Move, None) => Self::Refund.fan_line(app_title, None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_state_admits_whom_it_should() {
        let (nobody, invited, preview) = (Access::default(), Access { invited: true, preview: false }, Access { invited: false, preview: true });
        assert_eq!(admit(AppState::Live, nobody), Ok(false));
        assert_eq!(admit(AppState::Draft, nobody), Err(Refusal::Draft));
        assert_eq!(admit(AppState::Draft, invited), Err(Refusal::Draft), "an invite does not open a draft");
        assert_eq!(admit(AppState::Draft, preview), Ok(true), "the creator's preview is a test request");
        assert_eq!(admit(AppState::Paused, preview), Err(Refusal::Paused));
        assert_eq!(admit(AppState::InviteOnly, nobody), Err(Refusal::InviteRequired));
        assert_eq!(admit(AppState::InviteOnly, invited), Ok(false));
        assert_eq!(admit(AppState::Archived, invited), Err(Refusal::Archived));
    }

    #[test]
    fn states_round_trip_and_archived_is_final() {
        for s in ALL {
            assert_eq!(AppState::parse(s.as_str()), Some(s));
        }
        assert_eq!(AppState::parse("deleted"), None);
        assert!(AppState::Live.can_become(AppState::Paused).is_ok());
        assert!(AppState::Live.can_become(AppState::Live).is_err());
        assert!(AppState::Archived.can_become(AppState::Live).is_err());
        assert!(AppState::Live.listed() && !AppState::InviteOnly.listed() && !AppState::Draft.listed());
    }
}
