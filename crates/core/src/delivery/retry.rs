//! When to try a failed delivery again, and what an answer means. The schedule is Standard
//! Webhooks' (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h after the first attempt), each wait
//! spread by up to ±20% jitter so receivers that fail together do not get hit together again.

/// Seconds between attempts, after the immediate first one.
pub const STANDARD_SCHEDULE: [u32; 7] = [5, 300, 1800, 7200, 18_000, 36_000, 36_000];

/// Cloudflare Queues delays a message by at most 12 hours.
pub const MAX_DELAY_SECS: u32 = 43_200;

/// Reads a schedule written as seconds separated by commas (`"1,2,4"`); `None` if it is not one.
pub fn parse_schedule(text: &str) -> Option<Vec<u32>> {
    let steps: Option<Vec<u32>> = text.split(',').map(|s| s.trim().parse().ok().filter(|n| *n >= 1)).collect();
    steps.filter(|s| !s.is_empty())
}

/// The wait before attempt `failed + 1`, after `failed` attempts failed. Past the end of the
/// schedule its last step repeats. `jitter` is any random byte.
pub fn retry_delay(schedule: &[u32], failed: u32, jitter: u8) -> u32 {
    let step = schedule.get((failed.max(1) - 1) as usize).or(schedule.last()).copied().unwrap_or(STANDARD_SCHEDULE[0]);
    // jitter 0..=255 maps onto -20%..+20% of the step.
    let spread = i64::from(step) * (i64::from(jitter) - 128) / 640;
    (i64::from(step) + spread).clamp(1, i64::from(MAX_DELAY_SECS)) as u32
}

/// The longest a message waits out an outage of the hub's own storage between two tries.
pub const OUTAGE_MAX_DELAY_SECS: u32 = 3600;

/// The wait before trying again a message that could not even be attempted (D1 did not
/// answer), `elapsed_secs` after it was first sent: as long as it has already waited, so the
/// waits double from the schedule's first step (up to an hour) and the queue's few retries
/// span an outage of hours instead of being spent in seconds.
pub fn outage_delay(first_step: u32, elapsed_secs: u64) -> u32 {
    let elapsed = u32::try_from(elapsed_secs).unwrap_or(u32::MAX);
    elapsed.clamp(first_step.clamp(1, OUTAGE_MAX_DELAY_SECS), OUTAGE_MAX_DELAY_SECS)
}

/// What to do after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    /// 410 Gone: the receiver retired this endpoint; stop using it.
    Gone,
    /// Try again, no sooner than `at_least` seconds (a receiver's Retry-After) if given.
    Retry {
        at_least: Option<u32>,
    },
}

/// Judges an HTTP answer (`None`: no answer, a timeout or a refused connection). A 3xx is a
/// failure: redirects are never followed, a moved endpoint is the creator's to fix.
pub fn judge(status: Option<u16>, retry_after: Option<&str>) -> Outcome {
    match status {
        Some(200..=299) => Outcome::Delivered,
        Some(410) => Outcome::Gone,
        Some(429 | 503) => Outcome::Retry { at_least: retry_after.and_then(|v| v.trim().parse::<u32>().ok()).map(|s| s.min(MAX_DELAY_SECS)) },
        _ => Outcome::Retry { at_least: None },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_the_standard_schedule_with_bounded_jitter() {
        assert_eq!(retry_delay(&STANDARD_SCHEDULE, 1, 128), 5);
        assert_eq!(retry_delay(&STANDARD_SCHEDULE, 2, 128), 300);
        assert_eq!(retry_delay(&STANDARD_SCHEDULE, 7, 128), 36_000);
        assert_eq!(retry_delay(&STANDARD_SCHEDULE, 30, 128), 36_000, "the last step repeats");
        for jitter in 0..=255u8 {
            let d = retry_delay(&STANDARD_SCHEDULE, 3, jitter);
            assert!((1440..=2160).contains(&d), "{d} is within 20% of 1800");
        }
        assert_ne!(retry_delay(&STANDARD_SCHEDULE, 3, 0), retry_delay(&STANDARD_SCHEDULE, 3, 255));
        assert_eq!(retry_delay(&[1], 1, 0), 1, "never below a second");
    }

    #[test]
    fn an_outage_is_waited_out_with_doubling_waits() {
        assert_eq!(outage_delay(5, 0), 5, "the first wait is the schedule's first step");
        let mut elapsed = 0u64;
        let waits: Vec<u32> = (0..8)
            .map(|_| {
                let wait = outage_delay(5, elapsed);
                elapsed += u64::from(wait);
                wait
            })
            .collect();
        assert_eq!(waits, [5, 5, 10, 20, 40, 80, 160, 320]);
        assert!(elapsed > 600, "eight tries span more than ten minutes, not 40 s");
        assert_eq!(outage_delay(5, 50_000), OUTAGE_MAX_DELAY_SECS, "never more than an hour");
        assert_eq!(outage_delay(0, 0), 1, "never below a second");
        assert_eq!(outage_delay(1, u64::MAX), OUTAGE_MAX_DELAY_SECS);
    }

    #[test]
    fn schedules_parse_from_configuration() {
        assert_eq!(parse_schedule("1, 2,4"), Some(vec![1, 2, 4]));
        assert_eq!(parse_schedule(""), None);
        assert_eq!(parse_schedule("1,x"), None);
        assert_eq!(parse_schedule("0"), None);
    }

    #[test]
    fn judges_answers() {
        assert_eq!(judge(Some(204), None), Outcome::Delivered);
        assert_eq!(judge(Some(410), None), Outcome::Gone);
        assert_eq!(judge(Some(302), None), Outcome::Retry { at_least: None });
        assert_eq!(judge(Some(503), Some("4")), Outcome::Retry { at_least: Some(4) });
        assert_eq!(judge(Some(429), Some("Wed, 21 Oct 2015 07:28:00 GMT")), Outcome::Retry { at_least: None });
        assert_eq!(judge(Some(500), Some("4")), Outcome::Retry { at_least: None });
        assert_eq!(judge(None, None), Outcome::Retry { at_least: None });
    }
}
