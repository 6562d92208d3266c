//! Routing templates: `{{name}}` placeholders filled from a request, so a creator's manifest
//! decides what a Trello card, an SMS or a Discord message says. Placeholders are checked when
//! the manifest is parsed, so a typo fails the deploy instead of every delivery.

use std::collections::BTreeMap;

/// Placeholders every request has, besides its form fields (by `name`).
pub const BUILTINS: [&str; 9] = ["id", "app", "app_title", "status", "event", "price", "add_ons", "page_url", "created_at"];

/// A template cut into literal text and placeholder names.
enum Part<'a> {
    Text(&'a str),
    Name(&'a str),
}

fn parts(template: &str) -> Result<Vec<Part<'_>>, String> {
    let mut parts = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        parts.push(Part::Text(&rest[..start]));
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or("a '{{' is never closed with '}}'")?;
        let name = after[..end].trim();
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(format!("'{{{{{name}}}}}' is not a placeholder name"));
        }
        parts.push(Part::Name(name));
        rest = &after[end + 2..];
    }
    parts.push(Part::Text(rest));
    Ok(parts)
}

/// A template's placeholders, in order, or why it cannot be parsed.
pub fn placeholders(template: &str) -> Result<Vec<&str>, String> {
    Ok(parts(template)?.into_iter().filter_map(|p| if let Part::Name(n) = p { Some(n) } else { None }).collect())
}

/// Fills a template. A placeholder with no value (an optional field left empty) becomes empty
/// text. Manifests are checked at parse time, so a template that does not parse cannot get
/// here; if one did, it would be sent as written rather than half filled.
pub fn render(template: &str, values: &BTreeMap<String, String>) -> String {
    let Ok(parts) = parts(template) else { return template.to_string() };
    parts
        .into_iter()
        .map(|p| match p {
            Part::Text(t) => t,
            Part::Name(n) => values.get(n).map_or("", String::as_str),
        })
        .collect()
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
