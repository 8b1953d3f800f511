//! When a GitHub call is worth another attempt, and how long to wait before it.
//!
//! Retried: 5xx answers, connection errors and timeouts, secondary rate limits (403 whose
//! message mentions a secondary rate limit, and 429) and exhausted primary rate limits
//! (403/429 with `x-ratelimit-remaining: 0`). Waits grow exponentially with jitter, and
//! never undercut what GitHub asked for (`Retry-After`, `x-ratelimit-reset`) up to a cap.
//! Everything else (2xx, 404, 422, a plain 403, ...) is an answer for the caller.

use std::time::Duration;

use http::{HeaderMap, StatusCode};

/// How persistent the client is. [`RetryPolicy::default`] suits production; tests shrink
/// the delays (see [`RetryPolicy::fast`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per call, the first included (at least 1).
    pub max_attempts: u32,
    /// The first backoff; each further attempt doubles it (before jitter).
    pub base_delay: Duration,
    /// Upper bound of the exponential backoff.
    pub max_delay: Duration,
    /// Upper bound of a wait GitHub asks for (`Retry-After`, `x-ratelimit-reset`, or the
    /// documented one minute after a secondary rate limit without either).
    pub max_server_delay: Duration,
    /// Time allowed for one attempt, from sending the request to the end of the answer.
    pub request_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_server_delay: Duration::from_secs(90),
            request_timeout: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// Millisecond-scale delays for tests: the same decisions, no real waiting.
    pub fn fast() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(10),
            max_server_delay: Duration::from_millis(10),
            request_timeout: Duration::from_secs(5),
        }
    }

    /// The wait after the `failures`th failed attempt (1-based): exponential backoff with
    /// jitter, never shorter than the server's `hint` (capped at `max_server_delay`).
    pub fn delay(&self, failures: u32, hint: Option<Duration>) -> Duration {
        let exponent = failures.saturating_sub(1).min(20);
        let backoff = self.base_delay.saturating_mul(1 << exponent).min(self.max_delay);
        // "Equal jitter": between half and all of the backoff.
        let jittered = backoff.mul_f64(0.5 + fastrand::f64() * 0.5);
        match hint {
            Some(hint) => jittered.max(hint.min(self.max_server_delay)),
            None => jittered,
        }
    }
}

/// What one answer means for the retry loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// An answer for the caller, success or not.
    Final,
    /// Worth another attempt.
    Retry {
        /// `502 Bad Gateway`, `403 Forbidden: You have exceeded a secondary rate limit...`.
        reason: String,
        /// How long GitHub asked us to wait.
        hint: Option<Duration>,
        /// Whether the request may have been carried out (5xx), as opposed to refused
        /// before any work (rate limits).
        maybe_applied: bool,
    },
}

/// GitHub's documented wait after a secondary rate limit that names no wait.
const SECONDARY_RATE_LIMIT_WAIT: Duration = Duration::from_secs(60);

/// Classifies an answer. `now_unix` is the current time, for `x-ratelimit-reset`.
pub(crate) fn classify(status: StatusCode, headers: &HeaderMap, body: &[u8], now_unix: u64) -> Verdict {
    let message = github_message(body);
    let reason = status_reason(status, message.as_deref());
    let retry_after = header_u64(headers, "retry-after").map(Duration::from_secs);
    let reset_wait =
        header_u64(headers, "x-ratelimit-reset").map(|reset| Duration::from_secs(reset.saturating_sub(now_unix)));
    let exhausted = header_u64(headers, "x-ratelimit-remaining") == Some(0);

    if status.is_server_error() {
        return Verdict::Retry { reason, hint: retry_after, maybe_applied: true };
    }
    let secondary = message.as_deref().is_some_and(|m| m.to_ascii_lowercase().contains("secondary rate limit"));
    let rate_limited =
        status == StatusCode::TOO_MANY_REQUESTS || (status == StatusCode::FORBIDDEN && (secondary || exhausted));
    if rate_limited {
        let hint = retry_after
            .or(if exhausted { reset_wait } else { None })
            .or(if secondary { Some(SECONDARY_RATE_LIMIT_WAIT) } else { None })
            .or(reset_wait);
        return Verdict::Retry { reason, hint, maybe_applied: false };
    }
    Verdict::Final
}

