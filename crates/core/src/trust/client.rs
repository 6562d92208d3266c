//! Who a request comes from, as quotas, rate limits and block lists key it. Each key is the
//! strongest identity the request carries, spelled one way only, so a fan cannot dodge a
//! limit by re-spelling an address and cannot be locked out by someone re-spelling theirs.

use std::net::IpAddr;

/// The rate-limit and block-list key of a client address. An IPv6 client owns at least a /64
/// (2^64 addresses), so the key is the /64; an IPv4 client is keyed by its address.
pub fn ip_key(ip: &str) -> String {
    match ip.trim().parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        // No address reported: every such client shares one key, which a limiter then bounds.
        Err(_) => "unknown".to_string(),
    }
}

/// An address in the one spelling its mailbox provider delivers to: lower-cased, and for the
/// providers that ignore them, without dots in the local part (Gmail) and without a `+tag`.
pub fn normalize_email(email: &str) -> String {
    // Char by char: `str::to_lowercase`'s final-sigma rule, which costs every app 2 KB gzipped,
    // means nothing in an address.
    let email: String = email.trim().chars().flat_map(char::to_lowercase).collect();
    let Some((local, domain)) = email.rsplit_once('@') else { return email };
    let domain = domain.trim_end_matches('.');
    let (ignores_dots, takes_tags) = match domain {
        "gmail.com" | "googlemail.com" => (true, true),
        "outlook.com" | "hotmail.com" | "live.com" | "msn.com" | "icloud.com" | "me.com" | "mac.com" | "fastmail.com" | "fastmail.fm" | "proton.me"
        | "protonmail.com" | "pm.me" | "yandex.com" | "yandex.ru" => (false, true),
        _ => (false, false),
    };
    let local = if takes_tags { local.split('+').next().unwrap_or(local) } else { local };
    let local = if ignores_dots { local.replace('.', "") } else { local.to_string() };
    let domain = if domain == "googlemail.com" { "gmail.com" } else { domain };
    format!("{local}@{domain}")
}

/// The shape Stripe, PayPal and mail services take: an unquoted ASCII local part (RFC 5322's
/// dot-atom) and a DNS host name whose last label is a word of 2+ letters (or punycode).
/// Anything wider is valid on paper but refused later by a provider, where the fan would get
/// a payment error instead of a field error.
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else { return false };
    let atom = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~-".contains(&b));
    let label = |l: &str| (1..=63).contains(&l.len()) && !l.starts_with('-') && !l.ends_with('-') && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    let labels: Vec<&str> = domain.split('.').collect();
    let top = labels.last().copied().unwrap_or("");
    s.len() <= 254
        && local.len() <= 64
        && local.split('.').all(atom)
        && labels.len() >= 2
        && labels.iter().all(|l| label(l))
        && ((top.len() >= 2 && top.bytes().all(|b| b.is_ascii_alphabetic())) || top.starts_with("xn--"))
}

/// A block-list value in the one spelling intake compares against, or why it could never
/// match: intake keys a client by `ip_key` and compares emails normalized, so an entry in
/// any other form would be stored and block no one.
pub fn block_value(kind: BlockKind, value: &str) -> Result<String, &'static str> {
    let value = value.trim();
    match kind {
        BlockKind::Email if is_email(value) => Ok(normalize_email(value)),
        BlockKind::Email => Err("An email entry is one address, like spam@example.com."),
        BlockKind::Ip => block_ip(value).ok_or("An ip entry is an IPv4 or IPv6 address, or an IPv6 /64 prefix like 2001:db8:88::/64."),
        BlockKind::Fan => Ok(value.to_string()),
    }
}

/// What a block-list entry names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockKind {
    Ip,
    Email,
    Fan,
}

impl BlockKind {
    pub fn parse(kind: &str) -> Option<Self> {
        match kind {
            "ip" => Some(Self::Ip),
            "email" => Some(Self::Email),
            "fan" => Some(Self::Fan),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ip => "ip",
            Self::Email => "email",
            Self::Fan => "fan",
        }
    }
}

/// An address, or a prefix no wider than what `ip_key` keys a client by (an IPv4 /32, an IPv6
/// /64), as that key. A wider prefix is refused rather than stored as a block of one key.
fn block_ip(value: &str) -> Option<String> {
    let (address, prefix) = value.split_once('/').map_or((value, None), |(a, p)| (a, Some(p)));
    match (address.parse::<IpAddr>().ok()?, prefix) {
        (_, None) | (IpAddr::V4(_), Some("32")) => Some(ip_key(address)),
        (IpAddr::V6(v6), Some("64")) if v6.to_ipv4_mapped().is_none() => Some(ip_key(address)),
        _ => None,
    }
}

