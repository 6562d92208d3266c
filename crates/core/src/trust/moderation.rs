//! Moderation rules: each rule that fires adds a reason, and the strictest decision wins.
//! Reasons are for the creator; the fan is never told which rule fired.

use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde::Serialize;
use sha2::Sha256;

/// The manifest's `moderation` section.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModerationRules {
    /// Whole words or phrases that block a request outright.
    #[serde(default)]
    pub blocked_terms: Vec<String>,
    /// Whole words or phrases that hold a request for the creator's review.
    #[serde(default)]
    pub review_terms: Vec<String>,
    /// More links than this across all text fields holds the request for review.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_links: Option<usize>,
    /// Links to these domains (and their subdomains) do not count toward `max_links`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_link_domains: Vec<String>,
    /// Fewer characters than this across all text fields holds the request for review.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_length: Option<usize>,
    /// More characters than this across all text fields holds the request for review.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<usize>,
    /// A text field with more capital letters than this percentage (of at least 12 letters)
    /// is held for review.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_caps_percent: Option<u32>,
    /// The same character more times in a row than this is held for review.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_repeated_chars: Option<usize>,
    /// A hidden form field bots fill in; a request with it filled is blocked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub honeypot_field: Option<String>,
    /// A form sent faster than this after it was shown (per its signed token) is blocked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_fill_secs: Option<u32>,
    /// With `min_fill_secs`: hold requests that come without a form token (straight to the API)
    /// for review instead of letting them through.
    #[serde(default)]
    pub require_form_token: bool,
}

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

/// What the form tells us besides the fields: the honeypot's content and how long the fan
/// took (from a signed form token; `None` when there was no valid token).
#[derive(Debug, Clone, Default)]
pub struct Signals<'a> {
    pub honeypot: Option<&'a str>,
    pub fill_secs: Option<i64>,
}

pub fn moderate(rules: &ModerationRules, text_fields: &[(&str, &str)], signals: &Signals) -> Verdict {
    let mut decision = Decision::Allow;
    let mut reasons = Vec::new();
    let mut fire = |d: Decision, rule: &'static str, field: &str, detail: String| {
        decision = decision.max(d);
        reasons.push(Reason { rule, field: field.to_string(), detail });
    };

    if signals.honeypot.is_some_and(|h| !h.trim().is_empty()) {
        fire(Decision::Block, "honeypot", "*", "the hidden field was filled".into());
    }
    if let Some(min) = rules.min_fill_secs {
        match signals.fill_secs {
            Some(secs) if secs < i64::from(min) => fire(Decision::Block, "filled_too_fast", "*", format!("{secs} s, at least {min} s")),
            Some(_) => {}
            None if rules.require_form_token => fire(Decision::Review, "no_form_token", "*", "sent without the form's token".into()),
            None => {}
        }
    }

    let mut links = 0;
    let mut total_chars = 0;
    for (field, text) in text_fields {
        let folded = fold(text);
        for term in &rules.blocked_terms {
            if folded.iter().any(|words| contains_phrase(words, term)) {
                fire(Decision::Block, "blocked_term", field, term.clone());
            }
        }
        for term in &rules.review_terms {
            if folded.iter().any(|words| contains_phrase(words, term)) {
                fire(Decision::Review, "review_term", field, term.clone());
            }
        }
        links += count_links(text, &rules.allowed_link_domains);
        total_chars += text.chars().count();
        if let Some(max) = rules.max_repeated_chars {
            let run = longest_run(text);
            if run > max {
                fire(Decision::Review, "repeated_characters", field, format!("{run} in a row, at most {max}"));
            }
        }
        if let Some(max_pct) = rules.max_caps_percent {
            let letters: Vec<char> = text.chars().filter(|c| c.is_alphabetic()).collect();
            let caps = letters.iter().filter(|c| c.is_uppercase()).count();
            // Short shouts ("OMG", "BTS") are fine; only judge real sentences.
            if letters.len() >= 12 && caps * 100 > letters.len() * max_pct as usize {
                fire(Decision::Review, "excessive_capitals", field, format!("{}% capitals, at most {max_pct}%", caps * 100 / letters.len()));
            }
        }
    }
    if let Some(max) = rules.max_links {
        if links > max {
            fire(Decision::Review, "too_many_links", "*", format!("{links} links, at most {max}"));
        }
    }
    if let Some(min) = rules.min_length {
        if total_chars < min {
            fire(Decision::Review, "too_short", "*", format!("{total_chars} characters, at least {min}"));
        }
    }
    if let Some(max) = rules.max_length {
        if total_chars > max {
            fire(Decision::Review, "too_long", "*", format!("{total_chars} characters, at most {max}"));
        }
    }
    Verdict { decision, reasons }
}

