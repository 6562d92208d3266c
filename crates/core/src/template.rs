//! Routing templates: `{{name}}` placeholders filled from a request, so a creator's manifest
//! decides what a Trello card, an SMS or a Discord message says. Placeholders are checked when
//! the manifest is parsed, so a typo fails the deploy instead of every delivery.

use std::collections::BTreeMap;

/// Placeholders every request has, besides its form fields (by `name`).
pub const BUILTINS: [&str; 9] = ["id", "app", "app_title", "status", "event", "price", "add_ons", "page_url", "created_at"];

/// A template's placeholders, in order, or why it cannot be parsed.
pub fn placeholders(template: &str) -> Result<Vec<&str>, String> {
    let mut names = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            return Err("a '{{' is never closed with '}}'".into());
        };
        let name = after[..end].trim();
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(format!("'{{{{{name}}}}}' is not a placeholder name"));
        }
        names.push(name);
        rest = &after[end + 2..];
    }
    Ok(names)
}

/// Fills a template. A placeholder with no value (an optional field left empty) becomes empty
/// text; unknown names cannot get here because manifests are checked at parse time.
pub fn render(template: &str, values: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        if let Some(value) = values.get(after[..end].trim()) {
            out.push_str(value);
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_and_fills_placeholders() {
        let t = "New: {{ song }} by {{artist}} ({{price}}){{missing}}";
        assert_eq!(placeholders(t).unwrap(), ["song", "artist", "price", "missing"]);
        let values = BTreeMap::from([("song".to_string(), "Africa".to_string()), ("artist".into(), "Toto".into()), ("price".into(), "$3.00".into())]);
        assert_eq!(render(t, &values), "New: Africa by Toto ($3.00)");
    }

    #[test]
    fn values_are_not_templates_themselves() {
        let values = BTreeMap::from([("song".to_string(), "{{price}}".to_string()), ("price".into(), "$3.00".into())]);
        assert_eq!(render("{{song}}", &values), "{{price}}");
    }

    #[test]
    fn refuses_broken_templates() {
        assert!(placeholders("{{song").is_err());
        assert!(placeholders("{{}}").is_err());
        assert!(placeholders("{{a b}}").is_err());
        assert_eq!(placeholders("no placeholders {").unwrap(), Vec::<&str>::new());
    }
}
