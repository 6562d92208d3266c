//! The creator's numbers from D1's aggregates: requests per week, the funnel from form views to
//! paid requests, time to fulfilment, refunds and disputes, revenue by model net of refunds and
//! platform fees, ARPU and repeat buyers; and the fan's honest wait estimate.

use serde::{Deserialize, Serialize};

const HOUR_MS: i64 = 3_600_000;

#[derive(Debug, Clone, Deserialize)]
pub struct Week {
    /// 0 is the 7 days before now, 1 the 7 before those, and so on.
    pub week: i64,
    pub n: i64,
}

/// The period's requests, summed by D1 in one statement: how many, which were paid and for
/// what (cents, split by model), who paid, and the time from queued to fulfilled.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RequestFigures {
    pub submissions: i64,
    pub paid: i64,
    pub gross: i64,
    pub refunded: i64,
    pub refunded_count: i64,
    pub fees: i64,
    pub auctions: i64,
    pub tips: i64,
    pub add_ons: i64,
    pub buyers: i64,
    pub repeat_buyers: i64,
    pub fulfilled: i64,
    pub median_ms: Option<i64>,
    pub p90_ms: Option<i64>,
    /// How many took less than each of `BUCKETS`' bounds and at least the one before, in order
    /// (D1 sends them as a JSON array in text).
    #[serde(default, deserialize_with = "counts_in_text")]
    pub buckets: Vec<i64>,
}

fn counts_in_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<i64>, D::Error> {
    let text = Option::<String>::deserialize(d)?;
    Ok(text.and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default())
}

