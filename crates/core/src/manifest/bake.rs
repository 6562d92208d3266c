//! A checked manifest written back as Rust source, so an app's Worker is compiled with its
//! manifest as a value (`fanline_edge::manifest!()`) and carries no parser for manifests: the
//! derived deserializers and the checks were about a tenth of an app's wasm.
//!
//! Every struct is written with all its fields named (a field added to a manifest type and not
//! here fails to compile) and every type is built the way the crate builds it: a currency
//! through `Currency::parse`, whose `?` makes the baked function return its error.

use super::{
    AddOn, ChatRules, ChoiceOption, CreditPack, DestinationKind, EmbedRules, Field, FieldKind, HoldRules, IdentityRules, Limits, Manifest, Pricing, Provider,
    Route, Tier, TipRules, TurnstileRules,
};
use crate::money::amount::Interval;
use crate::money::auction::AuctionRules;
use crate::money::Currency;
use crate::trust::identity::Provider as SignInProvider;
use crate::trust::moderation::ModerationRules;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Source of a function item named `name` returning `Result<Manifest, String>` that builds
/// `manifest`. `krate` is the path the generated code reaches `fanline_core` by.
pub fn function(manifest: &Manifest, name: &str, krate: &str) -> String {
    let mut b = Baker { out: String::new(), krate };
    manifest.bake(&mut b);
    format!("fn {name}() -> ::core::result::Result<{krate}::manifest::Manifest, ::std::string::String> {{ ::core::result::Result::Ok({}) }}", b.out)
}

struct Baker<'a> {
    out: String,
    krate: &'a str,
}

impl Baker<'_> {
    fn raw(&mut self, s: &str) {
        self.out.push_str(s);
    }
    /// `path` is relative to the crate root: `manifest::Field`.
    fn path(&mut self, path: &str) {
        let _ = write!(self.out, "{}::{path}", self.krate);
    }
}

trait Bake {
    fn bake(&self, b: &mut Baker);
}

impl Bake for String {
    fn bake(&self, b: &mut Baker) {
        // A str's Debug form is a valid Rust string literal (quotes, `\"`, `\\`, `\u{..}`).
        let _ = write!(b.out, "::std::string::String::from({self:?})");
    }
}

macro_rules! bake_display {
    ($($t:ty),*) => {$(
        impl Bake for $t {
            fn bake(&self, b: &mut Baker) {
                let _ = write!(b.out, "{self}");
            }
        }
    )*};
}
bake_display!(bool, u32, u64, usize);

impl<T: Bake> Bake for Option<T> {
    fn bake(&self, b: &mut Baker) {
        match self {
            None => b.raw("::core::option::Option::None"),
            Some(v) => {
                b.raw("::core::option::Option::Some(");
                v.bake(b);
                b.raw(")");
            }
        }
    }
}

impl<T: Bake> Bake for Vec<T> {
    fn bake(&self, b: &mut Baker) {
        b.raw("::std::vec![");
        for v in self {
            v.bake(b);
            b.raw(",");
        }
        b.raw("]");
    }
}

impl<V: Bake> Bake for BTreeMap<String, V> {
    fn bake(&self, b: &mut Baker) {
        b.raw("::std::collections::BTreeMap::from([");
        for (k, v) in self {
            b.raw("(");
            k.bake(b);
            b.raw(",");
            v.bake(b);
            b.raw("),");
        }
        b.raw("])");
    }
}

impl Bake for Currency {
    fn bake(&self, b: &mut Baker) {
        b.path("money::Currency::parse(");
        let _ = write!(b.out, "{:?}", self.as_str());
        b.raw(")?");
    }
}

/// Unit-only enums, written by variant name (their Debug form).
macro_rules! bake_unit_enum {
    ($($t:ty => $path:literal),* $(,)?) => {$(
        impl Bake for $t {
            fn bake(&self, b: &mut Baker) {
                b.path($path);
                let _ = write!(b.out, "::{self:?}");
            }
        }
    )*};
}
bake_unit_enum!(
    FieldKind => "manifest::FieldKind",
    Provider => "manifest::Provider",
    DestinationKind => "manifest::DestinationKind",
    Interval => "money::amount::Interval",
    SignInProvider => "trust::identity::Provider",
);

/// Structs, every field named: the pattern has no `..`, so a new field must be added here.
macro_rules! bake_struct {
    ($($t:ident at $path:literal { $($f:ident),* $(,)? })*) => {$(
        impl Bake for $t {
            fn bake(&self, b: &mut Baker) {
                let $t { $($f),* } = self;
                b.path($path);
                b.raw(" {");
                $(
                    b.raw(concat!(stringify!($f), ": "));
                    $f.bake(b);
                    b.raw(",");
                )*
                b.raw("}");
            }
        }
    )*};
}
bake_struct! {
    Manifest at "manifest::Manifest" {
        slug, title, owner, description, fields, pricing, moderation, auction, limits, identity, turnstile, routing,
        reminder_after_hours, embed, chat,
    }
    Field at "manifest::Field" { name, label, kind, required, max_length, help, options, accept, max_bytes }
    ChoiceOption at "manifest::ChoiceOption" { value, price }
    Pricing at "manifest::Pricing" {
        currency, base, add_ons, tips, hold, platform_fee_bps, credit_packs, credits_per_request, tiers, providers,
    }
    AddOn at "manifest::AddOn" { id, label, amount, priority }
    TipRules at "manifest::TipRules" { min, max, suggested }
    HoldRules at "manifest::HoldRules" { accept_within_hours }
    CreditPack at "manifest::CreditPack" { id, label, credits, amount }
    Tier at "manifest::Tier" { id, label, amount, interval, discount_bps, priority }
    ModerationRules at "trust::moderation::ModerationRules" {
        blocked_terms, review_terms, max_links, allowed_link_domains, min_length, max_length, max_caps_percent,
        max_repeated_chars, honeypot_field, min_fill_secs, require_form_token,
    }
    AuctionRules at "money::auction::AuctionRules" { starting_bid, min_increment, anti_snipe_secs, max_extension_secs }
    Limits at "manifest::Limits" { max_open_per_fan, max_per_fan_per_day, capacity }
    IdentityRules at "manifest::IdentityRules" { providers, required_from }
    TurnstileRules at "manifest::TurnstileRules" { site_key }
    Route at "manifest::Route" { to, title, template }
    EmbedRules at "manifest::EmbedRules" { sites }
    ChatRules at "manifest::ChatRules" { command, fields, separator, viewer_field, add_ons }
}
