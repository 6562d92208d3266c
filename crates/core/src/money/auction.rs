//! Live auctions for scarce slots: what a new bid must reach, when a late bid pushes the end
//! back (anti-sniping), and who wins at the close. Times are Unix milliseconds.

use serde::{Deserialize, Serialize};

/// A bid whose payment is held, so it counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bid {
    pub id: String,
    pub amount: u64,
    pub placed_at: i64,
}

/// Highest first; between equal bids the earlier one ranks higher.
fn ranked(bids: &[Bid]) -> Vec<&Bid> {
    let mut ranked: Vec<&Bid> = bids.iter().collect();
    ranked.sort_by(|a, b| b.amount.cmp(&a.amount).then(a.placed_at.cmp(&b.placed_at)).then(a.id.cmp(&b.id)));
    ranked
}

/// The least a new bid may be: the starting bid while a slot is free, otherwise the lowest
/// winning bid plus the increment.
pub fn minimum_bid(rules: &AuctionRules, slots: u32, held: &[Bid]) -> u64 {
    let ranked = ranked(held);
    match ranked.get(slots.saturating_sub(1) as usize) {
        Some(lowest_winning) if slots > 0 => lowest_winning.amount.saturating_add(rules.min_increment).max(rules.starting_bid),
        _ => rules.starting_bid,
    }
}

/// The auction's end after a bid whose hold landed at `held_at`: a hold inside the last
/// `anti_snipe_secs` moves the end to that long after it, so nobody wins by bidding at the
/// last instant; all extensions together stop at `scheduled_end + max_extension_secs`.
/// Only held bids call this: an unpaid or refused bid never moves the end.
pub fn extended_end(rules: &AuctionRules, scheduled_end: i64, ends_at: i64, held_at: i64) -> i64 {
    let window = i64::from(rules.anti_snipe_secs) * 1000;
    let cap = scheduled_end.saturating_add(i64::from(rules.max_extension_secs) * 1000);
    if held_at < ends_at && ends_at - held_at < window {
        (held_at + window).min(cap).max(ends_at)
    } else {
        ends_at
    }
}

/// The winning bids' ids (up to `slots`), then every other bid's. Bids the creator accepted
/// early were captured then, so they keep their slots; the highest other bids fill the rest.
pub fn outcome(slots: u32, accepted: &[Bid], held: &[Bid]) -> (Vec<String>, Vec<String>) {
    let slots = slots as usize;
    let mut won: Vec<String> = ranked(accepted).iter().take(slots).map(|b| b.id.clone()).collect();
    let mut lost: Vec<String> = ranked(accepted).iter().skip(slots).map(|b| b.id.clone()).collect();
    let ranked = ranked(held);
    let (more, rest) = ranked.split_at(slots.saturating_sub(won.len()).min(ranked.len()));
    won.extend(more.iter().map(|b| b.id.clone()));
    lost.extend(rest.iter().map(|b| b.id.clone()));
    (won, lost)
}

/// Where an auction is: taking bids, being settled by a closer (which holds a lease), or done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuctionStatus {
    Open,
    Closing,
    Closed,
}

impl AuctionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Closing => "closing",
            Self::Closed => "closed",
        }
    }
}

/// The manifest's `auction` section: how bids rise and how late bids move the end.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AuctionRules {
    /// The lowest first bid, in minor units.
    pub starting_bid: u64,
    /// Once every slot has a bid, a new bid must beat the lowest winning one by this much.
    pub min_increment: u64,
    /// A bid placed this close to the end pushes the end to this long after the bid.
    pub anti_snipe_secs: u32,
    /// The most all late bids together may push the end back (default 600 s), so card holds
    /// placed at the start stay valid until the close.
    #[serde(default = "default_max_extension_secs")]
    pub max_extension_secs: u32,
}

fn default_max_extension_secs() -> u32 {
    600
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: AuctionRules = AuctionRules { starting_bid: 1000, min_increment: 100, anti_snipe_secs: 60, max_extension_secs: 600 };

    fn bid(id: &str, amount: u64, placed_at: i64) -> Bid {
        Bid { id: id.into(), amount, placed_at }
    }

    #[test]
    fn the_minimum_rises_once_every_slot_is_taken() {
        assert_eq!(minimum_bid(&RULES, 2, &[]), 1000);
        assert_eq!(minimum_bid(&RULES, 2, &[bid("a", 1500, 1)]), 1000);
        assert_eq!(minimum_bid(&RULES, 2, &[bid("a", 1500, 1), bid("b", 1200, 2)]), 1300);
        assert_eq!(minimum_bid(&RULES, 2, &[bid("a", 1500, 1), bid("b", 1200, 2), bid("c", 1400, 3)]), 1500);
        assert_eq!(minimum_bid(&RULES, 0, &[bid("a", 1500, 1)]), 1000);
        assert_eq!(minimum_bid(&RULES, 1, &[bid("a", u64::MAX, 1)]), u64::MAX);
    }

    #[test]
    fn late_bids_push_the_end_back() {
        let end = 1_000_000;
        assert_eq!(extended_end(&RULES, end, end, end - 120_000), end);
        assert_eq!(extended_end(&RULES, end, end, end - 60_000), end);
        assert_eq!(extended_end(&RULES, end, end, end - 59_999), end - 59_999 + 60_000);
        assert_eq!(extended_end(&RULES, end, end, end - 1), end - 1 + 60_000);
        assert_eq!(extended_end(&RULES, end, end, end), end, "a bid at or after the end changes nothing; it is refused");
    }

    #[test]
    fn extensions_stop_at_the_cap() {
        let scheduled = 1_000_000;
        let cap = scheduled + 600_000;
        let mut ends_at = scheduled;
        // A bidder who keeps bidding in the last second moves the end at most ten minutes.
        for _ in 0..100 {
            let next = extended_end(&RULES, scheduled, ends_at, ends_at - 1_000);
            assert!(next <= cap && next >= ends_at);
            ends_at = next;
        }
        assert_eq!(ends_at, cap);
        assert_eq!(extended_end(&RULES, scheduled, cap, cap - 1), cap);
    }

    #[test]
    fn accepted_bids_keep_their_slots() {
        let accepted = [bid("a", 1000, 1)];
        let held = [bid("b", 1500, 2), bid("c", 1200, 3)];
        assert_eq!(outcome(1, &accepted, &held), (vec!["a".to_string()], vec!["b".to_string(), "c".to_string()]));
        assert_eq!(outcome(2, &accepted, &held), (vec!["a".to_string(), "b".to_string()], vec!["c".to_string()]));
        assert_eq!(outcome(0, &accepted, &held).0, Vec::<String>::new());
    }

    #[test]
    fn highest_bids_win_and_ties_go_to_the_earlier_bid() {
        let bids = [bid("a", 1200, 3), bid("b", 1500, 2), bid("c", 1200, 1), bid("d", 1100, 0)];
        assert_eq!(outcome(2, &[], &bids), (vec!["b".to_string(), "c".to_string()], vec!["a".to_string(), "d".to_string()]));
        assert_eq!(outcome(5, &[], &bids).1, Vec::<String>::new());
        assert_eq!(outcome(0, &[], &bids).0, Vec::<String>::new());
    }
}
