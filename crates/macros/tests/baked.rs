//! A baked manifest is the same value `Manifest::parse` gives, for every manifest shipped
//! (apps and templates) and for one that sets every optional part.

use fanline_core::manifest::Manifest;

fn same(baked: Result<Manifest, String>, file: &str) {
    let text = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(file)).unwrap();
    let parsed = Manifest::parse(&text).unwrap();
    let baked = baked.unwrap();
    assert_eq!(serde_json::to_value(&baked).unwrap(), serde_json::to_value(&parsed).unwrap(), "{file}");
    // Serialization leaves out what equals its default; Debug shows every field.
    assert_eq!(format!("{baked:?}"), format!("{parsed:?}"), "{file}");
}

macro_rules! baked {
    ($($test:ident: $file:literal,)*) => {$(
        #[test]
        fn $test() {
            let build = fanline_macros::bake_manifest!(::fanline_core, $file);
            same(build(), $file);
        }
    )*};
}

baked! {
    every_optional_part: "tests/everything.json",
    app_song_request: "../../apps/song-request/manifest.json",
    app_pixel_icon: "../../apps/pixel-icon/manifest.json",
    app_shoutout: "../../apps/shoutout/manifest.json",
    app_stream_slot: "../../apps/stream-slot/manifest.json",
    template_auction_slot: "../../templates/auction-slot/manifest.json",
    template_blank: "../../templates/blank/manifest.json",
    template_commission: "../../templates/commission/manifest.json",
    template_shoutout: "../../templates/shoutout/manifest.json",
    template_song_request: "../../templates/song-request/manifest.json",
    template_tip_jar: "../../templates/tip-jar/manifest.json",
}

#[test]
fn the_everything_manifest_sets_every_optional_part() {
    let m = Manifest::parse(include_str!("everything.json")).unwrap();
    let p = &m.pricing;
    assert!(m.owner.is_some() && m.identity.is_some() && m.turnstile.is_some() && m.chat.is_some() && m.reminder_after_hours.is_some());
    assert!(p.tips.is_some() && p.hold.is_some() && !p.credit_packs.is_empty() && !p.tiers.is_empty() && p.credits_per_request != 1);
    assert!(!m.embed.sites.is_empty() && m.limits.capacity.is_some() && m.moderation.require_form_token);
}
