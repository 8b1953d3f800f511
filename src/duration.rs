//! Durations people write: `15m`, `1h 30m`, `90s`, `2 days` (a day is 24 hours), or ISO
//! 8601 (`PT1H`). One parser for the command line and the configuration file.

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

#[cfg(test)]
mod tests {
    use super::*;

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
