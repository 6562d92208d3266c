//! Credentials at rest (review L30): a destination's settings hold tokens that let anyone post
//! to the creator's Discord or Trello or send SMS on their Twilio bill, a Patreon webhook's
//! secret lets anyone grant themselves a patron's tier, and a channel's OAuth tokens let anyone
//! speak in the creator's Twitch or YouTube chat, so D1 stores them sealed
//! with AES-256-GCM under a key that lives only in a Workers secret. A copy of the database (a
//! backup, an export, a leaked `wrangler d1 execute`) then holds nothing usable.
//!
//! This module is the format; the cipher is the runtime's Web Crypto (`fanline_edge::platform::
//! sealing`), so no AES code ships in the wasm. Stored text is either the settings' JSON as
//! rows were written before sealing (read as is, re-sealed by the cron job) or
//! `sealed:v1:<key id>:<base64 of nonce and ciphertext>`. The key id names which key sealed a
//! row, so a key can be rotated while rows sealed under the previous one stay readable.

use crate::util::base64;
use sha2::{Digest, Sha256};

const PREFIX: &str = "sealed:v1:";
/// AES-GCM's standard nonce; random per seal (2^32 seals under one key stay far below the
/// collision bound).
pub const NONCE_LEN: usize = 12;

/// A 256-bit sealing key, parsed from the 64 hex digits of its secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Key {
    bytes: [u8; 32],
    id: String,
}

impl std::fmt::Debug for Key {
    // The key's bytes never reach a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Key({})", self.id)
    }
}

impl Key {
    pub fn parse(secret: &str) -> Result<Self, String> {
        let bytes = hex::decode(secret.trim()).map_err(|_| "must be 64 hex digits (openssl rand -hex 32)".to_string())?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| "must be 64 hex digits (openssl rand -hex 32)".to_string())?;
        // A hash of the key, not a prefix of it: the id is stored beside every sealed row.
        let digest = Sha256::new().chain_update(b"fanline sealing key id\0").chain_update(bytes).finalize();
        Ok(Key { bytes, id: hex::encode(&digest[..4]) })
    }

    pub fn bytes(&self) -> &[u8; 32] {
        &self.bytes
    }

    /// Eight hex digits, stored with each row it seals.
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// What a stored credential column holds.
#[derive(Debug, PartialEq, Eq)]
pub enum Stored<'a> {
    /// Written before sealing existed: the value itself (a destination's JSON, a secret).
    Plain(&'a str),
    Sealed {
        key_id: &'a str,
        nonce: [u8; NONCE_LEN],
        ciphertext: Vec<u8>,
    },
}

impl<'a> Stored<'a> {
    /// `None` for empty text and for text that claims to be sealed but is not well formed;
    /// whether plain text reads as what its column holds is the column's owner to judge.
    pub fn parse(text: &'a str) -> Option<Self> {
        let Some(rest) = text.strip_prefix(PREFIX) else {
            return (!text.is_empty()).then_some(Stored::Plain(text));
        };
        let (key_id, body) = rest.split_once(':')?;
        if key_id.len() != 8 || !key_id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let raw = base64::decode(body)?;
        // A GCM ciphertext is at least its 16-byte tag.
        if raw.len() < NONCE_LEN + 16 {
            return None;
        }
        let (nonce, ciphertext) = raw.split_at(NONCE_LEN);
        Some(Stored::Sealed { key_id, nonce: nonce.try_into().ok()?, ciphertext: ciphertext.to_vec() })
    }

    /// Whether this value is sealed under `key` (the cron job re-seals everything else).
    pub fn is_sealed_under(&self, key: &Key) -> bool {
        matches!(self, Stored::Sealed { key_id, .. } if *key_id == key.id())
    }
}

/// The stored text for a sealed value.
pub fn format(key: &Key, nonce: &[u8; NONCE_LEN], ciphertext: &[u8]) -> String {
    let mut raw = Vec::with_capacity(NONCE_LEN + ciphertext.len());
    raw.extend_from_slice(nonce);
    raw.extend_from_slice(ciphertext);
    format!("{PREFIX}{}:{}", key.id(), base64::encode(&raw))
}

/// Sealed text starts with this and its key's id: rows that do not are the ones to re-seal.
pub fn prefix_for(key: &Key) -> String {
    format!("{PREFIX}{}:", key.id())
}

