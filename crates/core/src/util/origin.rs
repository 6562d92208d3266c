//! Origins and sites as manifests and requests spell them (`https://example.com:8443`).

/// The host of an origin or site: no scheme, no port (`https://example.com:8443` is
/// `example.com`; `http://[::1]:8787` is `[::1]`; a bare host is itself).
pub fn host_of(origin: &str) -> &str {
    let rest = origin.split_once("://").map_or(origin, |(_, rest)| rest);
    match rest.rsplit_once(':') {
        Some((host, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => rest,
    }
}

#[cfg(test)]
mod tests {
    use super::host_of;

    #[test]
    fn strips_scheme_and_port_only() {
        for (origin, host) in [
            ("https://example.com", "example.com"),
            ("https://example.com:8443", "example.com"),
            ("http://127.0.0.1:8787", "127.0.0.1"),
            ("http://[::1]:8787", "[::1]"),
            ("http://[::1]", "[::1]"),
            ("https://*.example.com", "*.example.com"),
            ("example.com", "example.com"),
            ("example.com:80", "example.com"),
            ("", ""),
        ] {
            assert_eq!(host_of(origin), host, "{origin}");
        }
    }
}
