//! Money is an integer count of the currency's minor unit plus an ISO 4217 code. No floats.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency(String);

impl Currency {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let code = raw.trim().to_ascii_lowercase();
        if code.len() == 3 && code.bytes().all(|b| b.is_ascii_lowercase()) {
            Ok(Self(code))
        } else {
            Err(format!("'{raw}' is not a three-letter ISO 4217 currency code"))
        }
    }
    /// Lower case, as Stripe's API wants it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// Currencies whose minor unit is the major unit (Stripe's zero-decimal list, the common ones).
    pub fn decimals(&self) -> u32 {
        match self.0.as_str() {
            "jpy" | "krw" | "vnd" | "clp" | "isk" | "ugx" | "xaf" | "xof" | "pyg" | "rwf" => 0,
            _ => 2,
        }
    }
}

impl TryFrom<String> for Currency {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Currency> for String {
    fn from(value: Currency) -> Self {
        value.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Money {
    pub amount: u64,
    pub currency: Currency,
}

impl Money {
    pub fn new(amount: u64, currency: Currency) -> Self {
        Self { amount, currency }
    }

    pub fn is_zero(&self) -> bool {
        self.amount == 0
    }

    /// `$3.00`-style text for people; never parsed back.
    pub fn display(&self) -> String {
        let code = self.currency.as_str().to_ascii_uppercase();
        match self.currency.decimals() {
            0 => format!("{} {code}", self.amount),
            d => {
                let unit = 10u64.pow(d);
                let major = self.amount / unit;
                let minor = self.amount % unit;
                match code.as_str() {
                    "USD" => format!("${major}.{minor:0w$}", w = d as usize),
                    "EUR" => format!("€{major}.{minor:0w$}", w = d as usize),
                    "GBP" => format!("£{major}.{minor:0w$}", w = d as usize),
                    _ => format!("{major}.{minor:0w$} {code}", w = d as usize),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn currencies_are_iso_codes() {
        assert_eq!(Currency::parse("USD").unwrap().as_str(), "usd");
        assert!(Currency::parse("dollars").is_err());
        assert!(Currency::parse("u$d").is_err());
    }

    #[test]
    fn displays_minor_units_exactly() {
        let usd = Currency::parse("usd").unwrap();
        assert_eq!(Money::new(300, usd.clone()).display(), "$3.00");
        assert_eq!(Money::new(2505, usd).display(), "$25.05");
        assert_eq!(Money::new(500, Currency::parse("jpy").unwrap()).display(), "500 JPY");
        assert_eq!(Money::new(1999, Currency::parse("chf").unwrap()).display(), "19.99 CHF");
    }
}

/// How often a subscriber tier bills.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Interval {
    Month,
    Year,
}

impl Interval {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Month => "month",
            Self::Year => "year",
        }
    }
}
