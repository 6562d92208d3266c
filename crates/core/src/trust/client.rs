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
