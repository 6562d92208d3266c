//! The intake decision, in one place: given a validated submission and what the Worker looked
//! up (the fan's tier, a block-list hit, the form's signals), which states the request walks
//! through, what it costs, how it is paid, and what moderation said. The Worker
//! gathers those inputs and performs the plan; nothing else decides or changes a price.

use crate::intake::submission::{Payment, Submission};
use crate::lifecycle::Status;
use crate::manifest::{Manifest, Provider, Tier};
use crate::money::PaymentProvider;
use crate::trust::client::BlockKind;
use crate::trust::moderation::{self, Decision, Reason, Signals, Verdict};

/// What intake knows besides the submission.
pub struct Inputs<'a> {
    pub manifest: &'a Manifest,
    /// The honeypot and the fill time the form reported.
    pub signals: Signals<'a>,
    /// The kind of the creator's block-list entry that matched (`ip`, `email` or `fan`).
    pub blocked: Option<BlockKind>,
    /// The fan's live subscriber tier at this app.
    pub tier: Option<&'a Tier>,
    /// Whether the request came with a known fan token (needed to spend credits).
    pub has_fan: bool,
}

/// Where the fan goes to pay, when the request waits for a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checkout {
    Stripe,
    Paypal,
}

#[derive(Debug, Clone)]
pub struct IntakePlan {
    /// The submission priced as the fan will be charged (tier discount, credits applied).
    pub submission: Submission,
    pub verdict: Verdict,
    /// Every state from `created` to where the request rests after intake.
    pub path: Vec<Status>,
    pub provider: PaymentProvider,
    /// Credits spent from the fan's balance in the intake batch.
    pub credits: Option<u32>,
    pub checkout: Option<Checkout>,
    /// Goes ahead of the queue (a priority subscriber tier).
    pub priority: bool,
}

impl IntakePlan {
    /// The state the request rests in after intake.
    pub fn status(&self) -> Status {
        *self.path.last().unwrap_or(&Status::Created)
    }

