//! What a `Cache-Control` header allows a shared cache (one serving many clients, as the hub is
//! for the apps' pages) to do with a response.

/// How many seconds a shared cache may serve the response without asking again: `s-maxage`,
/// else `max-age`, on a response marked `public`. `None` when it may not be kept at all
/// (`no-store`, `private`, `no-cache`, not `public`, or no lifetime).
pub fn shared_lifetime(value: &str) -> Option<u64> {
    let (mut public, mut max_age, mut s_maxage) = (false, None, None);
    for directive in value.split(',').map(str::trim) {
        let (name, argument) = directive.split_once('=').map_or((directive, None), |(n, a)| (n.trim(), Some(a.trim().trim_matches('"'))));
        match name.to_ascii_lowercase().as_str() {
            "public" => public = true,
            "no-store" | "private" | "no-cache" => return None,
            "max-age" => max_age = Some(argument?.parse::<u64>().ok()?),
            "s-maxage" => s_maxage = Some(argument?.parse::<u64>().ok()?),
            _ => {}
        }
    }
    let lifetime = s_maxage.or(max_age)?;
    (public && lifetime > 0).then_some(lifetime)
}

#[cfg(test)]
mod tests {
    use super::shared_lifetime;

    #[test]
    fn public_pages_are_kept_for_their_lifetime() {
        assert_eq!(shared_lifetime("public, max-age=60, stale-while-revalidate=600"), Some(60));
        assert_eq!(shared_lifetime("public, max-age=31536000, immutable"), Some(31_536_000));
        assert_eq!(shared_lifetime("Public, Max-Age=\"5\""), Some(5));
        assert_eq!(shared_lifetime("public, max-age=60, s-maxage=10"), Some(10));
    }

    #[test]
    fn anything_personal_or_unbounded_is_not_kept() {
        for value in [
            "no-store",
            "private, no-store",
            "public, max-age=60, private",
            "public, no-cache, max-age=60",
            "no-cache",
            "max-age=60",
            "public",
            "public, max-age=0",
            "public, max-age=soon",
            "public, max-age",
            "",
        ] {
            assert_eq!(shared_lifetime(value), None, "{value}");
        }
    }
}
