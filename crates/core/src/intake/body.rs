//! A fan's body, in any of the three shapes a form or a script sends (JSON, a urlencoded form,
//! multipart with files), read into one `RawSubmission`. The Worker only reads the bytes
//! (bounded); everything about their shape is decided here.

use crate::intake::multipart::{self, Part};
use crate::intake::submission::{RawFile, RawSubmission};
use crate::intake::FieldError;
use crate::manifest::{FieldKind, Manifest};
use serde_json::{Map, Value};

/// Why a body could not be read as a submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyError {
    /// Not the JSON shape a submission has (`invalid_json`).
    Json(String),
    /// A multipart body that does not parse (`invalid_form`).
    Form(String),
    /// A file sent in a field that takes text.
    UnexpectedFile(FieldError),
}

/// How a body's content type says to read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    /// JSON, or a urlencoded form (told apart by the bytes: `curl -d '{...}'` labels JSON as a form).
    Text {
        json: bool,
    },
    Multipart {
        boundary: String,
    },
    Unsupported,
}

pub fn shape(content_type: &str) -> Shape {
    let lower = content_type.to_ascii_lowercase();
    if lower.starts_with("application/json") || lower.starts_with("application/x-www-form-urlencoded") {
        return Shape::Text { json: lower.starts_with("application/json") };
    }
    match multipart::boundary(content_type) {
        Some(boundary) => Shape::Multipart { boundary },
        None => Shape::Unsupported,
    }
}

/// Room for every file at its cap (twice, for the encoding) plus the text fields; beyond that
/// the body is refused as it arrives. Files over their own cap but inside this get a per-field error.
pub fn multipart_cap(manifest: &Manifest, text_max: u64) -> u64 {
    text_max + manifest.fields.iter().filter(|f| f.kind == FieldKind::File).map(|f| f.max_bytes.unwrap_or(0) * 2).sum::<u64>()
}

/// A JSON or urlencoded body.
pub fn from_text(bytes: &[u8], json: bool, manifest: &Manifest) -> Result<RawSubmission, BodyError> {
    let raw = if json || bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') { from_json(bytes)? } else { from_urlencoded(bytes) };
    Ok(take_honeypot(raw, manifest))
}

/// A multipart body: text parts by field name, files with their bytes, both in the manifest's
/// field order (as `validate` keeps them).
pub fn from_multipart(bytes: &[u8], boundary: &str, manifest: &Manifest) -> Result<(RawSubmission, Vec<Vec<u8>>), BodyError> {
    let parts = multipart::parse(bytes, boundary).map_err(|why| BodyError::Form(format!("The form body could not be read: {why}.")))?;
    let mut raw = RawSubmission::default();
    let mut files = Vec::new();
    for part in &parts {
        let field = manifest.fields.iter().find(|f| f.name == part.name);
        match (field, &part.filename) {
            (Some(field), Some(_)) if field.kind == FieldKind::File => {
                let declared = part.content_type.clone().unwrap_or_default();
                raw.files.push(RawFile {
                    field: field.name.clone(),
                    declared_type: declared,
                    size: part.data.len() as u64,
                    head: part.data.iter().take(16).copied().collect(),
                });
                files.push(part.data.to_vec());
            }
            (Some(field), Some(_)) => {
                return Err(BodyError::UnexpectedFile(FieldError::new(&field.name, "unexpected_file", "This field does not take a file.")))
            }
            (Some(field), None) if field.kind == FieldKind::File => {}
            (Some(field), None) => {
                raw.fields.insert(field.name.clone(), Value::String(part.text().unwrap_or_default()));
            }
            (None, _) => extra_part(&mut raw, part, manifest),
        }
    }
    // In the manifest's field order, picked field by field: a sort would compile a stable
    // sort into every app Worker for the one or two files a request has.
    let mut paired: Vec<_> = raw.files.drain(..).zip(files).collect();
    let mut ordered = Vec::with_capacity(paired.len());
    for field in &manifest.fields {
        while let Some(i) = paired.iter().position(|(f, _)| f.field == field.name) {
            ordered.push(paired.remove(i));
        }
    }
    // Only the manifest's file fields are read as files, so nothing is left; kept if it were.
    ordered.append(&mut paired);
    let (files, bytes): (Vec<_>, Vec<_>) = ordered.into_iter().unzip();
    raw.files = files;
    Ok((raw, bytes))
}

