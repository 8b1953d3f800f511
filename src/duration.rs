//! Durations people write: `15m`, `1h 30m`, `90s`, `2 days` (a day is 24 hours), or ISO
//! 8601 (`PT1H`). One parser for the command line and the configuration file, and the
//! formatters for messages: [`human`] for spans of a run, [`hms`] for ages.

use std::time::Duration;

/// Parses a duration such as `15m`, `1h 30m`, `90s` or `2 days`.
pub fn parse(text: &str) -> Result<Duration, String> {
    let span: jiff::Span =
        text.trim().parse().map_err(|e| format!("`{text}` is not a duration such as `15m` or `1h 30m`: {e}"))?;
    let signed = span
        .to_duration(jiff::SpanRelativeTo::days_are_24_hours())
        .map_err(|e| format!("`{text}` can't be used as a duration: {e}"))?;
    Duration::try_from(signed).map_err(|_| format!("`{text}` is negative"))
}

/// `4.2 s` under a minute, `5m0s` from a minute on (whole seconds): how long something took
/// or may take within a run. Used for the health check's polls and bounds
/// (`pipeline/health.rs`), apply retry waits (`pipeline/retry.rs`) and request timeouts
/// (`github/api.rs`, `oidc/client.rs`); tenths matter under a minute, not past it. One style,
/// so a timeout reads the same in every message.
pub fn human(d: Duration) -> String {
    if d < Duration::from_secs(60) {
        format!("{:.1} s", d.as_secs_f64())
    } else {
        let secs = d.as_secs_f64().round() as u64;
        format!("{}m{}s", secs / 60, secs % 60)
    }
}

/// `12s`, `4m 0s`, `1h 2m 3s`: whole seconds, largest unit first. For ages that run to hours
/// (how old a state lock is, the age at which one may be removed: `store/s3/locks.rs`,
/// `commands/locks.rs`), where tenths are noise and `62m3s` would be hard to read.
pub fn hms(d: Duration) -> String {
    let total = d.as_secs();
    let (hours, minutes, seconds) = (total / 3600, total / 60 % 60, total % 60);
    if hours > 0 {
        format!("{hours}h {minutes}m {seconds}s")
    } else if minutes > 0 {
        format!("{minutes}m {seconds}s")
    } else {
        format!("{seconds}s")
    }
}

/// Exponential backoff: `first`, then each wait twice the one before, never more than
/// `max` (nor less than `first`). The schedule the health check polls on and apply retries
/// wait on.
pub fn doubling(first: Duration, max: Duration) -> impl Iterator<Item = Duration> {
    let max = max.max(first);
    std::iter::successors(Some(first.min(max)), move |d| Some(d.saturating_mul(2).min(max)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubling_doubles_up_to_its_bound() {
        let s = |n| Duration::from_secs(n);
        assert_eq!(doubling(s(1), s(5)).take(5).collect::<Vec<_>>(), [s(1), s(2), s(4), s(5), s(5)]);
        assert_eq!(doubling(s(3), s(1)).take(2).collect::<Vec<_>>(), [s(3), s(3)], "a bound below the first");
    }

    #[test]
    fn durations_read_like_people_write_them() {
        assert_eq!(human(Duration::from_millis(4200)), "4.2 s");
        assert_eq!(human(Duration::from_secs(300)), "5m0s");
        assert_eq!(human(Duration::from_secs(61)), "1m1s");
        for (secs, text) in [(0, "0s"), (59, "59s"), (60, "1m 0s"), (3599, "59m 59s"), (3723, "1h 2m 3s")] {
            assert_eq!(hms(Duration::from_secs(secs)), text);
        }
    }

    #[test]
    fn durations_parse_in_friendly_and_iso_forms() {
        let cases = [("15m", 900), ("1h 30m", 5400), ("90s", 90), ("2 days", 172_800), ("PT1H", 3600), ("0s", 0)];
        for (text, secs) in cases {
            assert_eq!(parse(text), Ok(Duration::from_secs(secs)), "{text}");
        }
        for bad in ["", "soon", "15", "-5m", "1 month"] {
            let error = parse(bad).expect_err(bad);
            assert!(error.contains(&format!("`{bad}`")), "{error}");
        }
    }
}
