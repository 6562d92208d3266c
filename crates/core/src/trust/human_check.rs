//! Cloudflare Turnstile's siteverify answer, judged. `success` alone says a token is real, not
//! that it was solved on this app's form: a token from a creator's other form that shares the
//! site key, or from a page the app does not allow, must not pass intake.

/// The action the embed renders its widget with; siteverify hands it back.
pub const ACTION: &str = "fanline-intake";

/// What test site keys hand the browser. Siteverify accepts it only with a test secret, and
/// then answers a fake hostname and action, so those are not compared for it.
pub const DUMMY_TOKEN: &str = "XXXX.DUMMY.TOKEN.XXXX";

/// The fields of a siteverify answer intake looks at.
pub struct Answer<'a> {
    pub success: bool,
    pub hostname: Option<&'a str>,
    pub action: Option<&'a str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Human,
    /// Siteverify said no (a bad, spent or expired token).
    Refused,
    /// Solved on a widget of another form (another action).
    OtherForm,
    /// Solved on a page of a host the app is not shown on.
    OtherSite,
}

/// `own_host` is the marketplace's host (the form page and the iframe embed are served there);
/// the embed script may also run on the hosts `shown_on` allows (the manifest's
/// `EmbedRules::allows_host`).
pub fn judge(answer: &Answer, token: &str, own_host: &str, shown_on: impl Fn(&str) -> bool) -> Verdict {
    if !answer.success {
        return Verdict::Refused;
    }
    if token == DUMMY_TOKEN {
        return Verdict::Human;
    }
    if answer.action != Some(ACTION) {
        return Verdict::OtherForm;
    }
    match answer.hostname {
        Some(host) if host.eq_ignore_ascii_case(own_host) || shown_on(host) => Verdict::Human,
        _ => Verdict::OtherSite,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::EmbedRules;

    fn sites(list: &[&str]) -> EmbedRules {
        EmbedRules { sites: list.iter().map(|s| s.to_string()).collect() }
    }

    fn judged(success: bool, hostname: &str, action: &str, embed: &EmbedRules) -> Verdict {
        judge(&Answer { success, hostname: Some(hostname), action: Some(action) }, "0.real-token", "fanline.example", |h| embed.allows_host(h))
    }

    #[test]
    fn a_token_passes_only_when_solved_on_this_form_on_a_page_the_app_is_shown_on() {
        let listed = sites(&["https://pixels.example", "https://*.shop.example"]);
        assert_eq!(judged(true, "fanline.example", ACTION, &listed), Verdict::Human);
        assert_eq!(judged(true, "pixels.example", ACTION, &listed), Verdict::Human);
        assert_eq!(judged(true, "store.shop.example", ACTION, &listed), Verdict::Human);
        assert_eq!(judged(true, "shop.example", ACTION, &listed), Verdict::OtherSite);
        assert_eq!(judged(true, "evil.example", ACTION, &listed), Verdict::OtherSite);
        assert_eq!(judged(true, "pixels.example.evil", ACTION, &listed), Verdict::OtherSite);
        assert_eq!(judged(true, "pixels.example", "login", &listed), Verdict::OtherForm);
        assert_eq!(judged(false, "pixels.example", ACTION, &listed), Verdict::Refused);
        // No sites listed: the script may run anywhere, but the action still has to match.
        assert_eq!(judged(true, "anywhere.example", ACTION, &sites(&[])), Verdict::Human);
        assert_eq!(judged(true, "anywhere.example", "", &sites(&[])), Verdict::OtherForm);
        let missing = Answer { success: true, hostname: None, action: Some(ACTION) };
        assert_eq!(judge(&missing, "0.real-token", "fanline.example", |h| listed.allows_host(h)), Verdict::OtherSite);
    }

    #[test]
    fn test_keys_fake_hostname_and_action_so_their_dummy_token_is_judged_on_success_alone() {
        let fake = Answer { success: true, hostname: Some("example.com"), action: Some("") };
        assert_eq!(judge(&fake, DUMMY_TOKEN, "fanline.example", |h| sites(&["https://pixels.example"]).allows_host(h)), Verdict::Human);
        let failed = Answer { success: false, ..fake };
        assert_eq!(judge(&failed, DUMMY_TOKEN, "fanline.example", |_| true), Verdict::Refused);
    }
}