/// A part that is not a manifest field: the form's own controls, or nothing we read.
fn extra_part(raw: &mut RawSubmission, part: &Part, manifest: &Manifest) {
    let text = || part.text().unwrap_or_default();
    match part.name.as_str() {
        "add_ons" => raw.add_ons.extend(split_add_ons(&text())),
        "tip" => raw.tip = Some(Value::String(text())),
        "bid" => raw.bid = Some(Value::String(text())),
        "pay_with" => raw.pay_with = Some(text()),
        "form_token" => raw.form_token = Some(text()),
        "cf-turnstile-response" | "turnstile_token" => raw.turnstile_token = Some(text()),
        name if manifest.moderation.honeypot_field.as_deref() == Some(name) => raw.honeypot = Some(text()),
        _ => {}
    }
}

fn split_add_ons(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
}

/// The honeypot arrives as if it were a field; it is a signal for moderation, not content.
fn take_honeypot(mut raw: RawSubmission, manifest: &Manifest) -> RawSubmission {
    if let Some(name) = &manifest.moderation.honeypot_field {
        raw.honeypot = raw.fields.remove(name).map(|v| v.as_str().map_or_else(|| serde_json::to_string(&v).unwrap_or_default(), str::to_string));
    }
    raw
}

/// A plain HTML form post: text fields by name, `add_ons` repeated or comma-separated.
fn from_urlencoded(bytes: &[u8]) -> RawSubmission {
    let mut raw = RawSubmission::default();
    for (key, value) in url::form_urlencoded::parse(bytes) {
        match key.as_ref() {
            "add_ons" => raw.add_ons.extend(split_add_ons(&value)),
            "tip" => raw.tip = Some(Value::String(value.into_owned())),
            "bid" => raw.bid = Some(Value::String(value.into_owned())),
            "pay_with" => raw.pay_with = Some(value.into_owned()),
            "form_token" => raw.form_token = Some(value.into_owned()),
            "turnstile_token" | "cf-turnstile-response" => raw.turnstile_token = Some(value.into_owned()),
            "" => {}
            _ => {
                raw.fields.insert(key.into_owned(), Value::String(value.into_owned()));
            }
        }
    }
    raw
}