/// Who the fan is for quotas and the per-fan limiter, strongest first: their signed-in
/// identity, else their fan token, else the normalized email they typed, else their address.
pub fn fan_key(signed_in: Option<&str>, fan_id: Option<&str>, email: Option<&str>, ip: &str) -> String {
    match (signed_in, fan_id, email) {
        (Some(who), _, _) => format!("oauth:{who}"),
        (None, Some(id), _) => format!("fan:{id}"),
        (None, None, Some(email)) => format!("email:{}", normalize_email(email)),
        (None, None, None) => format!("ip:{}", ip_key(ip)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_shapes() {
        assert!(is_email("fan@example.com"));
        for good in ["first.last+tag@mail.example.co.uk", "o'brien@example.ie", "x_y-z@sub-domain.example", "fan@xn--bcher-kva.xn--p1ai"] {
            assert!(is_email(good), "{good}");
        }
        let long_local = format!("{}@example.com", "a".repeat(65));
        let malformed = ["", "@x.com", "a@", "a@b", "a b@c.com", "a@@b.com", "a@.com", "a@b..com", "a,b@c.com", "\"q\"@example.com"];
        let refused_by_providers = ["fan@example.c", "fan@example.123", ".a@example.com", "a.@example.com", "a..b@example.com", "jürgen@example.com"];
        let bad_hosts = ["fan@bücher.example", "fan@-bad.example", "fan@exa_mple.com", &long_local];
        for bad in malformed.into_iter().chain(refused_by_providers).chain(bad_hosts) {
            assert!(!is_email(bad), "{bad}");
        }
    }

    #[test]
    fn block_values_are_stored_as_intake_keys_them_or_refused() {
        assert_eq!(block_value(BlockKind::Ip, " 203.0.113.66 ").as_deref(), Ok("203.0.113.66"));
        assert_eq!(block_value(BlockKind::Ip, "203.0.113.66/32").as_deref(), Ok("203.0.113.66"));
        assert_eq!(block_value(BlockKind::Ip, "2001:db8:88::1").as_deref(), Ok("2001:db8:88:0::/64"));
        // The spellings a creator copies from elsewhere all land on the key intake compares.
        for prefix in ["2001:db8:88::/64", "2001:DB8:88:0::/64", "2001:db8:88:0:0:0:0:0/64", "2001:db8:88:0::/64"] {
            assert_eq!(block_value(BlockKind::Ip, prefix).as_deref(), Ok("2001:db8:88:0::/64"), "{prefix}");
        }
        assert_eq!(block_value(BlockKind::Ip, "::ffff:198.51.100.7").as_deref(), Ok("198.51.100.7"));
        for never in ["not-an-ip", "", "203.0.113.0/24", "2001:db8::/48", "2001:db8::1/128", "::ffff:198.51.100.7/64", "203.0.113.66/", "1.2.3.4.5"] {
            assert!(block_value(BlockKind::Ip, never).is_err(), "{never}");
        }
        assert_eq!(block_value(BlockKind::Email, " Troll+x@GMail.com ").as_deref(), Ok("troll@gmail.com"));
        for never in ["troll", "@example.com", "a,b@c.com", "troll@example"] {
            assert!(block_value(BlockKind::Email, never).is_err(), "{never}");
        }
        assert_eq!(block_value(BlockKind::Fan, " twitch:12345678 ").as_deref(), Ok("twitch:12345678"));
        assert_eq!(BlockKind::parse("phone"), None);
        assert_eq!(BlockKind::parse("ip").map(BlockKind::as_str), Some("ip"));
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_64() {
        assert_eq!(ip_key("2001:db8::1"), "2001:db8:0:0::/64");
        assert_eq!(ip_key("2001:db8::2"), ip_key("2001:db8::1"));
        assert_eq!(ip_key("2001:db8:0:0:ffff:ffff:ffff:ffff"), ip_key("2001:db8::1"));
        assert_ne!(ip_key("2001:db8:0:1::1"), ip_key("2001:db8::1"));
        assert_eq!(ip_key("2001:DB8::1"), "2001:db8:0:0::/64");
        assert_eq!(ip_key("::ffff:198.51.100.7"), "198.51.100.7");
        assert_eq!(ip_key("198.51.100.7"), "198.51.100.7");
        assert_eq!(ip_key(""), "unknown");
        assert_eq!(ip_key("not an ip"), "unknown");
    }

    #[test]
    fn emails_have_one_spelling_per_mailbox() {
        assert_eq!(normalize_email(" Victim@Example.com "), "victim@example.com");
        assert_eq!(normalize_email("v.i.c.t.i.m+x@gmail.com"), "victim@gmail.com");
        assert_eq!(normalize_email("Victim+promo@GoogleMail.com"), "victim@gmail.com");
        assert_eq!(normalize_email("first.last+news@outlook.com"), "first.last@outlook.com");
        assert_eq!(normalize_email("first.last+news@example.com"), "first.last+news@example.com", "unknown providers keep tags and dots");
        assert_eq!(normalize_email("no-at-sign"), "no-at-sign");
    }

    #[test]
    fn the_strongest_identity_wins() {
        assert_eq!(fan_key(Some("twitch:1"), Some("fan_1"), Some("a@b.c"), "1.2.3.4"), "oauth:twitch:1");
        assert_eq!(fan_key(None, Some("fan_1"), Some("a@b.c"), "1.2.3.4"), "fan:fan_1");
        assert_eq!(fan_key(None, None, Some("A.B+x@gmail.com"), "1.2.3.4"), "email:ab@gmail.com");
        assert_eq!(fan_key(None, None, None, "2001:db8::7"), "ip:2001:db8:0:0::/64");
    }
}

/// Equal without revealing, by timing, how much of a secret matched.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod constant_time_tests {
    #[test]
    fn equal_only_when_every_byte_and_the_length_match() {
        assert!(super::constant_time_eq(b"abc", b"abc"));
        assert!(!super::constant_time_eq(b"abc", b"abd"));
        assert!(!super::constant_time_eq(b"abc", b"ab"));
        assert!(!super::constant_time_eq(b"", b"a"));
    }
}