/// Credit packs and tier sign-ups sold in the period.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct OtherMoney {
    pub credit_packs: i64,
    pub credit_packs_refunded: i64,
    pub credit_pack_fees: i64,
    /// Every tier payment of the period, first and renewals.
    pub tiers: i64,
    pub tiers_refunded: i64,
    pub tier_fees: i64,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Disputes {
    pub count: i64,
    pub amount: i64,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Ratings {
    pub count: i64,
    pub average: Option<f64>,
}

/// Everything the queries found for one scope and period.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    pub days: i64,
    pub weeks: Vec<Week>,
    /// Form views counted in the period.
    pub views: i64,
    pub requests: RequestFigures,
    pub other: OtherMoney,
    pub disputes: Disputes,
    pub ratings: Ratings,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub days: i64,
    /// Requests created per 7-day week, oldest first (the last is the 7 days up to now).
    pub requests_per_week: Vec<i64>,
    pub funnel: FunnelReport,
    pub time_to_fulfilment: Durations,
    pub refunds: Rate,
    pub disputes: Rate,
    pub revenue: Revenue,
    pub buyers: i64,
    pub repeat_buyers: i64,
    pub repeat_buyer_rate: Option<f64>,
    /// Net revenue per paying buyer.
    pub arpu: Option<i64>,
    pub ratings: RatingsReport,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunnelReport {
    pub views: i64,
    pub submissions: i64,
    pub paid: i64,
    /// Paid requests per form view.
    pub conversion: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Durations {
    pub count: usize,
    pub median_secs: Option<i64>,
    pub p90_secs: Option<i64>,
    /// How many took at most each bound, exclusive of the bounds before it.
    pub histogram: Vec<Bucket>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bucket {
    pub label: &'static str,
    pub count: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rate {
    pub count: i64,
    pub amount: i64,
    /// Of paid requests.
    pub rate: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Revenue {
    pub gross: i64,
    pub refunded: i64,
    pub platform_fees: i64,
    pub net: i64,
    /// Gross by model: pay per request, add-ons, tips, credit packs, tiers, auctions.
    pub by_model: ByModel,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ByModel {
    pub per_request: i64,
    pub add_ons: i64,
    pub tips: i64,
    pub credit_packs: i64,
    pub tiers: i64,
    pub auctions: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RatingsReport {
    pub count: i64,
    pub average: Option<f64>,
}

/// The time-to-fulfilment histogram's buckets: a label and the bound below which a duration
/// falls in it (milliseconds). D1 counts them from this same list.
pub const BUCKETS: [(&str, i64); 6] =
    [("< 1 h", HOUR_MS), ("1-6 h", 6 * HOUR_MS), ("6-24 h", 24 * HOUR_MS), ("1-3 d", 72 * HOUR_MS), ("3-7 d", 168 * HOUR_MS), ("> 7 d", i64::MAX)];

/// Nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[i64], p: u32) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    sorted.get(rank(sorted.len() as i64, i64::from(p)) as usize - 1).copied()
}

fn ratio(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| (part as f64 / whole as f64 * 10_000.0).round() / 10_000.0)
}

/// The histogram bucket a duration falls in.
pub fn bucket_of(ms: i64) -> usize {
    BUCKETS.iter().position(|(_, bound)| ms < *bound).unwrap_or(BUCKETS.len() - 1)
}

/// Nearest rank (1-based) of percentile `p` among `n` values, as D1 is asked for it.
pub fn rank(n: i64, p: i64) -> i64 {
    ((n * p + 99) / 100).max(1)
}

fn durations(r: &RequestFigures) -> Durations {
    let histogram = BUCKETS.iter().enumerate().map(|(i, (label, _))| Bucket { label, count: r.buckets.get(i).copied().unwrap_or(0).max(0) as usize }).collect();
    Durations { count: r.fulfilled.max(0) as usize, median_secs: r.median_ms.map(|ms| ms / 1000), p90_secs: r.p90_ms.map(|ms| ms / 1000), histogram }
}

pub fn report(i: &Inputs) -> Report {
    let weeks = ((i.days + 6) / 7).max(1);
    let mut requests_per_week = vec![0; weeks as usize];
    for w in i.weeks.iter().filter(|w| (0..weeks).contains(&w.week)) {
        requests_per_week[(weeks - 1 - w.week) as usize] += w.n;
    }
    let r = &i.requests;
    let by_model = ByModel {
        per_request: (r.gross - r.auctions - r.tips - r.add_ons).max(0),
        add_ons: r.add_ons,
        tips: r.tips,
        credit_packs: i.other.credit_packs,
        tiers: i.other.tiers,
        auctions: r.auctions,
    };
    let gross = r.gross + i.other.credit_packs + i.other.tiers;
    let refunded = r.refunded + i.other.credit_packs_refunded + i.other.tiers_refunded;
    let platform_fees = r.fees + i.other.credit_pack_fees + i.other.tier_fees;
    let net = gross - refunded - platform_fees;
    Report {
        days: i.days,
        requests_per_week,
        funnel: FunnelReport { views: i.views, submissions: r.submissions, paid: r.paid, conversion: ratio(r.paid, i.views) },
        time_to_fulfilment: durations(r),
        refunds: Rate { count: r.refunded_count, amount: r.refunded, rate: ratio(r.refunded_count, r.paid) },
        disputes: Rate { count: i.disputes.count, amount: i.disputes.amount, rate: ratio(i.disputes.count, r.paid) },
        revenue: Revenue { gross, refunded, platform_fees, net, by_model },
        buyers: r.buyers,
        repeat_buyers: r.repeat_buyers,
        repeat_buyer_rate: ratio(r.repeat_buyers, r.buyers),
        arpu: (r.buyers > 0).then(|| net / r.buyers),
        ratings: RatingsReport { count: i.ratings.count, average: i.ratings.average.map(|a| (a * 100.0).round() / 100.0) },
    }
}

/// The KPI table as CSV: one `metric,value` row per number.
pub fn csv(report: &Report) -> String {
    let opt = |v: Option<f64>| v.map_or(String::new(), |v| v.to_string());
    let opt_i = |v: Option<i64>| v.map_or(String::new(), |v| v.to_string());
    let m = &report.revenue.by_model;
    let mut rows: Vec<(String, String)> = vec![
        ("period_days".into(), report.days.to_string()),
        ("form_views".into(), report.funnel.views.to_string()),
        ("submissions".into(), report.funnel.submissions.to_string()),
        ("paid_requests".into(), report.funnel.paid.to_string()),
        ("conversion".into(), opt(report.funnel.conversion)),
        ("fulfilled".into(), report.time_to_fulfilment.count.to_string()),
        ("median_time_to_fulfilment_secs".into(), opt_i(report.time_to_fulfilment.median_secs)),
        ("p90_time_to_fulfilment_secs".into(), opt_i(report.time_to_fulfilment.p90_secs)),
        ("refunds".into(), report.refunds.count.to_string()),
        ("refunded_amount".into(), report.refunds.amount.to_string()),
        ("refund_rate".into(), opt(report.refunds.rate)),
        ("disputes".into(), report.disputes.count.to_string()),
        ("disputed_amount".into(), report.disputes.amount.to_string()),
        ("dispute_rate".into(), opt(report.disputes.rate)),
        ("revenue_gross".into(), report.revenue.gross.to_string()),
        ("revenue_refunded".into(), report.revenue.refunded.to_string()),
        ("platform_fees".into(), report.revenue.platform_fees.to_string()),
        ("revenue_net".into(), report.revenue.net.to_string()),
        ("revenue_per_request".into(), m.per_request.to_string()),
        ("revenue_add_ons".into(), m.add_ons.to_string()),
        ("revenue_tips".into(), m.tips.to_string()),
        ("revenue_credit_packs".into(), m.credit_packs.to_string()),
        ("revenue_tiers".into(), m.tiers.to_string()),
        ("revenue_auctions".into(), m.auctions.to_string()),
        ("buyers".into(), report.buyers.to_string()),
        ("repeat_buyers".into(), report.repeat_buyers.to_string()),
        ("repeat_buyer_rate".into(), opt(report.repeat_buyer_rate)),
        ("arpu".into(), opt_i(report.arpu)),
        ("ratings".into(), report.ratings.count.to_string()),
        ("average_rating".into(), opt(report.ratings.average)),
    ];
    for (n, count) in report.requests_per_week.iter().enumerate() {
        rows.push((format!("requests_week_{}", n + 1), count.to_string()));
    }
    let mut out = String::from("metric,value\n");
    for (k, v) in rows {
        out.push_str(&format!("{k},{v}\n"));
    }
    out
}

/// A CSV cell: quoted when it holds a comma, quote or line break; a leading `=`, `+`, `-` or
/// `@` is prefixed with `'` so a spreadsheet never runs a fan's text as a formula.
pub fn csv_cell(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@']) { format!("'{value}") } else { value.to_string() };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

/// What the fan is told about the wait: from the creator's recent times to fulfilment, only
/// when there are enough of them to mean something.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimate {
    /// Recent requests the estimate is made from.
    pub based_on: usize,
    pub median_secs: i64,
    pub p90_secs: i64,
}

/// Fewer recent fulfilments than this gives "no estimate yet".
pub const MIN_SAMPLES: usize = 5;

pub fn estimate(sorted_ms: &[i64]) -> Option<Estimate> {
    if sorted_ms.len() < MIN_SAMPLES {
        return None;
    }
    Some(Estimate { based_on: sorted_ms.len(), median_secs: percentile(sorted_ms, 50)? / 1000, p90_secs: percentile(sorted_ms, 90)? / 1000 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<i64> = (1..=10).collect();
        assert_eq!(percentile(&v, 50), Some(5));
        assert_eq!(percentile(&v, 90), Some(9));
        assert_eq!(percentile(&v, 100), Some(10));
        assert_eq!(percentile(&[7], 90), Some(7));
        assert_eq!(percentile(&[], 50), None);
    }

    #[test]
    fn durations_fall_into_buckets_and_ranks_are_nearest() {
        let buckets: Vec<usize> = [10_000, 2 * HOUR_MS, 30 * HOUR_MS, 200 * HOUR_MS, HOUR_MS].iter().map(|&ms| bucket_of(ms)).collect();
        assert_eq!(buckets, [0, 1, 3, 5, 1], "a bound belongs to the bucket above it");
        assert_eq!((rank(10, 50), rank(10, 90), rank(1, 90), rank(0, 50), rank(3, 50)), (5, 9, 1, 1, 2));
        let r = RequestFigures {
            fulfilled: 4,
            median_ms: Some(2 * HOUR_MS),
            p90_ms: Some(200 * HOUR_MS),
            buckets: vec![1, 1, 0, 1, 0, 1],
            ..RequestFigures::default()
        };
        let d = durations(&r);
        assert_eq!(d.histogram.iter().map(|b| b.count).collect::<Vec<_>>(), [1, 1, 0, 1, 0, 1]);
        assert_eq!((d.count, d.median_secs, d.p90_secs), (4, Some(2 * 3600), Some(200 * 3600)));
    }

    #[test]
    fn revenue_splits_by_model_and_nets_refunds_and_fees() {
        let i = Inputs {
            days: 30,
            weeks: vec![Week { week: 0, n: 3 }, Week { week: 4, n: 1 }, Week { week: 9, n: 5 }],
            views: 40,
            requests: RequestFigures {
                submissions: 4,
                paid: 4,
                gross: 10_000,
                refunded: 1_000,
                refunded_count: 1,
                fees: 500,
                auctions: 2_000,
                tips: 500,
                add_ons: 300,
                buyers: 3,
                repeat_buyers: 1,
                ..RequestFigures::default()
            },
            other: OtherMoney { credit_packs: 1_200, credit_packs_refunded: 0, credit_pack_fees: 60, tiers: 1_000, tiers_refunded: 500, tier_fees: 25 },
            disputes: Disputes { count: 1, amount: 4_000 },
            ratings: Ratings { count: 0, average: None },
        };
        let r = report(&i);
        assert_eq!(r.requests_per_week, [1, 0, 0, 0, 3], "5 weeks, oldest first; out-of-period weeks dropped");
        assert_eq!(r.revenue.by_model, ByModel { per_request: 7_200, add_ons: 300, tips: 500, credit_packs: 1_200, tiers: 1_000, auctions: 2_000 });
        assert_eq!(r.revenue.gross, 12_200);
        assert_eq!(r.revenue.refunded, 1_500, "a refunded tier payment is a refund");
        assert_eq!(r.revenue.net, 12_200 - 1_500 - 585);
        assert_eq!(r.arpu, Some((12_200 - 1_500 - 585) / 3));
        assert_eq!(r.funnel.conversion, Some(0.1));
        assert_eq!(r.refunds.rate, Some(0.25));
        assert_eq!(r.repeat_buyer_rate, Some(0.3333));
        assert!(csv(&r).contains("\nrevenue_net,10115\n"));
    }

    #[test]
    fn no_data_gives_no_rates_and_no_estimate() {
        let r = report(&Inputs { days: 7, ..Inputs::default() });
        assert_eq!(r.requests_per_week, [0]);
        assert_eq!((r.funnel.conversion, r.refunds.rate, r.arpu), (None, None, None));
        assert_eq!(estimate(&[1, 2, 3, 4]), None);
        assert_eq!(estimate(&[1000, 2000, 3000, 4000, 5000]).map(|e| e.median_secs), Some(3));
    }

    #[test]
    fn csv_cells_are_quoted_and_never_formulas() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
    }
}