/// The columns that hold sealed credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    /// `destinations.settings`, per app and destination kind.
    DestinationSettings,
    /// `membership_sources.secret` (a Patreon webhook's secret), per app and source.
    MembershipSecret,
    /// `twitch_channels.access_token` and `.refresh_token`, per app (the kind is the column).
    TwitchTokens,
    /// `youtube_chats.access_token` and `.refresh_token`, per app.
    YoutubeTokens,
}

/// What a sealed value is bound to: the same ciphertext copied to another app's row, another
/// kind or another column fails to open, so rows cannot be swapped within or across tables.
pub fn associated_data(column: Column, app_slug: &str, kind: &str) -> Vec<u8> {
    let table = match column {
        // The bytes destinations were first sealed with; changing them would orphan those rows.
        Column::DestinationSettings => "destinations",
        Column::MembershipSecret => "membership_sources",
        Column::TwitchTokens => "twitch_channels",
        Column::YoutubeTokens => "youtube_chats",
    };
    format!("fanline {table}\0{app_slug}\0{kind}").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn a_key_is_64_hex_digits_and_its_id_does_not_reveal_it() {
        let key = Key::parse(SECRET).unwrap();
        assert_eq!(key.bytes()[31], 0x1f);
        assert_eq!(key.id().len(), 8);
        assert!(!SECRET.contains(key.id()));
        assert_eq!(Key::parse(&format!(" {SECRET}\n")).unwrap(), key);
        assert!(Key::parse(&SECRET[..62]).is_err());
        assert!(Key::parse(&SECRET.replace('0', "g")).is_err());
        assert!(!format!("{key:?}").contains("0102"));
        let other = Key::parse(&SECRET.replace("1f", "20")).unwrap();
        assert_ne!(other.id(), key.id());
    }

    #[test]
    fn sealed_text_reads_back_and_plain_json_is_recognised() {
        let key = Key::parse(SECRET).unwrap();
        let text = format(&key, &[7; NONCE_LEN], &[9; 40]);
        assert!(text.starts_with(&prefix_for(&key)));
        let stored = Stored::parse(&text).unwrap();
        assert!(stored.is_sealed_under(&key));
        assert_eq!(stored, Stored::Sealed { key_id: key.id(), nonce: [7; NONCE_LEN], ciphertext: vec![9; 40] });
        let plain = r#"{"kind":"discord","webhook_url":"https://discord.com/api/webhooks/1/x"}"#;
        assert_eq!(Stored::parse(plain), Some(Stored::Plain(plain)));
        assert!(!Stored::parse(plain).unwrap().is_sealed_under(&key));
        assert_eq!(Stored::parse("a-patreon-webhook-secret"), Some(Stored::Plain("a-patreon-webhook-secret")));
    }

    #[test]
    fn damaged_sealed_text_is_refused() {
        let key = Key::parse(SECRET).unwrap();
        let text = format(&key, &[7; NONCE_LEN], &[9; 40]);
        assert_eq!(Stored::parse("sealed:v1:zz:AAAA"), None);
        assert_eq!(Stored::parse(&text.replace(key.id(), "0000000")), None);
        assert_eq!(Stored::parse(&format!("{}AAAA", prefix_for(&key))), None, "shorter than a nonce and a tag");
        assert_eq!(Stored::parse(&format!("{}***", prefix_for(&key))), None);
        assert_eq!(Stored::parse(""), None);
    }

    #[test]
    fn the_associated_data_names_the_row() {
        use Column::*;
        assert_eq!(associated_data(DestinationSettings, "a", "discord"), b"fanline destinations\0a\0discord".to_vec());
        assert_ne!(associated_data(DestinationSettings, "a", "discord"), associated_data(DestinationSettings, "a", "trello"));
        assert_ne!(associated_data(DestinationSettings, "ab", "c"), associated_data(DestinationSettings, "a", "bc"));
        assert_ne!(associated_data(DestinationSettings, "a", "patreon"), associated_data(MembershipSecret, "a", "patreon"));
        assert_ne!(associated_data(TwitchTokens, "a", "access_token"), associated_data(YoutubeTokens, "a", "access_token"));
        assert_ne!(associated_data(TwitchTokens, "a", "access_token"), associated_data(TwitchTokens, "a", "refresh_token"));
    }
}
