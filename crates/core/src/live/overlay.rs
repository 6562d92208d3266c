//! The OBS overlay: what is playing now and what comes next, as a stream shows it. Only what a
//! viewer may see: a short title from the fan's fields and who asked, never an email, a
//! message or a price.

use crate::manifest::{FieldKind, Manifest};
use serde::Serialize;
use serde_json::{Map, Value};

/// Most entries the overlay lists after the one playing now.
pub const MAX_NEXT: usize = 10;
/// Entries listed when the URL does not say.
pub const DEFAULT_NEXT: usize = 5;
const TITLE_MAX: usize = 80;
const NAME_MAX: usize = 40;

/// One request as the overlay shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub title: String,
    /// Who asked: the signed-in name, else a name or handle field; `None` shows as "a fan".
    pub by: Option<String>,
}

/// A request the overlay may show, as stored.
pub struct Source<'a> {
    pub fields: &'a Map<String, Value>,
    pub identity_name: Option<&'a str>,
}

/// The title is the first field a fan fills in (the song, the subject), and for a song the
/// second plain text field (the artist) after a dash; fields that name the fan or reach them
/// are never part of it.
pub fn entry(manifest: &Manifest, source: &Source) -> Entry {
    let text = |name: &str| source.fields.get(name).and_then(Value::as_str).map(str::trim).filter(|v| !v.is_empty());
    let shown: Vec<&str> = manifest
        .fields
        .iter()
        .filter(|f| matches!(f.kind, FieldKind::Text | FieldKind::Textarea | FieldKind::Choice) && !names_the_fan(&f.name))
        .filter_map(|f| text(&f.name).map(|v| (f, v)))
        .take(2)
        .enumerate()
        .filter(|(i, (f, _))| *i == 0 || f.kind == FieldKind::Text)
        .map(|(_, (_, v))| v)
        .collect();
    let title = if shown.is_empty() { "A request".to_string() } else { clip(&shown.join(" - "), TITLE_MAX) };
    let by = source
        .identity_name
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .or_else(|| manifest.fields.iter().filter(|f| f.kind == FieldKind::Text && names_the_fan(&f.name)).find_map(|f| text(&f.name)).map(str::to_string));
    Entry { title, by: by.map(|b| clip(b.trim_start_matches('@'), NAME_MAX)) }
}

/// Fields that say who the fan is (`twitch_handle`, `your_name`) or how to reach them.
fn names_the_fan(field: &str) -> bool {
    ["name", "handle", "email", "phone", "message", "note"].iter().any(|w| field.contains(w))
}

fn clip(text: &str, max: usize) -> String {
    let mut out: String = text.chars().filter(|c| !c.is_control()).take(max).collect();
    if text.chars().count() > max {
        out.pop();
        out.push('…');
    }
    out
}

/// How many upcoming entries a URL asks for (`?next=`), within bounds.
pub fn next_count(raw: Option<&str>) -> usize {
    raw.and_then(|n| n.parse::<usize>().ok()).unwrap_or(DEFAULT_NEXT).min(MAX_NEXT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::tests::{PIXEL, SONG};

    fn fields(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn a_song_shows_title_and_artist_and_who_asked_never_their_email_or_message() {
        let song = Manifest::parse(SONG).unwrap();
        let f =
            fields(serde_json::json!({"song": "Africa", "artist": "Toto", "message": "for my mum", "twitch_handle": "@dj_fan", "email": "fan@example.com"}));
        assert_eq!(entry(&song, &Source { fields: &f, identity_name: None }), Entry { title: "Africa - Toto".into(), by: Some("dj_fan".into()) });
        assert_eq!(entry(&song, &Source { fields: &f, identity_name: Some("Signed In") }).by.as_deref(), Some("Signed In"), "a signed-in name wins");
        let bare = fields(serde_json::json!({"song": "Solo"}));
        assert_eq!(entry(&song, &Source { fields: &bare, identity_name: None }), Entry { title: "Solo".into(), by: None });
    }

    #[test]
    fn other_apps_show_their_first_field_clipped() {
        let pixel = Manifest::parse(PIXEL).unwrap();
        let long = "a fox ".repeat(40);
        let f = fields(serde_json::json!({"subject": long, "style": "static", "email": "x@example.com"}));
        let shown = entry(&pixel, &Source { fields: &f, identity_name: None });
        assert_eq!(shown.title.chars().count(), TITLE_MAX);
        assert!(shown.title.ends_with('…') && shown.title.starts_with("a fox"));
        assert!(!shown.title.contains("static"), "only a text field joins the title");
        assert_eq!(entry(&pixel, &Source { fields: &Map::new(), identity_name: None }).title, "A request");
    }

    #[test]
    fn the_next_count_is_bounded() {
        assert_eq!(next_count(None), DEFAULT_NEXT);
        assert_eq!(next_count(Some("3")), 3);
        assert_eq!(next_count(Some("500")), MAX_NEXT);
        assert_eq!(next_count(Some("x")), DEFAULT_NEXT);
    }
}
