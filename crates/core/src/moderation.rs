//! Moderation rules: each rule that fires adds a reason, and the strictest decision wins.
//! Reasons are for the creator; the fan is never told which rule fired.

use crate::manifest::ModerationRules;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Allow,
    Review,
    Block,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reason {
    pub rule: &'static str,
    pub field: String,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub decision: Decision,
    pub reasons: Vec<Reason>,
}

pub fn moderate(rules: &ModerationRules, text_fields: &[(&str, &str)]) -> Verdict {
    let mut decision = Decision::Allow;
    let mut reasons = Vec::new();
    let mut fire = |d: Decision, rule: &'static str, field: &str, detail: String| {
        decision = decision.max(d);
        reasons.push(Reason { rule, field: field.to_string(), detail });
    };

    let mut links = 0;
    for (field, text) in text_fields {
        let words = words(text);
        for term in &rules.blocked_terms {
            if contains_phrase(&words, term) {
                fire(Decision::Block, "blocked_term", field, term.clone());
            }
        }
        for term in &rules.review_terms {
            if contains_phrase(&words, term) {
                fire(Decision::Review, "review_term", field, term.clone());
            }
        }
        links += count_links(text);
    }
    if let Some(max) = rules.max_links {
        if links > max {
            fire(Decision::Review, "too_many_links", "*", format!("{links} links, at most {max}"));
        }
    }
    Verdict { decision, reasons }
}

/// Lower-cased words; everything that is not a letter or digit separates them, so "Free-Followers!"
/// matches the phrase "free followers" and "scunthorpe" does not match "cunt".
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

fn contains_phrase(words: &[String], phrase: &str) -> bool {
    let needle = self::words(phrase);
    !needle.is_empty() && words.windows(needle.len()).any(|w| w == needle.as_slice())
}

fn count_links(text: &str) -> usize {
    text.split_whitespace()
        .filter(|w| {
            let w = w.to_ascii_lowercase();
            w.contains("http://") || w.contains("https://") || w.starts_with("www.")
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> ModerationRules {
        ModerationRules {
            blocked_terms: vec!["free followers".into()],
            review_terms: vec!["nsfw".into()],
            max_links: Some(1),
        }
    }

    #[test]
    fn allows_clean_text() {
        let v = moderate(&rules(), &[("song", "Africa by Toto")]);
        assert_eq!(v.decision, Decision::Allow);
        assert!(v.reasons.is_empty());
    }

    #[test]
    fn blocks_whole_phrases_regardless_of_case_and_punctuation() {
        let v = moderate(&rules(), &[("message", "Get FREE-followers now!!")]);
        assert_eq!(v.decision, Decision::Block);
        assert_eq!(v.reasons[0].rule, "blocked_term");
        assert_eq!(v.reasons[0].field, "message");
    }

    #[test]
    fn matches_whole_words_only() {
        let v = moderate(&rules(), &[("song", "freefollowers and nsfwx")]);
        assert_eq!(v.decision, Decision::Allow);
    }

    #[test]
    fn strictest_decision_wins_and_every_reason_is_kept() {
        let v = moderate(
            &rules(),
            &[("song", "NSFW remix"), ("message", "free followers https://a.example https://b.example")],
        );
        assert_eq!(v.decision, Decision::Block);
        let fired: Vec<_> = v.reasons.iter().map(|r| r.rule).collect();
        assert_eq!(fired, ["review_term", "blocked_term", "too_many_links"]);
    }
}
