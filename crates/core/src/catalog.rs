//! The marketplace's catalog: what kind of app each is (by how it is paid), its lowest price,
//! and the catalog query (search, kind, price, creator, pages) over the listed apps.

use crate::manifest::Manifest;
use crate::money::Money;

/// How an app is paid, which is how fans tell apps apart in the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Free to ask (extras may cost).
    Free,
    /// Free, with tips welcome and nothing else to buy.
    Tips,
    /// A price per request, charged at checkout.
    Paid,
    /// A price per request, held on the card until the creator accepts.
    Held,
    /// Scarce slots sold by bids.
    Auction,
}

pub const KINDS: [Kind; 5] = [Kind::Free, Kind::Tips, Kind::Paid, Kind::Held, Kind::Auction];

impl Kind {
    pub fn of(m: &Manifest) -> Self {
        if m.auction.is_some() {
            Self::Auction
        } else if m.pricing.base > 0 && m.pricing.hold.is_some() {
            Self::Held
        } else if m.pricing.base > 0 {
            Self::Paid
        } else if m.pricing.tips.is_some() && m.pricing.add_ons.is_empty() {
            Self::Tips
        } else {
            Self::Free
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Free => "free",
            Self::Tips => "tips",
            Self::Paid => "paid",
            Self::Held => "held",
            Self::Auction => "auction",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        KINDS.into_iter().find(|k| k.as_str() == s)
    }
}

/// The least a fan pays for a request (the base price or the starting bid), in minor units.
pub fn from_price(m: &Manifest) -> u64 {
    m.auction.as_ref().map_or(m.pricing.base, |a| a.starting_bid)
}

/// What the catalog says about the price: "from $25.00", "bids from $10.00", "free, tips
/// welcome", "free; extras from $3.00" or "free".
pub fn price_summary(m: &Manifest) -> String {
    let money = |amount: u64| Money::new(amount, m.pricing.currency.clone()).display();
    match Kind::of(m) {
        Kind::Auction => format!("bids from {}", money(from_price(m))),
        Kind::Paid | Kind::Held => format!("from {}", money(from_price(m))),
        Kind::Tips => "free, tips welcome".into(),
        Kind::Free => {
            m.pricing.add_ons.iter().map(|a| a.amount).min().map_or_else(|| "free".into(), |cheapest| format!("free; extras from {}", money(cheapest)))
        }
    }
}

/// One page of the catalog a fan asked for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Query {
    /// Words the title, description or creator's name must contain (case-insensitive).
    pub text: Option<String>,
    pub kind: Option<Kind>,
    /// At most this `from_price`, in minor units.
    pub max_price: Option<u64>,
    pub creator: Option<String>,
    pub offset: usize,
    pub limit: usize,
}

pub const DEFAULT_LIMIT: usize = 24;
pub const MAX_LIMIT: usize = 100;

/// Reads `q`, `kind`, `max_price`, `creator`, `cursor` and `limit`; an unknown key or a bad
/// value is an error that names it.
pub fn parse_query<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Query, String> {
    let mut q = Query { limit: DEFAULT_LIMIT, ..Query::default() };
    for (key, value) in pairs {
        let value = value.trim();
        match key {
            "q" => q.text = (!value.is_empty()).then(|| value.chars().take(100).collect()),
            "kind" if value.is_empty() => {}
            "kind" => q.kind = Some(Kind::parse(value).ok_or_else(|| format!("kind is one of {}", KINDS.map(Kind::as_str).join(", ")))?),
            "max_price" if value.is_empty() => {}
            "max_price" => q.max_price = Some(value.parse().map_err(|_| "max_price is a whole number of cents (e.g. 1000 for $10.00)".to_string())?),
            "creator" => q.creator = (!value.is_empty()).then(|| value.to_string()),
            "cursor" => q.offset = value.parse().map_err(|_| "cursor is the next_cursor of a previous page".to_string())?,
            "limit" => q.limit = value.parse().ok().filter(|n| (1..=MAX_LIMIT).contains(n)).ok_or_else(|| format!("limit is 1 to {MAX_LIMIT}"))?,
            other => return Err(format!("unknown parameter '{other}'; use q, kind, max_price, creator, cursor or limit")),
        }
    }
    Ok(q)
}