/// `502 Bad Gateway`, or `403 Forbidden: <GitHub's message>` when GitHub said more.
pub(crate) fn status_reason(status: StatusCode, message: Option<&str>) -> String {
    let canonical = status.canonical_reason().unwrap_or("");
    let head = format!("{} {canonical}", status.as_u16()).trim_end().to_owned();
    match message.map(str::trim).filter(|m| !m.is_empty() && *m != canonical) {
        Some(message) => {
            let short: String = message.chars().take(300).collect();
            format!("{head}: {short}")
        }
        None => head,
    }
}

/// The `message` of a GitHub error body.
pub(crate) fn github_message(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    value.get("message")?.as_str().map(str::to_owned)
}

fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).expect("header value"));
        }
        map
    }

    const NOW: u64 = 1_700_000_000;

    /// What a case expects: a final answer, or a retry with this server hint.
    #[derive(Debug)]
    enum Expect {
        Final,
        Retry(Option<Duration>),
    }
    use Expect::{Final, Retry};

    #[test]
    fn table_of_answers_and_verdicts() {
        let secondary = br#"{"message":"You have exceeded a secondary rate limit. Please wait."}"#;
        let cases: Vec<(u16, HeaderMap, &[u8], Expect)> = vec![
            (200, HeaderMap::new(), b"{}", Final),
            (404, HeaderMap::new(), br#"{"message":"Not Found"}"#, Final),
            (422, HeaderMap::new(), br#"{"message":"Validation Failed"}"#, Final),
            (403, HeaderMap::new(), br#"{"message":"Resource not accessible by integration"}"#, Final),
            (500, HeaderMap::new(), b"", Retry(None)),
            (502, HeaderMap::new(), b"<html>bad gateway</html>", Retry(None)),
            (503, headers(&[("retry-after", "7")]), b"", Retry(Some(Duration::from_secs(7)))),
            (403, headers(&[("retry-after", "1")]), secondary, Retry(Some(Duration::from_secs(1)))),
            (403, HeaderMap::new(), secondary, Retry(Some(SECONDARY_RATE_LIMIT_WAIT))),
            (
                403,
                headers(&[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", &(NOW + 5).to_string())]),
                br#"{"message":"API rate limit exceeded"}"#,
                Retry(Some(Duration::from_secs(5))),
            ),
            (
                429,
                headers(&[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", &(NOW + 2).to_string())]),
                b"",
                Retry(Some(Duration::from_secs(2))),
            ),
            (429, HeaderMap::new(), b"", Retry(None)),
        ];
        for (code, headers, body, expected) in cases {
            let status = StatusCode::from_u16(code).expect("status");
            let verdict = classify(status, &headers, body, NOW);
            match (expected, verdict) {
                (Final, Verdict::Final) => {}
                (Retry(hint), Verdict::Retry { hint: got, .. }) => assert_eq!(got, hint, "{code}"),
                (expected, got) => {
                    panic!("{code} {}: expected {expected:?}, got {got:?}", String::from_utf8_lossy(body))
                }
            }
        }
    }

    #[test]
    fn only_server_errors_may_have_been_applied() {
        let verdict = classify(StatusCode::BAD_GATEWAY, &HeaderMap::new(), b"", NOW);
        assert!(matches!(verdict, Verdict::Retry { maybe_applied: true, .. }));
        let verdict = classify(StatusCode::TOO_MANY_REQUESTS, &HeaderMap::new(), b"", NOW);
        assert!(matches!(verdict, Verdict::Retry { maybe_applied: false, .. }));
    }

    #[test]
    fn reasons_name_the_status_and_githubs_message() {
        assert_eq!(status_reason(StatusCode::BAD_GATEWAY, None), "502 Bad Gateway");
        assert_eq!(status_reason(StatusCode::BAD_GATEWAY, Some("Bad Gateway")), "502 Bad Gateway");
        assert_eq!(status_reason(StatusCode::FORBIDDEN, Some("Nope")), "403 Forbidden: Nope");
    }

    #[test]
    fn delays_grow_stay_bounded_and_honour_the_server_up_to_the_cap() {
        let policy = RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
            max_server_delay: Duration::from_secs(5),
            request_timeout: Duration::from_secs(1),
        };
        for _ in 0..50 {
            let first = policy.delay(1, None);
            assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100), "{first:?}");
            let third = policy.delay(3, None);
            assert!(third >= Duration::from_millis(200) && third <= Duration::from_millis(400), "{third:?}");
            assert!(policy.delay(30, None) <= Duration::from_millis(1000));
            assert!(policy.delay(1, Some(Duration::from_secs(2))) >= Duration::from_secs(2));
            assert_eq!(policy.delay(1, Some(Duration::from_secs(3600))), Duration::from_secs(5));
        }
    }
}
