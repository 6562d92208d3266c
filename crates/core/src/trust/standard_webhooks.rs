//! Standard Webhooks signatures for the webhooks we send: `webhook-id`, `webhook-timestamp`
//! and `webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{ts}.{body}">`.

use crate::util::base64;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The key is the base64 part of a `whsec_...` secret; `None` if the secret is not one.
pub fn secret_key(secret: &str) -> Option<Vec<u8>> {
    base64::decode(secret.strip_prefix("whsec_").unwrap_or(secret)).filter(|k| !k.is_empty())
}

/// A new secret from random bytes, in the `whsec_` form receivers' libraries expect.
pub fn new_secret(random: &[u8; 24]) -> String {
    format!("whsec_{}", base64::encode(random))
}

pub fn sign(key: &[u8], msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(format!("{msg_id}.{timestamp}.").as_bytes());
    mac.update(body);
    format!("v1,{}", base64::encode(&mac.finalize().into_bytes()))
}

/// Verifies a space-separated signature list; an empty `v1,` never matches.
pub fn verify(key: &[u8], msg_id: &str, timestamp: i64, body: &[u8], header: &str) -> bool {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(format!("{msg_id}.{timestamp}.").as_bytes());
    mac.update(body);
    header.split(' ').filter_map(|s| s.strip_prefix("v1,")).filter_map(base64::decode).any(|sig| !sig.is_empty() && mac.clone().verify_slice(&sig).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    const ID: &str = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk";
    const TS: i64 = 1649367553;
    const BODY: &[u8] = br#"{"email":"test@example.com","username":"test_user"}"#;

    #[test]
    fn matches_the_published_vector() {
        let key = secret_key(SECRET).unwrap();
        assert_eq!(sign(&key, ID, TS, BODY), "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=");
        assert!(verify(&key, ID, TS, BODY, "v1,bm9wZQ== v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="));
    }

    #[test]
    fn refuses_empty_and_wrong_signatures() {
        let key = secret_key(SECRET).unwrap();
        assert!(!verify(&key, ID, TS, BODY, "v1,"));
        assert!(!verify(&key, ID, TS, BODY, ""));
        assert!(!verify(&key, ID, TS + 1, BODY, "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="));
        assert!(secret_key("whsec_").is_none());
        assert!(secret_key("whsec_!!").is_none());
    }
}