/// What the catalog query needs to know about one listed app.
pub struct Entry<'a> {
    pub title: &'a str,
    pub description: &'a str,
    pub creator_id: &'a str,
    pub creator_name: &'a str,
    pub kind: Kind,
    pub from_price: u64,
}

impl Query {
    pub fn matches(&self, e: &Entry<'_>) -> bool {
        let text_ok = self.text.as_deref().is_none_or(|t| {
            let haystack = format!("{} {} {}", e.title, e.description, e.creator_name).to_lowercase();
            t.to_lowercase().split_whitespace().all(|word| haystack.contains(word))
        });
        text_ok
            && self.kind.is_none_or(|k| k == e.kind)
            && self.max_price.is_none_or(|p| e.from_price <= p)
            && self.creator.as_deref().is_none_or(|c| c == e.creator_id)
    }

    /// This page of the matching items (in the order given) and the cursor of the next page.
    pub fn page<T>(&self, matching: Vec<T>) -> (Vec<T>, Option<usize>) {
        let total = matching.len();
        let items: Vec<T> = matching.into_iter().skip(self.offset).take(self.limit).collect();
        let next = self.offset + items.len();
        (items, (next < total).then_some(next))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::tests::{PIXEL, SHOUTOUT, SONG};

    #[test]
    fn each_app_has_a_kind_and_a_from_price() {
        let of = |json: &str| {
            let m = Manifest::parse(json).unwrap();
            (Kind::of(&m), from_price(&m))
        };
        assert_eq!(of(SONG), (Kind::Free, 0));
        assert_eq!(of(PIXEL), (Kind::Paid, 2500));
        assert_eq!(of(SHOUTOUT), (Kind::Held, 1500));
        assert_eq!(of(include_str!("../../../apps/stream-slot/manifest.json")), (Kind::Auction, 1000));
        assert_eq!(of(include_str!("../../../templates/tip-jar/manifest.json")), (Kind::Tips, 0));
    }

    #[test]
    fn the_catalog_names_each_pricing_model() {
        let summary = |json: &str| price_summary(&Manifest::parse(json).unwrap());
        assert_eq!(summary(SONG), "free; extras from $3.00");
        assert_eq!(summary(PIXEL), "from $25.00");
        assert_eq!(summary(SHOUTOUT), "from $15.00");
        assert_eq!(summary(include_str!("../../../apps/stream-slot/manifest.json")), "bids from $10.00");
        assert_eq!(summary(include_str!("../../../templates/tip-jar/manifest.json")), "free, tips welcome");
        assert_eq!(summary(include_str!("../../../templates/blank/manifest.json")), "free");
    }

    #[test]
    fn queries_parse_filter_and_page() {
        let q = parse_query([("q", " Pixel  ICON "), ("kind", "paid"), ("max_price", "3000"), ("limit", "1")]).unwrap();
        let entry = |title, kind, from_price| Entry { title, description: "", creator_id: "cr_1", creator_name: "Nova", kind, from_price };
        assert!(q.matches(&entry("Commission a pixel icon", Kind::Paid, 2500)));
        assert!(!q.matches(&entry("Commission a pixel icon", Kind::Paid, 3500)), "over the price");
        assert!(!q.matches(&entry("Commission a pixel icon", Kind::Held, 2500)), "another kind");
        assert!(!q.matches(&entry("Commission a pixel", Kind::Paid, 2500)), "every word must match");
        assert!(parse_query([("q", "nova")]).unwrap().matches(&entry("Anything", Kind::Free, 0)), "the creator's name is searched");
        assert_eq!(q.page(vec![1, 2, 3]), (vec![1], Some(1)));
        let last = Query { offset: 2, ..q.clone() };
        assert_eq!(last.page(vec![1, 2, 3]), (vec![3], None));
        assert!(parse_query([("kind", "cheap")]).unwrap_err().contains("kind is one of free, tips, paid, held, auction"));
        assert!(parse_query([("limit", "1000")]).is_err());
        assert!(parse_query([("page", "2")]).unwrap_err().contains("unknown parameter 'page'"));
        assert_eq!(parse_query([("kind", ""), ("max_price", "")]).unwrap(), Query { limit: DEFAULT_LIMIT, ..Query::default() });
    }
}
