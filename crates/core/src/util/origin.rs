//! Origins and sites as manifests and requests spell them (`https://example.com:8443`), and
//! the few things an app Worker reads from a URL. Written out because `url`'s parser with its
//! IDNA tables was the largest single thing left in an app's bundle (docs/performance.md), and
//! the URLs read here are either serialized by the runtime already or only need a yes or no.

/// The host of an origin or site: no scheme, no port (`https://example.com:8443` is
/// `example.com`; `http://[::1]:8787` is `[::1]`; a bare host is itself).
pub fn host_of(origin: &str) -> &str {
    let rest = origin.split_once("://").map_or(origin, |(_, rest)| rest);
    match rest.rsplit_once(':') {
        Some((host, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => rest,
    }
}

/// `scheme://host[:port]` of an absolute URL the runtime has already serialized (a request's
/// URL): what `url::Origin::ascii_serialization` gives for it. Userinfo and a default port are
/// dropped; the runtime has lowercased and punycoded the host.
pub fn origin_of_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return String::new() };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => ":80",
        "https" => ":443",
        _ => "",
    };
    let host_port = match host_port.strip_suffix(default_port) {
        Some(host) if !default_port.is_empty() => host,
        _ => host_port.strip_suffix(':').unwrap_or(host_port),
    };
    format!("{scheme}://{host_port}")
}

/// The first value of query parameter `name` in `url`, decoded as a form would be.
pub fn query_value(url: &str, name: &str) -> Option<String> {
    let url = url.split_once('#').map_or(url, |(before, _)| before);
    let query = url.split_once('?')?.1;
    url::form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// `base` with `pairs` added to its query, form-encoded, as `url`'s `query_pairs_mut` adds
/// them (after any query `base` has, before any fragment): an OAuth authorize link.
pub fn with_query(base: &str, pairs: &[(&str, &str)]) -> String {
    let (base, fragment) = base.split_once('#').map_or((base, None), |(b, f)| (b, Some(f)));
    let query = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
    let separator = match base.split_once('?') {
        None => "?",
        Some((_, "")) => "",
        Some(_) if base.ends_with('&') => "",
        Some(_) => "&",
    };
    match fragment {
        Some(fragment) => format!("{base}{separator}{query}#{fragment}"),
        None => format!("{base}{separator}{query}"),
    }
}

/// Whether `claimed` is exactly an origin as a browser serializes it (`https://site.example`
/// or with a port; one trailing slash allowed): lower case, ASCII, no path, no user, no
/// default port. What a page says its origin is, checked before it is compared.
pub fn is_serialized_origin(claimed: &str) -> bool {
    let origin = claimed.strip_suffix('/').unwrap_or(claimed);
    origin.is_ascii() && !origin.bytes().any(|b| b.is_ascii_uppercase()) && is_web_url(origin) && origin_of_url(origin) == origin
}

/// An absolute `http` or `https` link with a host name or address, the check a fan's link field
/// gets. Stricter than a browser only in refusing white space in the host and ports over 65535.
pub fn is_web_url(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once("://") else { return false };
    if !(scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")) || s.chars().any(char::is_control) {
        return false;
    }
    let authority = rest.split(['/', '?', '#', '\\']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = match host_port.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((addr, port)) if !addr.is_empty() && addr.contains(':') && addr.chars().all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.') => (addr, port),
            _ => return false,
        },
        None => match host_port.rsplit_once(':') {
            Some((host, _)) => (host, host_port.get(host.len()..).unwrap_or("")),
            None => (host_port, ""),
        },
    };
    let port_ok = match port.strip_prefix(':') {
        None => port.is_empty(),
        Some("") => true,
        Some(digits) => digits.len() <= 5 && digits.bytes().all(|b| b.is_ascii_digit()) && digits.parse::<u32>().is_ok_and(|p| p <= 65535),
    };
    let named_host_ok = host_port.starts_with('[')
        || (!host.is_empty() && host.chars().all(|c| c.is_alphanumeric() || "-._~".contains(c)) && host.split('.').any(|label| !label.is_empty()));
    port_ok && named_host_ok
}

