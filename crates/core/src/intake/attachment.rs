//! Attachments: the bytes decide the type, not the label the browser put on them, and the
//! object key is made by the server so a fan cannot choose where a file lands in R2.

use crate::manifest::media::extension_for;

/// `attachments/<request id>/<field>.<ext>`: one file per field per request.
pub fn object_key(request_id: &str, field: &str, media_type: &str) -> String {
    let ext = extension_for(media_type).unwrap_or("bin");
    format!("attachments/{request_id}/{field}.{ext}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_made_by_the_server() {
        assert_eq!(object_key("req_1", "reference", "image/png"), "attachments/req_1/reference.png");
    }
}
