//! Whether a failed Terraform run is worth trying again: a pure reading of the error
//! diagnostics of its `-json` stream (Terraform's machine-readable output, not our own
//! error text).
//!
//! A failure is transient only when every error diagnostic names a transient cause
//! ([`TRANSIENT`]: a timeout, throttling, a provider's 5xx, a dropped connection) and none
//! names a deterministic one ([`DETERMINISTIC`]: invalid or unsupported configuration, a
//! denied request, something not found). Anything unrecognised is deterministic: a
//! retry is only ever made for a cause known to pass.

/// One error diagnostic of a `-json` stream (`{"type":"diagnostic","diagnostic":{…}}`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Diagnostic {
    pub summary: String,
    pub detail: String,
}

/// Text that marks a diagnostic transient, and the reason a record shows for it. Matched
/// case-insensitively; a pattern of digits only matches a whole number (`503`, not `15030`).
pub const TRANSIENT: [(&str, &str); 22] = [
    ("timeout", "timeout"),
    ("timed out", "timeout"),
    ("deadline exceeded", "timeout"),
    ("context deadline", "timeout"),
    ("throttling", "throttled"),
    ("rate exceeded", "throttled"),
    ("toomanyrequests", "throttled"),
    ("too many requests", "throttled"),
    ("429", "throttled (429)"),
    ("slowdown", "throttled"),
    ("requestlimitexceeded", "throttled"),
    ("500 internal", "500 from provider"),
    ("502", "502 from provider"),
    ("503", "503 from provider"),
    ("504", "504 from provider"),
    ("serviceunavailable", "503 from provider"),
    ("service unavailable", "503 from provider"),
    ("internalerror", "provider internal error"),
    ("connection reset", "connection reset"),
    ("connection refused", "connection refused"),
    ("broken pipe", "connection reset"),
    ("eof", "connection reset"),
];

/// Text that makes a diagnostic deterministic even if it also names a transient cause
/// (`Invalid value for timeout`).
pub const DETERMINISTIC: [&str; 10] = [
    "invalid",
    "unsupported",
    "validation",
    "403",
    "forbidden",
    "access denied",
    "accessdenied",
    "unauthorized",
    "not found",
    "notfound",
];

/// The transient reason of a failure with these error diagnostics, or `None` when it is
/// deterministic (including a failure without any diagnostic).
pub fn classify(diagnostics: &[Diagnostic]) -> Option<String> {
    let mut reason = None;
    for d in diagnostics {
        let text = format!("{}\n{}", d.summary, d.detail).to_lowercase();
        if DETERMINISTIC.iter().any(|p| contains(&text, p)) {
            return None;
        }
        let found = TRANSIENT.iter().find(|(p, _)| contains(&text, p))?;
        reason.get_or_insert(found.1);
    }
    reason.map(str::to_owned)
}

/// `pattern` in `text`; a number or word-like pattern (`503`, `eof`) only as a whole token.
fn contains(text: &str, pattern: &str) -> bool {
    if !pattern.chars().all(|c| c.is_ascii_alphanumeric()) || pattern.len() > 4 {
        return text.contains(pattern);
    }
    text.match_indices(pattern).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + pattern.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(summary: &str, detail: &str) -> Option<String> {
        classify(&[Diagnostic { summary: summary.to_owned(), detail: detail.to_owned() }])
    }

    #[test]
    fn every_transient_pattern_is_transient_with_its_reason() {
        // One diagnostic per row, as a provider would word it.
        let cases = [
            ("timeout", "Error: timeout while waiting for state to become 'available'"),
            ("timed out", "dial tcp 10.0.0.1:443: i/o timed out"),
            ("deadline exceeded", "rpc error: code = DeadlineExceeded desc = deadline exceeded"),
            ("context deadline", "context deadline exceeded (Client.Timeout exceeded)"),
            ("throttling", "ThrottlingException: request throttled"),
            ("rate exceeded", "Throttling: Rate exceeded"),
            ("toomanyrequests", "TooManyRequestsException"),
            ("too many requests", "Too Many Requests"),
            ("429", "StatusCode: 429, retry later"),
            ("slowdown", "SlowDown: Please reduce your request rate."),
            ("requestlimitexceeded", "RequestLimitExceeded: Request limit exceeded."),
            ("500 internal", "StatusCode: 500 Internal Server Error"),
            ("502", "unexpected response 502 Bad Gateway"),
            ("503", "Error: 503 Service Unavailable"),
            ("504", "StatusCode: 504 Gateway Time-out"),
            ("serviceunavailable", "ServiceUnavailableException"),
            ("service unavailable", "the service is unavailable: Service Unavailable"),
            ("internalerror", "InternalError: We encountered an internal error."),
            ("connection reset", "read tcp: connection reset by peer"),
            ("connection refused", "dial tcp 127.0.0.1:443: connect: connection refused"),
            ("broken pipe", "write tcp: broken pipe"),
            ("eof", "Post \"https://ec2.amazonaws.com/\": EOF"),
        ];
        assert_eq!(cases.len(), TRANSIENT.len(), "a case per row");
        for ((pattern, reason), (row, detail)) in TRANSIENT.iter().zip(cases) {
            assert_eq!(*pattern, row, "cases in table order");
            assert_eq!(one("Error creating instance", detail).as_deref(), Some(*reason), "{detail}");
        }
    }

    #[test]
    fn every_deterministic_pattern_wins_over_a_transient_one() {
        let cases = [
            "Invalid value for timeout",
            "Unsupported argument; retry after 503",
            "ValidationError: timeout must be positive",
            "StatusCode: 403, timed out",
            "Forbidden (503)",
            "Access Denied after timeout",
            "AccessDenied: throttling",
            "Unauthorized: 503",
            "bucket not found (timeout)",
            "NotFound: timed out",
        ];
        assert_eq!(cases.len(), DETERMINISTIC.len(), "a case per row");
        for detail in cases {
            assert_eq!(one("Error", detail), None, "{detail}");
        }
    }

    #[test]
    fn anything_unrecognised_or_mixed_is_deterministic() {
        assert_eq!(classify(&[]), None, "no diagnostic: nothing says it would pass");
        assert_eq!(one("Missing required argument", "The argument \"ami\" is required"), None);
        assert_eq!(one("local-exec provisioner error", "exit status 1. Output: disk full"), None);
        let mixed = [
            Diagnostic { summary: "Error".into(), detail: "503 Service Unavailable".into() },
            Diagnostic { summary: "Error".into(), detail: "quota exhausted".into() },
        ];
        assert_eq!(classify(&mixed), None, "one deterministic error is enough");
    }

    #[test]
    fn numbers_and_short_words_match_only_whole() {
        assert_eq!(one("Error", "instance i-05034 failed"), None);
        assert_eq!(one("Error", "id sg-4290ab: refused"), None);
        assert_eq!(one("Error", "geoffrey stopped"), None);
        assert_eq!(one("Error", "HTTP 503."), Some("503 from provider".to_owned()));
    }
}