/// Lower-cased words after folding diacritics (é -> e), full-width forms and common look-alike
/// substitutions (0 -> o, 3 -> e, @ -> a, Cyrillic а -> a, ...). `1` and `|` may stand for
/// `i` or `l`, so two readings are returned. Everything that is not a letter or digit separates
/// words, so "Free-Followers!" matches "free followers" and "scunthorpe" does not match "cunt".
pub fn fold(text: &str) -> [Vec<String>; 2] {
    let text = normalize(text);
    let read = |one: char| {
        let chars: String = text.chars().map(|c| fold_char(c, one)).collect();
        chars.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_string).collect::<Vec<_>>()
    };
    [read('i'), read('l')]
}

/// The text as a reader sees it: characters that render as nothing (soft hyphens, zero-width
/// spaces and joiners, bidi controls, variation selectors) and combining marks (the accent of
/// a decomposed `e` + U+0301) are dropped, so they cannot split or disguise a blocked word.
pub fn normalize(text: &str) -> String {
    text.chars().filter(|&c| !is_invisible(c) && !is_combining_mark(c)).collect()
}

fn is_invisible(c: char) -> bool {
    matches!(c as u32,
        0x00AD // soft hyphen
        | 0x034F // combining grapheme joiner
        | 0x061C // Arabic letter mark
        | 0x115F | 0x1160 | 0x3164 | 0xFFA0 // Hangul fillers
        | 0x17B4 | 0x17B5
        | 0x180B..=0x180F // Mongolian variation selectors and vowel separator
        | 0x200B..=0x200F // zero-width space, non-joiner, joiner; LRM, RLM
        | 0x202A..=0x202E // bidi embeddings and overrides
        | 0x2060..=0x2064 // word joiner, invisible operators
        | 0x2066..=0x206F // bidi isolates, deprecated format characters
        | 0xFE00..=0xFE0F // variation selectors
        | 0xFEFF // zero-width no-break space
        | 0xE0000..=0xE007F // tags
        | 0xE0100..=0xE01EF) // variation selectors supplement
}

fn is_combining_mark(c: char) -> bool {
    matches!(c as u32, 0x0300..=0x036F | 0x0483..=0x0489 | 0x0591..=0x05BD | 0x0610..=0x061A | 0x064B..=0x065F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F)
}

fn fold_char(c: char, one: char) -> char {
    let c = match c as u32 {
        // Full-width ASCII (Ａ, ＦＲＥＥ) to ASCII.
        0xFF01..=0xFF5E => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        _ => c,
    };
    let lower = c.to_lowercase().next().unwrap_or(c);
    match lower {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' | 'а' | 'α' | '4' | '@' => 'a',
        'ç' | 'ć' | 'č' | 'с' => 'c',
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ė' | 'ę' | 'ě' | 'е' | 'ε' | '3' => 'e',
        'ì' | 'í' | 'î' | 'ï' | 'ī' | 'į' | 'ı' | 'і' | 'ι' => 'i',
        'ñ' | 'ń' | 'ň' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'о' | 'ο' | '0' => 'o',
        'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' => 'u',
        'ý' | 'ÿ' | 'у' => 'y',
        'ś' | 'š' | 'ş' | 'ѕ' | '5' | '$' => 's',
        'ź' | 'ż' | 'ž' => 'z',
        'ł' => 'l',
        'р' | 'ρ' => 'p',
        'х' | 'χ' => 'x',
        'к' | 'κ' => 'k',
        'м' => 'm',
        'т' | 'τ' | '7' => 't',
        'в' | 'β' | '8' => 'b',
        'ß' => 's',
        '1' | '|' => one,
        other => other,
    }
}

