//! Faults a test queues for the next matching request(s): error statuses, rate limits,
//! lost responses and slow answers.

use std::time::Duration;

/// What the fake does instead of (or before) answering a request normally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status (e.g. 502) and a GitHub-style error body; state is untouched.
    Status(u16),
    /// Carry out the request, then answer with this status instead: the write happened but
    /// the client never saw the answer (a lost response).
    LostResponse(u16),
    /// 403 with "You have exceeded a secondary rate limit" and `Retry-After: 1`.
    SecondaryRateLimit,
    /// The same, asking the client to wait this many seconds (`Retry-After: N`).
    SecondaryRateLimitFor(u64),
    /// 429 with `x-ratelimit-remaining: 0` and `x-ratelimit-reset` one second ahead.
    RateLimited,
    /// Wait this long, then answer normally.
    Delay(Duration),
    /// Answer 502 at once, and carry the request out this much later (a write GitHub
    /// performs late, after the client gave up on it).
    LateWrite(Duration),
}

/// A fault waiting for a request whose method and path match.
#[derive(Debug, Clone)]
pub(crate) struct QueuedFault {
    /// `GET`, `POST`, ... or `*` for any method.
    pub method: String,
    /// Matches every path that starts with it (the query string is not part of the path).
    pub path_prefix: String,
    pub fault: Fault,
    pub remaining: usize,
}

/// Takes the first queued fault that matches, consuming one of its repetitions.
pub(crate) fn take(queue: &mut Vec<QueuedFault>, method: &str, path: &str) -> Option<Fault> {
    let index = queue
        .iter()
        .position(|q| (q.method == "*" || q.method.eq_ignore_ascii_case(method)) && path.starts_with(&q.path_prefix))?;
    let queued = &mut queue[index];
    let fault = queued.fault.clone();
    queued.remaining -= 1;
    if queued.remaining == 0 {
        queue.remove(index);
    }
    Some(fault)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fault_fires_as_often_as_queued_and_only_on_matching_requests() {
        let mut queue = vec![QueuedFault {
            method: "POST".to_owned(),
            path_prefix: "/repos/acme/web/statuses".to_owned(),
            fault: Fault::Status(502),
            remaining: 2,
        }];
        assert_eq!(take(&mut queue, "GET", "/repos/acme/web/statuses/abc"), None);
        assert_eq!(take(&mut queue, "POST", "/repos/acme/other/statuses/abc"), None);
        assert_eq!(take(&mut queue, "post", "/repos/acme/web/statuses/abc"), Some(Fault::Status(502)));
        assert_eq!(take(&mut queue, "POST", "/repos/acme/web/statuses/abc"), Some(Fault::Status(502)));
        assert_eq!(take(&mut queue, "POST", "/repos/acme/web/statuses/abc"), None);
        assert!(queue.is_empty());
    }
}