    pub fn blocked(&self) -> bool {
        self.verdict.decision == Decision::Block
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanError {
    /// Paying with credits needs the fan's token: without it there is no balance.
    FanTokenRequired,
}

/// Whether the app wants the fan signed in before sending this submission.
pub fn sign_in_required(manifest: &Manifest, submission: &Submission, signed_in: bool) -> bool {
    manifest.identity.as_ref().and_then(|rules| rules.required_from).is_some_and(|from| !signed_in && submission.price().amount >= from)
}

pub fn plan(mut submission: Submission, inputs: &Inputs) -> Result<IntakePlan, PlanError> {
    let manifest = inputs.manifest;
    if let Some(tier) = inputs.tier {
        submission.discount(tier.discount_bps, &format!("{} -{}%", tier.label, f64::from(tier.discount_bps) / 100.0));
    }
    let mut verdict = moderation::moderate(&manifest.moderation, &submission.text(), &inputs.signals);
    if let Some(kind) = inputs.blocked {
        verdict.decision = Decision::Block;
        verdict.reasons.push(Reason { rule: "blocklist", field: "*".into(), detail: kind.as_str().into() });
    }
    let mut path = intake_path(verdict.decision, submission.payment() != Payment::Free);
    // Credits pay at once, so the request skips checkout.
    let credits = match (submission.payment(), path.last()) {
        (Payment::Credits(n), Some(Status::AwaitingPayment)) => {
            if !inputs.has_fan {
                return Err(PlanError::FanTokenRequired);
            }
            path.pop();
            path.extend(after_payment(verdict.decision, false));
            submission.paid_with_credits(format!("{} (paid with {n} credit{})", manifest.title, if n == 1 { "" } else { "s" }));
            Some(n)
        }
        _ => None,
    };
    let provider = match submission.payment() {
        Payment::Free => PaymentProvider::None,
        Payment::Credits(_) => PaymentProvider::Credits,
        Payment::Provider(Provider::Stripe) => PaymentProvider::Stripe,
        Payment::Provider(Provider::Paypal) => PaymentProvider::Paypal,
    };
    let checkout = match (path.last(), submission.payment()) {
        (Some(Status::AwaitingPayment), Payment::Provider(Provider::Paypal)) => Some(Checkout::Paypal),
        (Some(Status::AwaitingPayment), _) => Some(Checkout::Stripe),
        _ => None,
    };
    // A priority add-on is paid for like any line; a priority tier is paid for by subscribing.
    let priority = inputs.tier.is_some_and(|t| t.priority) || submission.add_ons().iter().any(|a| a.priority);
    Ok(IntakePlan { submission, verdict, path, provider, credits, checkout, priority })
}

/// The states a new request passes through at intake, from its moderation decision and price.
/// A paid request that needs review is paid for first and reviewed after (`after_payment`), so
/// the creator decides with the money held and paid never means published.
pub fn intake_path(decision: Decision, paid: bool) -> Vec<Status> {
    use Status::*;
    match decision {
        Decision::Block => vec![Created, Rejected],
        Decision::Review if !paid => vec![Created, HeldForReview],
        Decision::Review | Decision::Allow if paid => vec![Created, Validated, AwaitingPayment],
        Decision::Review | Decision::Allow => vec![Created, Validated, Queued],
    }
}

/// Where a paid request goes once its payment is in: the queue, or review when moderation
/// asked for it. `held` is a card authorization rather than a charge.
pub fn after_payment(decision: Decision, held: bool) -> [Status; 2] {
    let paid = if held { Status::Authorized } else { Status::Paid };
    match decision {
        Decision::Review => [paid, Status::HeldForReview],
        _ => [paid, Status::Queued],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intake::submission::{validate, RawSubmission};
    use crate::manifest::tests::SONG;
    use serde_json::json;
    use Status::*;

    fn manifest(edit: impl FnOnce(&mut serde_json::Value)) -> Manifest {
        let mut value: serde_json::Value = serde_json::from_str(SONG).unwrap();
        edit(&mut value);
        Manifest::parse(&value.to_string()).unwrap()
    }

    fn raw(fields: serde_json::Value, add_ons: &[&str], pay_with: Option<&str>) -> RawSubmission {
        RawSubmission {
            fields: fields.as_object().cloned().unwrap_or_default(),
            add_ons: add_ons.iter().map(|a| a.to_string()).collect(),
            pay_with: pay_with.map(str::to_string),
            ..RawSubmission::default()
        }
    }

    fn song(text: &str) -> serde_json::Value {
        json!({"song": text, "email": "fan@example.com"})
    }

    fn inputs(manifest: &Manifest) -> Inputs<'_> {
        Inputs { manifest, signals: Signals::default(), blocked: None, tier: None, has_fan: false }
    }

    #[test]
    fn intake_paths_are_legal() {
        for decision in [Decision::Allow, Decision::Review, Decision::Block] {
            for paid in [false, true] {
                let path = intake_path(decision, paid);
                assert_eq!(path[0], Created);
                assert!(Created.walk(&path[1..]).is_ok(), "{path:?}");
            }
        }
    }

    #[test]
    fn paid_requests_needing_review_are_paid_then_held() {
        assert_eq!(intake_path(Decision::Review, true), [Created, Validated, AwaitingPayment]);
        assert_eq!(after_payment(Decision::Review, true), [Authorized, HeldForReview]);
        assert_eq!(after_payment(Decision::Allow, false), [Paid, Queued]);
        assert_eq!(AwaitingPayment.walk(&after_payment(Decision::Review, false)), Ok(HeldForReview));
    }

    #[test]
    fn a_paid_song_waits_for_stripe_and_a_free_one_is_queued() {
        let m = manifest(|_| {});
        let paid = validate(&m, &raw(song("Wonderwall"), &["priority"], None)).unwrap();
        let plan = plan(paid, &inputs(&m)).unwrap();
        assert_eq!(plan.path, [Created, Validated, AwaitingPayment]);
        assert_eq!((plan.checkout, plan.provider), (Some(Checkout::Stripe), PaymentProvider::Stripe));
        assert_eq!(plan.submission.price().amount, 300);

        let by_paypal = validate(&m, &raw(song("Wonderwall"), &["priority"], Some("paypal"))).unwrap();
        let plan = super::plan(by_paypal, &inputs(&m)).unwrap();
        assert_eq!((plan.checkout, plan.provider), (Some(Checkout::Paypal), PaymentProvider::Paypal));

        let free = validate(&m, &raw(song("Wonderwall"), &[], None)).unwrap();
        let plan = super::plan(free, &inputs(&m)).unwrap();
        assert_eq!((plan.status(), plan.checkout, plan.provider), (Queued, None, PaymentProvider::None));
    }

    #[test]
    fn a_block_list_hit_blocks_whatever_moderation_said() {
        let m = manifest(|_| {});
        let submission = validate(&m, &raw(song("Wonderwall"), &["priority"], None)).unwrap();
        let plan = plan(submission, &Inputs { blocked: Some(BlockKind::Email), ..inputs(&m) }).unwrap();
        assert!(plan.blocked());
        assert_eq!(plan.path, [Created, Rejected]);
        assert_eq!(plan.checkout, None);
        assert_eq!(plan.verdict.reasons.last().map(|r| (r.rule, r.detail.as_str())), Some(("blocklist", "email")));
    }

    #[test]
    fn a_priority_tier_discounts_and_goes_first() {
        let m = manifest(|_| {});
        let submission = validate(&m, &raw(song("Wonderwall"), &["priority"], None)).unwrap();
        let plan = plan(submission, &Inputs { tier: m.tier("fan_club"), has_fan: true, ..inputs(&m) }).unwrap();
        assert!(plan.priority);
        assert_eq!(plan.submission.price().amount, 225);
        assert!(plan.submission.lines()[0].label.contains("Fan club -25%"), "{:?}", plan.submission.lines());
    }

    #[test]
    fn a_paid_priority_add_on_goes_first_and_a_plain_request_does_not() {
        let m = manifest(|_| {});
        let paid = validate(&m, &raw(song("Wonderwall"), &["priority"], None)).unwrap();
        assert!(plan(paid, &inputs(&m)).unwrap().priority);
        let plain = validate(&m, &raw(song("Wonderwall"), &[], None)).unwrap();
        assert!(!plan(plain, &inputs(&m)).unwrap().priority);
        let not_priority = manifest(|v| v["pricing"]["add_ons"][0]["priority"] = false.into());
        let paid = validate(&not_priority, &raw(song("Wonderwall"), &["priority"], None)).unwrap();
        assert!(!plan(paid, &inputs(&not_priority)).unwrap().priority);
    }

    #[test]
    fn credits_skip_checkout_and_need_the_fan() {
        let m = manifest(|_| {});
        let submission = validate(&m, &raw(song("Wonderwall"), &["priority"], Some("credits"))).unwrap();
        assert_eq!(plan(submission, &inputs(&m)).unwrap_err(), PlanError::FanTokenRequired);
        let submission = validate(&m, &raw(song("Wonderwall"), &["priority"], Some("credits"))).unwrap();
        let plan = plan(submission, &Inputs { has_fan: true, ..inputs(&m) }).unwrap();
        assert_eq!(plan.path, [Created, Validated, Paid, Queued]);
        assert!(Created.walk(&plan.path[1..]).is_ok(), "the history intake writes is a legal walk");
        assert_eq!((plan.credits, plan.checkout, plan.provider), (Some(1), None, PaymentProvider::Credits));
        assert_eq!(plan.submission.price().amount, 0);
        assert_eq!(plan.submission.lines().len(), 1);
    }

    #[test]
    fn review_keeps_a_free_request_out_of_the_queue_and_a_paid_one_waits_for_payment() {
        let m = manifest(|_| {});
        let free = validate(&m, &raw(song("an explicit song"), &[], None)).unwrap();
        assert_eq!(plan(free, &inputs(&m)).unwrap().path, [Created, HeldForReview]);
        let paid = validate(&m, &raw(song("an explicit song"), &["priority"], None)).unwrap();
        assert_eq!(plan(paid, &inputs(&m)).unwrap().path, [Created, Validated, AwaitingPayment]);
    }
}
