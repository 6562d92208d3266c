//! Times as the API shows them: RFC 3339 in UTC with milliseconds, from the Unix milliseconds
//! D1 stores. Written out (a civil-from-days conversion) rather than pulling in a date crate.

/// RFC 3339 UTC text for a Unix time in milliseconds (days-from-civil, Howard Hinnant).
pub fn rfc3339(unix_ms: i64) -> String {
    let secs = unix_ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z", rem / 3600, rem % 3600 / 60, rem % 60, unix_ms.rem_euclid(1000))
}

/// Unix milliseconds of an RFC 3339 UTC time (`2026-12-01T04:40:00.123456789Z`, as Twitch
/// writes them; a `+00:00` offset too). Digits past milliseconds are dropped; other offsets
/// and malformed text are `None`.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let text = text.strip_suffix('Z').or_else(|| text.strip_suffix("+00:00"))?;
    let (date, time) = text.split_once('T').or_else(|| text.split_once('t'))?;
    let number = |s: &str, len: usize| (s.len() == len && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse::<i64>().ok()).flatten();
    let mut d = date.split('-');
    let (year, month, day) = (number(d.next()?, 4)?, number(d.next()?, 2)?, number(d.next()?, 2)?);
    let (clock, fraction) = time.split_once('.').unwrap_or((time, ""));
    let mut t = clock.split(':');
    let (hour, minute, second) = (number(t.next()?, 2)?, number(t.next()?, 2)?, number(t.next()?, 2)?);
    if d.next().is_some() || t.next().is_some() || !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    if fraction.len() > 9 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let millis = format!("{fraction:0<3}")[..3].parse::<i64>().ok()?;
    // days-from-civil, the inverse of `rfc3339` above.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 86_400 + hour * 3600 + minute * 60 + second) * 1000) + millis)
}

#[cfg(test)]
mod parse_tests {
    use super::*;

    #[test]
    fn parses_what_it_writes_and_what_twitch_writes() {
        for ms in [0, 1_796_100_000_123, 951_782_400_000, -86_400_000] {
            assert_eq!(parse_rfc3339(&rfc3339(ms)), Some(ms));
        }
        // Node: Date.parse("2026-12-01T04:40:00.123456789Z") === 1796100000123
        assert_eq!(parse_rfc3339("2026-12-01T04:40:00.123456789Z"), Some(1_796_100_000_123));
        assert_eq!(parse_rfc3339("2026-12-01T04:40:00+00:00"), Some(1_796_100_000_000));
        for bad in
            ["", "2026-12-01", "2026-13-01T00:00:00Z", "2026-12-01T04:40:00+02:00", "2026-12-01T04:40Z", "x026-12-01T04:40:00Z", "2026-12-01T04:40:00.Z1"]
        {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }
}
