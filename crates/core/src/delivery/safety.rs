//! What the platform may send requests to. A creator's URL (and every API base a delivery
//! uses) is checked when it is saved and again before each delivery: https only, no
//! credentials in the URL, and never an address inside a private network, unless the
//! deployment is local development. (An app's sign-in mail, sent at once to the operator's
//! own mail API base, is not: `destination::mail_call`.)

use std::net::{Ipv4Addr, Ipv6Addr};
use url::{Host, Url};

/// Largest body the platform sends anywhere. Receivers (Zapier, n8n, Discord) refuse far
/// smaller bodies than this; a payload past it is a bug or an abuse, never retried.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Local development delivers to plain http on loopback (the local receivers run on
/// 127.0.0.1); production allows neither. Nothing relaxes the rest: a private network,
/// link-local metadata service or cloud-internal name is refused everywhere.
#[derive(Debug, Clone, Copy, Default)]
pub struct Policy {
    pub allow_http: bool,
    pub allow_loopback: bool,
}

impl Policy {
    pub const PRODUCTION: Policy = Policy { allow_http: false, allow_loopback: false };
    pub const LOCAL_DEV: Policy = Policy { allow_http: true, allow_loopback: true };
}

/// Where a host points, as far as its spelling tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reach {
    Public,
    Loopback,
    Private,
}

pub fn check(raw: &str, policy: Policy) -> Result<Url, String> {
    let url = Url::parse(raw.trim()).map_err(|_| "not a URL".to_string())?;
    match url.scheme() {
        "https" => {}
        "http" if policy.allow_http => {}
        _ => return Err("must be an https URL".into()),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials".into());
    }
    let reach = match url.host() {
        None => return Err("has no host".into()),
        Some(Host::Ipv4(ip)) => reach_v4(ip),
        Some(Host::Ipv6(ip)) => reach_v6(ip),
        Some(Host::Domain(name)) => reach_name(name),
    };
    match reach {
        Reach::Public => Ok(url),
        Reach::Loopback if policy.allow_loopback => Ok(url),
        _ => Err("must not point at a private, loopback or link-local address".into()),
    }
}

/// Names that resolve to loopback or private space by design: `localhost`, wildcard DNS
/// services that echo an address spelled in the name, and suffixes only private networks use.
fn reach_name(name: &str) -> Reach {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    let is = |suffix: &str| name == suffix || name.ends_with(&format!(".{suffix}"));
    if is("localhost") {
        return Reach::Loopback;
    }
    // A single label (`intranet`) only resolves inside some private network.
    if !name.contains('.') || ["local", "internal", "home.arpa", "lan", "intranet", "corp", "localdomain"].iter().any(|s| is(s)) {
        return Reach::Private;
    }
    const ECHO_DNS: [&str; 8] = ["nip.io", "sslip.io", "xip.io", "traefik.me", "localtest.me", "lvh.me", "vcap.me", "lacolhost.com"];
    if ECHO_DNS.iter().any(|s| is(s)) || name.starts_with("localhost.") || embeds_v4(&name).is_some_and(|r| r != Reach::Public) {
        return Reach::Private;
    }
    Reach::Public
}

/// An address spelled in a name's labels: `10.0.0.1.example`, `10-0-0-1.example`, or
/// `0a000001.example` (hex), as wildcard DNS services read them.
fn embeds_v4(name: &str) -> Option<Reach> {
    let labels: Vec<&str> = name.split('.').collect();
    let dotted = labels.windows(4).filter_map(|w| {
        let octets: Option<Vec<u8>> = w.iter().map(|label| label.parse().ok()).collect();
        octets.map(|o| Ipv4Addr::new(o[0], o[1], o[2], o[3]))
    });
    let dashed = labels.iter().flat_map(|label| {
        label
            .split(['-', '_'])
            .collect::<Vec<_>>()
            .windows(4)
            .filter_map(|w| {
                let octets: Option<Vec<u8>> = w.iter().map(|p| p.parse().ok()).collect();
                octets.map(|o| Ipv4Addr::new(o[0], o[1], o[2], o[3]))
            })
            .collect::<Vec<_>>()
    });
    let hex = labels.iter().flat_map(|label| label.split('-')).filter(|l| l.len() == 8).filter_map(|l| u32::from_str_radix(l, 16).ok()).map(Ipv4Addr::from);
    dotted.chain(dashed).chain(hex).map(reach_v4).max_by_key(|r| *r != Reach::Public)
}

