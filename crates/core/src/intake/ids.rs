//! Identifiers made from random bytes the caller supplies (the Workers shell reads them from
//! `crypto.getRandomValues`), so ids stay unguessable without this crate needing a source.

/// A request id: `req_` and 32 hex digits (128 random bits). Holding one is what lets a fan
/// read their request's status, so it must not be guessable.
pub fn request_id(random: &[u8; 16]) -> String {
    format!("req_{}", hex::encode(random))
}

pub fn is_request_id(s: &str) -> bool {
    s.len() == 36 && s.starts_with("req_") && s[4..].bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// Prefixed random token, e.g. `fl_live_...` API keys, `whsec_...` secrets, `msg_...` ids.
pub fn token(prefix: &str, random: &[u8]) -> String {
    format!("{prefix}{}", hex::encode(random))
}

/// Idempotency keys are client-chosen; bound them so they cannot be used to stuff the table.
pub fn parse_idempotency_key(raw: &str) -> Result<String, &'static str> {
    let key = raw.trim();
    if key.is_empty() || key.len() > 255 {
        return Err("Idempotency-Key must be 1 to 255 characters");
    }
    if !key.bytes().all(|b| (0x21..0x7f).contains(&b)) {
        return Err("Idempotency-Key must be printable ASCII without spaces");
    }
    Ok(key.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_round_trip() {
        let id = request_id(&[0xab; 16]);
        assert!(is_request_id(&id));
        assert!(!is_request_id("req_123"));
        assert!(!is_request_id(&id.to_uppercase()));
    }

    #[test]
    fn idempotency_keys_are_bounded() {
        assert_eq!(parse_idempotency_key(" abc-1 ").unwrap(), "abc-1");
        assert!(parse_idempotency_key("").is_err());
        assert!(parse_idempotency_key("a b").is_err());
        assert!(parse_idempotency_key(&"x".repeat(256)).is_err());
    }
}