fn contains_phrase(words: &[String], phrase: &str) -> bool {
    let needle = &fold(phrase)[0];
    !needle.is_empty() && words.windows(needle.len()).any(|w| w == needle.as_slice())
}

/// Links in the text, not counting those to an allowed domain (or a subdomain of one).
fn count_links(text: &str, allowed: &[String]) -> usize {
    text.split_whitespace()
        .filter(|w| {
            let w = w.to_ascii_lowercase();
            let Some(start) = w.find("http://").or_else(|| w.find("https://")).or_else(|| w.starts_with("www.").then_some(0)) else { return false };
            let rest = &w[start..];
            // The authority ends at the path; a `user:pass@` before the host is not the host.
            let authority = rest.split("://").nth(1).unwrap_or(rest).split(['/', '?', '#', '\\']).next().unwrap_or("");
            let host = authority.rsplit('@').next().unwrap_or("").split(':').next().unwrap_or("");
            !allowed.iter().any(|d| {
                let d = d.to_ascii_lowercase();
                host == d || host.ends_with(&format!(".{d}"))
            })
        })
        .count()
}

fn longest_run(text: &str) -> usize {
    let mut longest = 0;
    let mut run = 0;
    let mut last = None;
    for c in text.chars().filter(|c| !c.is_whitespace()) {
        run = if Some(c) == last { run + 1 } else { 1 };
        last = Some(c);
        longest = longest.max(run);
    }
    longest
}

/// How long a form token counts: a form left open through a long stream, not a day of reuse.
pub const FORM_TOKEN_MS: i64 = 6 * 3_600_000;

/// A form token: when the form was shown and to which client (`trust::client::ip_key`: the
/// address, an IPv6 /64), signed so a bot can neither claim it waited nor hand one waited-out
/// token to many addresses.
pub fn form_token(secret: &[u8], app_slug: &str, client: &str, issued_ms: i64) -> String {
    format!("{issued_ms}.{}", hex::encode(token_mac(secret, app_slug, client, issued_ms).finalize().into_bytes()))
}

/// Seconds between the form being shown and `now_ms`, if the token is genuine, for this app
/// and this client, and younger than `FORM_TOKEN_MS`; otherwise it counts as absent.
pub fn fill_secs(secret: &[u8], app_slug: &str, client: &str, token: &str, now_ms: i64) -> Option<i64> {
    let (issued, mac) = token.split_once('.')?;
    let issued: i64 = issued.parse().ok()?;
    token_mac(secret, app_slug, client, issued).verify_slice(&hex::decode(mac).ok()?).ok()?;
    let elapsed = now_ms.checked_sub(issued)?;
    (0..FORM_TOKEN_MS).contains(&elapsed).then_some(elapsed / 1000)
}