fn reach_v4(ip: Ipv4Addr) -> Reach {
    let [a, b, c, _] = ip.octets();
    if ip.is_loopback() {
        return Reach::Loopback;
    }
    let private = ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space (carrier NAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 224; // multicast and reserved
    if private {
        Reach::Private
    } else {
        Reach::Public
    }
}

fn reach_v6(ip: Ipv6Addr) -> Reach {
    let s = ip.segments();
    let embedded = |hi: u16, lo: u16| reach_v4(Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8));
    if ip.is_loopback() {
        return Reach::Loopback;
    }
    // Forms that carry an IPv4 address: IPv4-mapped ::ffff:a.b.c.d, IPv4-compatible ::a.b.c.d,
    // 6to4 2002:AABB:CCDD::/16. Whatever the embedded address reaches, so does this one.
    if s[..5] == [0; 5] && (s[5] == 0xffff || s[5] == 0) && !ip.is_unspecified() {
        return match embedded(s[6], s[7]) {
            Reach::Loopback => Reach::Private,
            other => other,
        };
    }
    if s[0] == 0x2002 {
        return match embedded(s[1], s[2]) {
            Reach::Public => Reach::Public,
            _ => Reach::Private,
        };
    }
    let private = ip.is_unspecified()
        || (s[0] & 0xfe00) == 0xfc00 // unique local
        || (s[0] & 0xffc0) == 0xfe80 // link-local
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated, still routed by some stacks)
        || (s[0] & 0xff00) == 0xff00 // multicast
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x2001 && s[1] == 0x0000) // Teredo: tunnels to an IPv4 address, private included
        || (s[0] == 0x0064 && s[1] == 0xff9b) // NAT64 (64:ff9b::/96 and the local-use 64:ff9b:1::/48)
        || (s[0] == 0x0100 && s[1..4] == [0, 0, 0]); // discard-only
    if private {
        Reach::Private
    } else {
        Reach::Public
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRODUCTION: Policy = Policy::PRODUCTION;

    #[test]
    fn production_accepts_public_https_only() {
        assert!(check("https://discord.com/api/webhooks/1/abc", PRODUCTION).is_ok());
        assert!(check("https://hooks.zapier.com/hooks/catch/1/x/", PRODUCTION).is_ok());
        assert!(check("https://8.8.8.8/x", PRODUCTION).is_ok());
        assert!(check("http://hooks.zapier.com/x", PRODUCTION).unwrap_err().contains("https"));
        assert!(check("ftp://example.com/x", PRODUCTION).is_err());
        assert!(check("https://user:pw@example.com/x", PRODUCTION).unwrap_err().contains("credentials"));
        assert!(check("not a url", PRODUCTION).is_err());
    }

    #[test]
    fn production_refuses_private_networks_in_every_spelling() {
        for url in [
            "https://127.0.0.1/x",
            "https://localhost:8443/x",
            "https://api.localhost/x",
            "https://10.1.2.3/x",
            "https://172.16.0.1/x",
            "https://192.168.1.1/x",
            "https://169.254.169.254/latest/meta-data",
            "https://100.64.0.1/x",
            "https://0.0.0.0/x",
            "https://2130706433/x", // 127.0.0.1 as one number
            "https://0x7f.1/x",
            "https://[::1]/x",
            "https://[fe80::1]/x",
            "https://[fd00::1]/x",
            "https://[::ffff:10.0.0.1]/x",
            "https://[64:ff9b::a00:1]/x",
            "https://printer.local/x",
            "https://nas.home.arpa/x",
            "https://intranet/x",
            "https://10.0.0.1.nip.io/x",
            "https://metadata.google.internal/x",
            "https://192.0.0.1/x",
        ] {
            assert!(check(url, PRODUCTION).unwrap_err().contains("private"), "{url} must be refused");
        }
    }

    #[test]
    fn names_that_resolve_to_loopback_or_private_space_are_refused() {
        for url in [
            "https://localhost/x",
            "https://LOCALHOST./x",
            "https://a.b.localhost/x",
            "https://127-0-0-1.nip.io/x",
            "https://7f000001.nip.io/x",
            "https://anything.nip.io/x",
            "https://app.sslip.io/x",
            "https://10-0-0-1.sslip.io/x",
            "https://localtest.me/x",
            "https://sub.localtest.me/x",
            "https://lvh.me/x",
            "https://x.lvh.me/x",
            "https://vcap.me/x",
            "https://x.xip.io/x",
            "https://traefik.me/x",
            "https://10.0.0.1.example.com/x",
            "https://a-192-168-1-1.example.com/x",
        ] {
            assert!(check(url, PRODUCTION).unwrap_err().contains("private"), "{url} must be refused");
        }
        assert!(check("https://hooks.example.com/x", PRODUCTION).is_ok());
        assert!(check("https://8-8-8-8.example.com/x", PRODUCTION).is_ok(), "a public address in a name is fine");
    }

    #[test]
    fn every_ipv6_form_that_embeds_a_private_ipv4_is_refused() {
        for url in [
            "https://[::ffff:127.0.0.1]/x", // IPv4-mapped loopback
            "https://[::ffff:10.0.0.1]/x",  // IPv4-mapped private
            "https://[::ffff:169.254.169.254]/x",
            "https://[::127.0.0.1]/x", // IPv4-compatible
            "https://[::10.0.0.1]/x",
            "https://[::a9fe:a9fe]/x",      // ::169.254.169.254 in hex
            "https://[2002:7f00:1::]/x",    // 6to4 of 127.0.0.1
            "https://[2002:a00:1::1]/x",    // 6to4 of 10.0.0.1
            "https://[2002:c0a8:101::1]/x", // 6to4 of 192.168.1.1
            "https://[64:ff9b::7f00:1]/x",  // NAT64 of 127.0.0.1
            "https://[64:ff9b::a9fe:a9fe]/x",
            "https://[64:ff9b:1::a00:1]/x",                     // local-use NAT64
            "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/x", // Teredo
            "https://[fec0::1]/x",                              // site-local
            "https://[feff::1]/x",
            "https://[100::1]/x", // discard-only
        ] {
            assert!(check(url, PRODUCTION).unwrap_err().contains("private"), "{url} must be refused");
        }
        assert!(check("https://[2606:4700::1111]/x", PRODUCTION).is_ok());
        assert!(check("https://[2002:808:808::1]/x", PRODUCTION).is_ok(), "6to4 of a public address");
    }

    #[test]
    fn local_development_relaxes_only_plain_http_and_loopback() {
        let local = Policy::LOCAL_DEV;
        assert!(check("http://127.0.0.1:8790/hooks", local).is_ok());
        assert!(check("http://localhost:8790/hooks", local).is_ok());
        assert!(check("http://[::1]:8790/hooks", local).is_ok());
        assert!(check("http://user:pw@127.0.0.1/hooks", local).is_err(), "credentials are never allowed");
        for url in [
            "http://169.254.169.254/",
            "http://10.0.0.1/",
            "http://metadata.google.internal/",
            "http://192.168.1.1/",
            "http://[fd00::1]/",
            "http://[::ffff:10.0.0.1]/",
            "https://10.0.0.1.nip.io/",
        ] {
            assert!(check(url, local).unwrap_err().contains("private"), "{url} must be refused even locally");
        }
    }
}
