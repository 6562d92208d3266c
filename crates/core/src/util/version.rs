//! Strong version tags (HTTP ETags) for content built from known parts: the same parts give the
//! same tag in every isolate and every deploy, and any change to a part changes it.

use sha2::{Digest, Sha256};

/// `"<20 hex digits>"`, quoted as an ETag is.
pub fn etag(parts: &[&str]) -> String {
    let mut hash = Sha256::new();
    for part in parts {
        hash.update(part.as_bytes());
        // A separator, so moving text from one part to the next changes the tag.
        hash.update([0]);
    }
    format!("\"{}\"", &hex::encode(hash.finalize())[..20])
}

#[cfg(test)]
mod tests {
    use super::etag;

    #[test]
    fn a_changed_part_changes_the_tag() {
        let manifest = include_str!("../../../../apps/song-request/manifest.json");
        let tag = etag(&[manifest, "script", "page-1"]);
        assert_eq!(tag, etag(&[manifest, "script", "page-1"]));
        assert_eq!(tag.len(), 22);
        assert!(tag.starts_with('"') && tag.ends_with('"'));
        assert_ne!(tag, etag(&[&manifest.replace("Priority: played next", "Priority: next up"), "script", "page-1"]));
        assert_ne!(tag, etag(&[manifest, "script", "page-2"]));
        assert_ne!(etag(&["ab", "c"]), etag(&["a", "bc"]));
    }
}
