//! A `multipart/form-data` reader (RFC 7578) over a body already read into memory with a
//! cap. The Worker reads the body as a bounded stream, so a chunked upload without
//! `Content-Length` cannot grow past the cap; this turns the bytes into parts.

/// One part: a text field (`filename` is `None`) or a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part<'a> {
    pub name: String,
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub data: &'a [u8],
}

impl Part<'_> {
    pub fn text(&self) -> Option<String> {
        std::str::from_utf8(self.data).ok().map(str::to_string)
    }
}

/// The boundary from a `Content-Type` header, if it is `multipart/form-data`.
pub fn boundary(content_type: &str) -> Option<String> {
    let mut params = content_type.split(';');
    if !params.next()?.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("boundary"))
        .map(|(_, v)| v.trim().trim_matches('"').to_string())
        .filter(|b| !b.is_empty() && b.len() <= 200)
}

/// Most parts a form may have; a body of thousands of empty parts is an attack, not a form.
pub const MAX_PARTS: usize = 200;

/// Splits `body` into its parts. Anything malformed is an error with a short reason.
pub fn parse<'a>(body: &'a [u8], boundary: &str) -> Result<Vec<Part<'a>>, &'static str> {
    let delimiter = format!("--{boundary}");
    let delimiter = delimiter.as_bytes();
    let mut parts = Vec::new();
    let mut at = find(body, delimiter, 0).ok_or("no boundary in the body")?;
    loop {
        at += delimiter.len();
        let rest = &body[at..];
        if rest.starts_with(b"--") {
            return Ok(parts);
        }
        let line_end = if rest.starts_with(b"\r\n") { 2 } else { return Err("a boundary is not followed by a line break") };
        let head_start = at + line_end;
        let head_end = find(body, b"\r\n\r\n", head_start).ok_or("a part has no end of headers")?;
        let data_start = head_end + 4;
        let mut closing = Vec::with_capacity(delimiter.len() + 2);
        closing.extend_from_slice(b"\r\n");
        closing.extend_from_slice(delimiter);
        let data_end = find(body, &closing, data_start).ok_or("the last part is not closed by the boundary")?;
        let headers = std::str::from_utf8(&body[head_start..head_end]).map_err(|_| "part headers are not text")?;
        let (name, filename, content_type) = read_headers(headers)?;
        if parts.len() == MAX_PARTS {
            return Err("too many parts");
        }
        parts.push(Part { name, filename, content_type, data: &body[data_start..data_end] });
        at = data_end + 2;
    }
}

fn read_headers(headers: &str) -> Result<(String, Option<String>, Option<String>), &'static str> {
    let mut name = None;
    let mut filename = None;
    let mut content_type = None;
    for line in headers.split("\r\n") {
        let (key, value) = line.split_once(':').ok_or("a part header has no colon")?;
        match key.trim().to_ascii_lowercase().as_str() {
            "content-disposition" => {
                let mut params = value.split(';');
                if !params.next().unwrap_or("").trim().eq_ignore_ascii_case("form-data") {
                    return Err("a part is not form-data");
                }
                for param in params {
                    let Some((k, v)) = param.split_once('=') else { continue };
                    let v = unquote(v.trim());
                    match k.trim().to_ascii_lowercase().as_str() {
                        "name" => name = Some(v),
                        "filename" => filename = Some(v),
                        _ => {}
                    }
                }
            }
            "content-type" => content_type = Some(value.trim().to_string()),
            _ => {}
        }
    }
    Ok((name.ok_or("a part has no name")?, filename, content_type))
}

fn unquote(v: &str) -> String {
    match v.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        Some(inner) => inner.replace("\\\"", "\"").replace("\\\\", "\\"),
        None => v.to_string(),
    }
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || from > haystack.len() {
        return None;
    }
    haystack[from..].windows(needle.len()).position(|w| w == needle).map(|p| p + from)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = b"--XyZ\r\nContent-Disposition: form-data; name=\"subject\"\r\n\r\na fox\r\n--XyZ\r\nContent-Disposition: form-data; name=\"reference\"; filename=\"ref.png\"\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n\x1a\n\r\n--XyZ--\r\n";

    #[test]
    fn reads_fields_and_files() {
        assert_eq!(boundary("multipart/form-data; boundary=XyZ").as_deref(), Some("XyZ"));
        assert_eq!(boundary("Multipart/Form-Data; charset=utf-8; boundary=\"a b\"").as_deref(), Some("a b"));
        assert_eq!(boundary("application/json"), None);
        let parts = parse(BODY, "XyZ").unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!((parts[0].name.as_str(), parts[0].text().as_deref(), parts[0].filename.as_deref()), ("subject", Some("a fox"), None));
        assert_eq!((parts[1].name.as_str(), parts[1].filename.as_deref(), parts[1].content_type.as_deref()), ("reference", Some("ref.png"), Some("image/png")));
        assert_eq!(parts[1].data, b"\x89PNG\r\n\x1a\n", "bytes inside a file, line breaks included, are kept");
    }

    #[test]
    fn refuses_broken_bodies() {
        assert!(parse(b"", "XyZ").is_err());
        assert!(parse(b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nno end", "XyZ").is_err());
        assert!(parse(b"--XyZ\r\nno headers end", "XyZ").is_err());
        assert!(parse(b"--XyZ\r\nContent-Disposition: form-data\r\n\r\nx\r\n--XyZ--", "XyZ").is_err(), "no name");
        assert!(parse(b"--XyZ\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\nx\r\n--XyZ--", "XyZ").is_err());
        assert_eq!(parse(b"--XyZ--", "XyZ").unwrap(), vec![]);
        let many: Vec<u8> =
            (0..=MAX_PARTS).flat_map(|_| b"--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n".to_vec()).chain(b"--B--".to_vec()).collect();
        assert_eq!(parse(&many, "B"), Err("too many parts"));
    }
}