fn token_mac(secret: &[u8], app_slug: &str, client: &str, issued_ms: i64) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC accepts any key length");
    mac.update(format!("{app_slug}|{client}|{issued_ms}").as_bytes());
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> ModerationRules {
        ModerationRules { blocked_terms: vec!["free followers".into()], review_terms: vec!["nsfw".into()], max_links: Some(1), ..ModerationRules::default() }
    }

    #[test]
    fn allows_clean_text() {
        let v = moderate(&rules(), &[("song", "Africa by Toto")], &Signals::default());
        assert_eq!(v.decision, Decision::Allow);
        assert!(v.reasons.is_empty());
    }

    #[test]
    fn blocks_whole_phrases_regardless_of_case_and_punctuation() {
        let v = moderate(&rules(), &[("message", "Get FREE-followers now!!")], &Signals::default());
        assert_eq!(v.decision, Decision::Block);
        assert_eq!(v.reasons[0].rule, "blocked_term");
        assert_eq!(v.reasons[0].field, "message");
    }

    #[test]
    fn matches_whole_words_only() {
        let v = moderate(&rules(), &[("song", "freefollowers and nsfwx")], &Signals::default());
        assert_eq!(v.decision, Decision::Allow);
    }

    #[test]
    fn strictest_decision_wins_and_every_reason_is_kept() {
        let v = moderate(&rules(), &[("song", "NSFW remix"), ("message", "free followers https://a.example https://b.example")], &Signals::default());
        assert_eq!(v.decision, Decision::Block);
        let fired: Vec<_> = v.reasons.iter().map(|r| r.rule).collect();
        assert_eq!(fired, ["review_term", "blocked_term", "too_many_links"]);
    }

    #[test]
    fn sees_through_diacritics_look_alikes_and_full_width() {
        for evasion in
            ["FR33 F0LL0WERS", "frée fôllowers", "fr€e followers ok", "ｆｒｅｅ ｆｏｌｌｏｗｅｒｓ", "frее fоllоwеrs", "free fo11owers", "$ell free followers"]
        {
            let v = moderate(&rules(), &[("m", evasion)], &Signals::default());
            let expect = if evasion.contains('€') { Decision::Allow } else { Decision::Block };
            assert_eq!(v.decision, expect, "{evasion}");
        }
        assert_eq!(moderate(&rules(), &[("m", "N$FW cover")], &Signals::default()).decision, Decision::Review);
        assert_eq!(moderate(&rules(), &[("m", "I love 1990s music")], &Signals::default()).decision, Decision::Allow);
    }

    #[test]
    fn invisible_and_combining_characters_cannot_split_a_blocked_word() {
        let rules = rules();
        for text in [
            "fr\u{00AD}ee followers",                         // soft hyphen
            "fr\u{200B}ee followers",                         // zero-width space
            "fr\u{200C}ee followers",                         // zero-width non-joiner
            "fr\u{200D}ee followers",                         // zero-width joiner
            "fr\u{2060}ee followers",                         // word joiner
            "fr\u{FEFF}ee followers",                         // zero-width no-break space
            "free\u{202E} followers",                         // right-to-left override
            "fr\u{2066}ee\u{2069} followers",                 // bidi isolate
            "fr\u{200F}ee followers",                         // right-to-left mark
            "fre\u{0301}e followers",                         // e + combining acute
            "f\u{0336}r\u{0336}e\u{0336}e\u{0336} followers", // combining strike-through
            "free\u{FE0F} followers",                         // variation selector
        ] {
            assert_eq!(moderate(&rules, &[("song", text)], &Signals::default()).decision, Decision::Block, "{text:?}");
        }
        assert_eq!(normalize("a\u{00AD}b\u{200B}c\u{0301}"), "abc");
        assert_eq!(normalize("café"), "café", "precomposed letters are kept (folding handles them)");
    }

    #[test]
    fn a_link_host_is_never_read_from_its_userinfo() {
        let mut rules = rules();
        rules.max_links = Some(0);
        rules.allowed_link_domains = vec!["youtube.com".into()];
        assert_eq!(moderate(&rules, &[("song", "https://youtube.com/watch?v=1")], &Signals::default()).decision, Decision::Allow);
        assert_eq!(moderate(&rules, &[("song", "https://youtube.com:x@evil.example/p")], &Signals::default()).decision, Decision::Review);
        assert_eq!(moderate(&rules, &[("song", "https://youtube.com@evil.example/p")], &Signals::default()).decision, Decision::Review);
    }

    #[test]
    fn links_to_allowed_domains_do_not_count() {
        let r = ModerationRules { max_links: Some(0), allowed_link_domains: vec!["youtube.com".into()], ..ModerationRules::default() };
        assert_eq!(moderate(&r, &[("m", "https://www.youtube.com/watch?v=1 and https://youtube.com/x")], &Signals::default()).decision, Decision::Allow);
        assert_eq!(moderate(&r, &[("m", "https://youtube.com.evil.example/x")], &Signals::default()).decision, Decision::Review);
        assert_eq!(moderate(&r, &[("m", "www.spam.example")], &Signals::default()).reasons[0].rule, "too_many_links");
    }

    #[test]
    fn shape_rules_hold_for_review() {
        let r = ModerationRules {
            min_length: Some(5),
            max_length: Some(40),
            max_caps_percent: Some(70),
            max_repeated_chars: Some(4),
            ..ModerationRules::default()
        };
        let rule = |text: &str| moderate(&r, &[("m", text)], &Signals::default()).reasons.iter().map(|x| x.rule).collect::<Vec<_>>();
        assert_eq!(rule("hi"), ["too_short"]);
        assert_eq!(rule(&"a b ".repeat(20)), ["too_long"]);
        assert_eq!(rule("PLAY MY SONG RIGHT NOW"), ["excessive_capitals"]);
        assert!(rule("PLAY BTS").is_empty(), "short shouting is fine");
        assert_eq!(rule("pleaseeeee play"), ["repeated_characters"]);
        assert!(rule("Play Africa by Toto!!").is_empty());
    }

    #[test]
    fn honeypot_and_fill_time_need_a_genuine_token() {
        let mut r = ModerationRules { min_fill_secs: Some(3), ..ModerationRules::default() };
        let secret = b"form secret";
        let client = "203.0.113.7";
        let token = form_token(secret, "song-request", client, 1_000_000);
        assert_eq!(fill_secs(secret, "song-request", client, &token, 1_010_000), Some(10));
        assert_eq!(fill_secs(secret, "pixel-icon", client, &token, 1_010_000), None, "another app's token");
        assert_eq!(fill_secs(secret, "song-request", "198.51.100.9", &token, 1_010_000), None, "another client's token");
        assert_eq!(fill_secs(b"other", "song-request", client, &token, 1_010_000), None);
        assert_eq!(fill_secs(secret, "song-request", client, "1000000.00", 1_010_000), None);
        assert_eq!(fill_secs(secret, "song-request", client, &token, 999_000), None, "from the future");
        assert_eq!(fill_secs(secret, "song-request", client, &token, 1_000_000 + FORM_TOKEN_MS - 1), Some((FORM_TOKEN_MS - 1) / 1000));
        assert_eq!(fill_secs(secret, "song-request", client, &token, 1_000_000 + FORM_TOKEN_MS), None, "expired");
        let verdict = |s: Signals| moderate(&r, &[("m", "fine")], &s);
        assert_eq!(verdict(Signals { fill_secs: Some(1), ..Signals::default() }).decision, Decision::Block);
        assert_eq!(verdict(Signals { fill_secs: Some(3), ..Signals::default() }).decision, Decision::Allow);
        assert_eq!(verdict(Signals::default()).decision, Decision::Allow, "API clients send no token");
        r.require_form_token = true;
        let verdict = |s: Signals| moderate(&r, &[("m", "fine")], &s);
        assert_eq!(verdict(Signals::default()).reasons[0].rule, "no_form_token");
        let bot = verdict(Signals { honeypot: Some("http://spam"), fill_secs: Some(9) });
        assert_eq!((bot.decision, bot.reasons[0].rule), (Decision::Block, "honeypot"));
    }
}
