//! An outbox row's state: what the delivery engine and the creator's delivery log agree on.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxState {
    /// Written with its state change; waiting for (another) attempt.
    Pending,
    /// Claimed by a consumer that is sending it now (the claim has a lease).
    Sending,
    Delivered,
    /// Nothing to send to (the destination is not set up); replayable once it is.
    Skipped,
    /// Out of attempts, refused as unsafe, or answered 410; replayable.
    Dead,
}

impl OutboxState {
    pub const ALL: [OutboxState; 5] = [Self::Pending, Self::Sending, Self::Delivered, Self::Skipped, Self::Dead];

    /// Still to be sent.
    pub const UNFINISHED: [OutboxState; 2] = [Self::Pending, Self::Sending];
    /// The creator may queue it again.
    pub const REPLAYABLE: [OutboxState; 2] = [Self::Skipped, Self::Dead];

    /// `'pending', 'sending'`: a state list for an SQL `IN (...)`.
    pub fn sql_list(states: &[OutboxState]) -> String {
        states.iter().map(|s| format!("'{}'", s.as_str())).collect::<Vec<_>>().join(", ")
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sending => "sending",
            Self::Delivered => "delivered",
            Self::Skipped => "skipped",
            Self::Dead => "dead",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Still to be sent: a duplicate job for a row in any other state is acknowledged unsent.
    pub fn is_unfinished(self) -> bool {
        Self::UNFINISHED.contains(&self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_through_their_names() {
        for state in OutboxState::ALL {
            assert_eq!(OutboxState::parse(state.as_str()), Some(state));
            assert_eq!(serde_json::to_value(state).unwrap(), state.as_str());
        }
        assert_eq!(OutboxState::parse("failing"), None);
        assert_eq!(OutboxState::sql_list(&OutboxState::REPLAYABLE), "'skipped', 'dead'");
    }
}
