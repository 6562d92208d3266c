//! What the platform may send requests to. A creator's URL (and every API base) is checked
//! when it is saved and again before each delivery: https only, no credentials in the URL,
//! and never an address inside a private network, unless the deployment is local development.

use std::net::{Ipv4Addr, Ipv6Addr};
use url::{Host, Url};

/// Largest body the platform sends anywhere. Receivers (Zapier, n8n, Discord) refuse far
/// smaller bodies than this; a payload past it is a bug or an abuse, never retried.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Local development delivers to plain http on 127.0.0.1; production allows neither.
#[derive(Debug, Clone, Copy, Default)]
pub struct Policy {
    pub allow_http: bool,
    pub allow_private: bool,
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
    let private = match url.host() {
        None => return Err("has no host".into()),
        Some(Host::Ipv4(ip)) => is_private_v4(ip),
        Some(Host::Ipv6(ip)) => is_private_v6(ip),
        Some(Host::Domain(name)) => is_private_name(name),
    };
    if private && !policy.allow_private {
        return Err("must not point at a private, loopback or link-local address".into());
    }
    Ok(url)
}

fn is_private_name(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    // A single label (`intranet`) only resolves inside some private network.
    !name.contains('.')
        || ["localhost", "local", "internal", "home.arpa", "lan", "intranet", "corp"].iter().any(|suffix| name == *suffix || name.ends_with(&format!(".{suffix}")))
        || embeds_private_v4(&name)
}

/// Wildcard DNS such as `10.0.0.1.nip.io` resolves to the address spelled in its labels.
fn embeds_private_v4(name: &str) -> bool {
    let labels: Vec<&str> = name.split('.').collect();
    labels.windows(4).any(|w| {
        let octets: Option<Vec<u8>> = w.iter().map(|label| label.parse().ok()).collect();
        octets.is_some_and(|o| is_private_v4(Ipv4Addr::new(o[0], o[1], o[2], o[3])))
    })
}

fn is_private_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space (carrier NAT)
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 224 // multicast and reserved
}

fn is_private_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_private_v4(v4);
    }
    let first = ip.segments()[0];
    ip.is_loopback()
        || ip.is_unspecified()
        || (first & 0xfe00) == 0xfc00 // unique local
        || (first & 0xffc0) == 0xfe80 // link-local
        || (first & 0xff00) == 0xff00 // multicast
        || first == 0x2001 && ip.segments()[1] == 0x0db8 // documentation
        || first == 0x0064 && ip.segments()[1] == 0xff9b // NAT64 onto any IPv4, private included
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRODUCTION: Policy = Policy { allow_http: false, allow_private: false };

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
        ] {
            assert!(check(url, PRODUCTION).unwrap_err().contains("private"), "{url} must be refused");
        }
    }

    #[test]
    fn local_development_may_reach_loopback_over_http() {
        let local = Policy { allow_http: true, allow_private: true };
        assert!(check("http://127.0.0.1:8790/hooks", local).is_ok());
        assert!(check("http://user:pw@127.0.0.1/hooks", local).is_err(), "credentials are never allowed");
    }
}