fn from_json(bytes: &[u8]) -> Result<RawSubmission, BodyError> {
    let invalid = |m: &str| BodyError::Json(m.to_string());
    let value: Value = serde_json::from_slice(bytes).map_err(|e| BodyError::Json(format!("The body is not valid JSON: {e}")))?;
    let Value::Object(mut body) = value else {
        return Err(invalid("The body must be a JSON object: {\"fields\": {...}, \"add_ons\": [...], \"tip\": 500}."));
    };
    let fields = match body.remove("fields") {
        Some(Value::Object(map)) => map,
        None => Map::new(),
        Some(_) => return Err(invalid("\"fields\" must be an object.")),
    };
    let add_ons = match body.remove("add_ons") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| invalid("\"add_ons\" must be a list of add-on ids."))?,
        Some(_) => return Err(invalid("\"add_ons\" must be a list of add-on ids.")),
    };
    let tip = body.remove("tip");
    let bid = body.remove("bid");
    let form_token = body.remove("form_token").and_then(|v| v.as_str().map(str::to_string));
    let turnstile_token = body.remove("turnstile_token").and_then(|v| v.as_str().map(str::to_string));
    let pay_with = match body.remove("pay_with") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(_) => return Err(invalid("\"pay_with\" is \"stripe\", \"paypal\" or \"credits\".")),
    };
    if let Some(key) = body.keys().next() {
        return Err(BodyError::Json(format!("Unknown top-level key \"{key}\"; fields go inside \"fields\".")));
    }
    Ok(RawSubmission { fields, add_ons, tip, files: Vec::new(), pay_with, bid, form_token, honeypot: None, turnstile_token })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::tests::{PIXEL, SONG};

    #[test]
    fn json_forms_and_curl_labelled_json_read_alike() {
        let m = Manifest::parse(SONG).unwrap();
        let json = from_text(br#"{"fields": {"song": "x", "website": "bot"}, "add_ons": ["priority"], "tip": 200}"#, true, &m).unwrap();
        assert_eq!((json.fields["song"].as_str(), json.honeypot.as_deref(), json.add_ons.len()), (Some("x"), Some("bot"), 1));
        let labelled_as_form = from_text(br#" {"fields": {"song": "x"}}"#, false, &m).unwrap();
        assert_eq!(labelled_as_form.fields["song"], "x");
        let form = from_text(b"song=x&add_ons=priority,other&tip=200&cf-turnstile-response=t", false, &m).unwrap();
        assert_eq!((form.add_ons.len(), form.tip, form.turnstile_token.as_deref()), (2, Some(Value::String("200".into())), Some("t")));
    }

    #[test]
    fn json_refuses_what_is_not_a_submission() {
        let m = Manifest::parse(SONG).unwrap();
        for body in [&b"[1]"[..], b"{\"fields\": 1}", b"{\"add_ons\": [1]}", b"{\"songs\": {}}", b"{\"pay_with\": 2}", b"not json"] {
            assert!(matches!(from_text(body, true, &m), Err(BodyError::Json(_))), "{}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn multipart_keeps_files_in_field_order_and_refuses_a_file_in_a_text_field() {
        let m = Manifest::parse(PIXEL).unwrap();
        let file_field = m.fields.iter().find(|f| f.kind == FieldKind::File).unwrap().name.clone();
        let text_field = m.fields.iter().find(|f| f.kind != FieldKind::File).unwrap().name.clone();
        let body = format!("--b\r\nContent-Disposition: form-data; name=\"{file_field}\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n\u{1}PNG\r\n--b\r\nContent-Disposition: form-data; name=\"tip\"\r\n\r\n300\r\n--b--\r\n");
        let (raw, bytes) = from_multipart(body.as_bytes(), "b", &m).unwrap();
        assert_eq!((raw.files.len(), bytes[0].len(), raw.tip), (1, 4, Some(Value::String("300".into()))));
        let wrong = format!("--b\r\nContent-Disposition: form-data; name=\"{text_field}\"; filename=\"a.png\"\r\n\r\nx\r\n--b--\r\n");
        assert!(matches!(from_multipart(wrong.as_bytes(), "b", &m), Err(BodyError::UnexpectedFile(_))));
        // Two file fields sent in the reverse of the manifest's order come back in its order.
        let mut two: Value = serde_json::from_str(PIXEL).unwrap();
        let mut second = two["fields"].as_array().unwrap().iter().find(|f| f["type"] == "file").unwrap().clone();
        second["name"] = "palette_sample".into();
        two["fields"].as_array_mut().unwrap().push(second);
        let m = Manifest::parse(&two.to_string()).unwrap();
        let part = |name: &str, data: &str| {
            format!("--b\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{name}.png\"\r\nContent-Type: image/png\r\n\r\n{data}\r\n")
        };
        let body = format!("{}{}--b--\r\n", part("palette_sample", "second"), part(&file_field, "first"));
        let (raw, bytes) = from_multipart(body.as_bytes(), "b", &m).unwrap();
        assert_eq!(raw.files.iter().map(|f| f.field.as_str()).collect::<Vec<_>>(), [file_field.as_str(), "palette_sample"]);
        assert_eq!(bytes, [b"first".to_vec(), b"second".to_vec()]);
        assert!(matches!(shape("multipart/form-data; boundary=b"), Shape::Multipart { .. }));
        assert_eq!(shape("text/plain"), Shape::Unsupported);
    }
}