#[cfg(test)]
mod tests {
    use super::{host_of, is_serialized_origin, is_web_url, origin_of_url, query_value, with_query};

    #[test]
    fn query_pairs_are_added_after_the_query_and_before_the_fragment() {
        let pairs = [("client_id", "a b"), ("redirect_uri", "https://h/cb?x=1")];
        assert_eq!(with_query("https://id.example/authorize", &pairs), "https://id.example/authorize?client_id=a+b&redirect_uri=https%3A%2F%2Fh%2Fcb%3Fx%3D1");
        assert_eq!(with_query("https://id.example/a?tenant=1", &pairs[..1]), "https://id.example/a?tenant=1&client_id=a+b");
        assert_eq!(with_query("https://id.example/a?", &pairs[..1]), "https://id.example/a?client_id=a+b");
        assert_eq!(with_query("https://id.example/a#top", &pairs[..1]), "https://id.example/a?client_id=a+b#top");
    }

    #[test]
    fn a_claimed_origin_must_be_serialized_as_a_browser_does() {
        for good in ["https://site.example", "https://site.example/", "http://127.0.0.1:8788", "http://[::1]:8080"] {
            assert!(is_serialized_origin(good), "{good}");
        }
        for bad in [
            "https://site.example/page",
            "https://Site.example",
            "https://site.example:443",
            "https://user@site.example",
            "https://müller.example",
            "ftp://site.example",
            "site.example",
            "https://site.example?x=1",
            "",
        ] {
            assert!(!is_serialized_origin(bad), "{bad}");
        }
    }

    #[test]
    fn a_request_url_gives_its_origin() {
        for (url, origin) in [
            ("https://example.com/apps/x/?a=1", "https://example.com"),
            ("http://127.0.0.1:8787/apps/x", "http://127.0.0.1:8787"),
            ("https://example.com:443/", "https://example.com"),
            ("http://example.com:80", "http://example.com"),
            ("https://example.com:80/", "https://example.com:80"),
            ("http://user:pw@[::1]:8787/x#y", "http://[::1]:8787"),
            ("HTTPS://example.com?x", "https://example.com"),
            ("no scheme", ""),
        ] {
            assert_eq!(origin_of_url(url), origin, "{url}");
        }
    }

    #[test]
    fn query_values_are_decoded_and_the_first_wins() {
        let url = "https://h/p?token=a%2Bb+c&next=3&token=second#next=9";
        assert_eq!(query_value(url, "token").as_deref(), Some("a+b c"));
        assert_eq!(query_value(url, "next").as_deref(), Some("3"));
        assert_eq!(query_value(url, "absent"), None);
        assert_eq!(query_value("https://h/p#x?token=1", "token"), None);
        assert_eq!(query_value("https://h/p", "token"), None);
    }

    #[test]
    fn web_urls_are_absolute_http_links_with_a_host() {
        for good in [
            "https://example.com",
            "http://example.com/path?q=1#frag",
            "HTTPS://Example.COM:8443/a b",
            "https://user@example.com/",
            "https://müller.de/lied",
            "http://127.0.0.1:8787/",
            "http://[::1]:8787/x",
            "https://example.com:/",
        ] {
            assert!(is_web_url(good), "{good}");
        }
        for bad in [
            "",
            "example.com",
            "ftp://example.com/",
            "javascript://alert(1)",
            "https://",
            "https:///path",
            "https://exa mple.com/",
            "https://example.com:99999/",
            "https://example.com:80a/",
            "https://[nothex]/",
            "https://a.com/\u{7}",
            "https://./",
            "http://<script>/",
        ] {
            assert!(!is_web_url(bad), "{bad}");
        }
    }

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
