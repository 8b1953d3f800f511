//! The check after an apply: when the module outputs `health_check_url` (and optionally
//! `health_check_status`, default 200), poll that URL with bounded exponential backoff until
//! it answers the expected status, or fail the run saying what it last saw.
//!
//! The schedule ([`Backoff::waits`]) and the reading of the outputs ([`wanted`]) are pure;
//! [`poll`] runs the schedule against a [`Probe`] (the seam: [`HttpProbe`] in the binary, a
//! script in tests). The URL is customer-influenced text: only `http`/`https`, no
//! credentials, no link-local hosts (cloud metadata), no redirects followed (a `3xx` is an
//! answer like any other), no body read, each request bounded in time.

use std::fmt;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde::Serialize;
use serde_json::Value;

use crate::cancel::Cancel;
use crate::config::HealthConfig;
use crate::egress::{AddressError, shown};
pub use crate::egress::{Host, Url as HealthUrl};
use crate::output;
use crate::terraform::{Output, Outputs};

/// The output naming the URL to poll.
pub const URL_OUTPUT: &str = "health_check_url";
/// The optional output naming the expected HTTP status.
pub const STATUS_OUTPUT: &str = "health_check_status";
/// The status expected when the module names none.
pub const DEFAULT_STATUS: u16 = 200;
/// The most polls one check makes, however small the interval.
const MAX_POLLS: usize = 1000;

/// When to poll: first at once, then after `interval`, doubling up to `max_interval`, the
/// last poll at `timeout` at the latest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub interval: Duration,
    pub max_interval: Duration,
    pub timeout: Duration,
}

impl From<&HealthConfig> for Backoff {
    fn from(c: &HealthConfig) -> Self {
        Self { interval: c.interval, max_interval: c.max_interval, timeout: c.timeout }
    }
}

impl Backoff {
    /// The waits between polls (one fewer than the polls). Each wait doubles the one before,
    /// up to `max_interval`; the last is cut so no poll is later than `timeout`.
    pub fn waits(&self) -> Vec<Duration> {
        let mut waits = Vec::new();
        let mut at = Duration::ZERO;
        for next in crate::duration::doubling(self.interval.max(Duration::from_millis(1)), self.max_interval) {
            if at >= self.timeout || waits.len() + 1 >= MAX_POLLS {
                break;
            }
            let wait = next.min(self.timeout - at);
            waits.push(wait);
            at += wait;
        }
        waits
    }
}

/// What to check, read from the apply's outputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub url: HealthUrl,
    pub expected: u16,
}

/// Whether the apply's outputs ask for a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wanted {
    Check(Check),
    /// No check, and why (said in the status and the record).
    Skip(&'static str),
}

/// Reads `health_check_url` and `health_check_status`. A missing or empty URL skips the
/// check; one that can't be used, or is sensitive (never read), fails it.
pub fn wanted(outputs: &Outputs) -> Result<Wanted, HealthError> {
    let bad = |reason: String| HealthError::BadOutput { output: URL_OUTPUT, reason };
    let url = match outputs.get(URL_OUTPUT) {
        None => return Ok(Wanted::Skip("the module has no `health_check_url` output")),
        Some(Output::Sensitive) => {
            return Err(
                bad("it is sensitive, and a sensitive value is never read; mark it `sensitive = false`".into()),
            );
        }
        Some(Output::Value(Value::Null)) => return Ok(Wanted::Skip("the module's `health_check_url` output is empty")),
        Some(Output::Value(Value::String(s))) if s.is_empty() => {
            return Ok(Wanted::Skip("the module's `health_check_url` output is empty"));
        }
        Some(Output::Value(Value::String(s))) => {
            HealthUrl::parse(s).map_err(|reason| bad(format!("`{}` can't be polled: {reason}", shown(s))))?
        }
        Some(Output::Value(_)) => return Err(bad("it is not a string".into())),
    };
    let expected = match outputs.get(STATUS_OUTPUT) {
        None | Some(Output::Value(Value::Null)) => DEFAULT_STATUS,
        Some(Output::Value(v)) => status_of(v).ok_or_else(|| HealthError::BadOutput {
            output: STATUS_OUTPUT,
            reason: "it is not an HTTP status between 100 and 599".into(),
        })?,
        Some(Output::Sensitive) => {
            return Err(HealthError::BadOutput { output: STATUS_OUTPUT, reason: "it is sensitive".into() });
        }
    };
    Ok(Wanted::Check(Check { url, expected }))
}

fn status_of(value: &Value) -> Option<u16> {
    let n = match value {
        Value::Number(n) => n.as_u64()?,
        Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    u16::try_from(n).ok().filter(|n| (100..=599).contains(n))
}

/// One GET, the seam between the poller and the network.
#[async_trait]
pub trait Probe: Send + Sync {
    /// GETs `url` within `timeout`: the answer's status code, or why no answer came.
    async fn get(&self, url: &HealthUrl, timeout: Duration) -> Result<u16, ProbeError>;
}

/// Why a poll got no status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeError {
    /// No answer (yet): the poll is tried again on schedule.
    Unreachable(String),
    /// The URL's host resolves to an address the manager never connects to: nothing was
    /// connected to, and the check stops at once.
    Refused(String),
}

/// What the last poll saw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Seen {
    Status(u16),
    Error(String),
}

impl fmt::Display for Seen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Status(code) => write!(f, "answered {code}"),
            Self::Error(reason) => write!(f, "could not be reached ({reason})"),
        }
    }
}

/// The outcome of the check after a successful apply.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Health {
    Healthy {
        url: String,
        status: u16,
        polls: u32,
        #[serde(rename = "waited_secs", serialize_with = "secs")]
        waited: Duration,
    },
    Skipped {
        reason: String,
    },
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 10.0).round() / 10.0)
}

impl Health {
    /// For the commit status and the record: `healthy (HTTP 200 after 3 polls, 4.2 s)`.
    pub fn status_line(&self) -> String {
        match self {
            Self::Healthy { status, polls, waited, .. } => {
                format!("healthy (HTTP {status} after {polls} {}, {})", plural(*polls), human(*waited))
            }
            Self::Skipped { reason } => format!("no health check: {reason}"),
        }
    }
}

fn plural(polls: u32) -> &'static str {
    if polls == 1 { "poll" } else { "polls" }
}

// Re-exported because `pipeline/retry.rs` takes it from here.
pub(crate) use crate::duration::human;

/// Why the check after an apply failed; the apply itself went through.
#[derive(Debug, thiserror::Error)]
pub enum HealthError {
    #[error("applied, but the module's `{output}` output can't be used for the health check: {reason}")]
    BadOutput { output: &'static str, reason: String },
    #[error("applied, but unhealthy: {url} {last} after {polls} {} over {} (expected {expected})", plural(*.polls), human(*.waited))]
    Unhealthy { url: String, expected: u16, last: Seen, polls: u32, waited: Duration },
    #[error("applied; the health check of {url} was stopped after {polls} {}: {reason}", plural(*.polls))]
    Cancelled { url: String, polls: u32, reason: String },
}

impl HealthError {
    pub fn hint(&self) -> String {
        match self {
            Self::BadOutput { .. } => {
                "the change is applied; fix the module's health outputs (an `http(s)://` URL, a status such as 200)"
                    .to_owned()
            }
            Self::Unhealthy { .. } => {
                "the change is applied but the service did not come up: look at its logs, fix it \
                and push again (or give it longer with `health.timeout` in infra-manager.yml)"
                    .to_owned()
            }
            Self::Cancelled { .. } => "the change is applied; check the service yourself".to_owned(),
        }
    }
}

/// Polls `check.url` on the `backoff` schedule until it answers `check.expected`; each
/// request is bounded by `request_timeout`, and `cancel` stops the polling at once.
pub async fn poll(
    probe: &dyn Probe,
    check: &Check,
    backoff: &Backoff,
    request_timeout: Duration,
    cancel: &Cancel,
) -> Result<Health, HealthError> {
    let url = check.url.to_string();
    output::log(&format!(
        "» health check: GET {url} until it answers {} (for up to {})",
        check.expected,
        human(backoff.timeout)
    ));
    let start = Instant::now();
    let mut polls = 0;
    let mut last = Seen::Error("not polled".to_owned());
    let stopped = |polls| HealthError::Cancelled { url: url.clone(), polls, reason: cancel.reason() };
    for wait in std::iter::once(Duration::ZERO).chain(backoff.waits()) {
        if !cancel.sleep(wait).await {
            return Err(stopped(polls));
        }
        polls += 1;
        let answer = tokio::select! {
            biased;
            () = cancel.cancelled() => return Err(stopped(polls)),
            answer = probe.get(&check.url, request_timeout) => answer,
        };
        last = match answer {
            Ok(status) if status == check.expected => {
                let healthy = Health::Healthy { url, status, polls, waited: start.elapsed() };
                output::log(&format!("  │ {}", healthy.status_line()));
                return Ok(healthy);
            }
            Ok(status) => Seen::Status(status),
            Err(ProbeError::Unreachable(reason)) => Seen::Error(reason),
            Err(ProbeError::Refused(reason)) => {
                return Err(HealthError::BadOutput {
                    output: URL_OUTPUT,
                    reason: format!("`{url}` can't be polled: {reason}"),
                });
            }
        };
        output::log(&format!("  │ poll {polls}: {last}"));
    }
    Err(HealthError::Unhealthy { url, expected: check.expected, last, polls, waited: start.elapsed() })
}

/// GETs that connect only to checked addresses ([`crate::http::status_pinned`]): the host
/// name is resolved at each poll, every address it resolves to is checked, and the
/// connection goes to those addresses alone. No redirects followed, no credentials sent, the
/// body never read.
#[derive(Debug, Default)]
pub struct HttpProbe;

impl HttpProbe {
    pub const fn new() -> Self {
        Self
    }
}

#[async_trait]
impl Probe for HttpProbe {
    async fn get(&self, url: &HealthUrl, timeout: Duration) -> Result<u16, ProbeError> {
        let started = Instant::now();
        let addrs = crate::egress::addresses(url, timeout).await.map_err(|e| match e {
            AddressError::Unreachable(reason) => ProbeError::Unreachable(reason),
            AddressError::Refused(reason) => ProbeError::Refused(reason),
        })?;
        let left = timeout.saturating_sub(started.elapsed());
        match crate::http::status_pinned(url.uri().clone(), addrs, left).await {
            Ok(status) => Ok(status.as_u16()),
            Err(crate::http::PinnedError::Timeout(_)) => {
                Err(ProbeError::Unreachable(format!("no answer within {}", human(timeout))))
            }
            Err(crate::http::PinnedError::Transport(reason) | crate::http::PinnedError::Setup(reason)) => {
                Err(ProbeError::Unreachable(reason))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::egress::tests::METADATA_FORMS;
    use serde_json::json;
    use std::net::SocketAddr;
    use std::sync::Mutex;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    fn outputs(pairs: Value) -> Outputs {
        let map: serde_json::Map<String, Value> = pairs
            .as_object()
            .expect("object")
            .iter()
            .map(|(k, v)| (k.clone(), json!({ "sensitive": false, "type": "string", "value": v })))
            .collect();
        Outputs::from_message(&Value::Object(map))
    }

    #[test]
    fn the_schedule_doubles_up_to_the_cap_and_ends_at_the_timeout() {
        let secs = Duration::from_secs;
        let b = Backoff { interval: secs(2), max_interval: secs(30), timeout: secs(300) };
        let waits = b.waits();
        assert_eq!(waits[..5], [secs(2), secs(4), secs(8), secs(16), secs(30)]);
        assert_eq!(waits.iter().sum::<Duration>(), secs(300), "the last poll is at the timeout");
        assert_eq!(waits.len() + 1, 14, "polls at 0, 2, 6, 14, 30, 60, …, 300");
        // A timeout that falls between two polls: the last wait is cut.
        let b = Backoff { interval: MS(100), max_interval: secs(1), timeout: secs(3) };
        assert_eq!(b.waits(), [MS(100), MS(200), MS(400), MS(800), MS(1000), MS(500)]);
        // Nothing to wait for: one poll.
        assert!(Backoff { timeout: Duration::ZERO, ..b }.waits().is_empty());
        // A tiny interval is still bounded in polls.
        let b = Backoff { interval: MS(1), max_interval: MS(1), timeout: secs(3600) };
        assert_eq!(b.waits().len() + 1, MAX_POLLS);
    }

    /// A server on 127.0.0.1 that counts the connections it accepts and answers `204`.
    struct Recorder {
        port: u16,
        connections: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    }

    impl Recorder {
        async fn start() -> Self {
            use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let port = listener.local_addr().expect("addr").port();
            let connections = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let counted = std::sync::Arc::clone(&connections);
            tokio::spawn(async move {
                while let Ok((mut stream, _)) = listener.accept().await {
                    counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let mut buf = [0_u8; 4096];
                    let _ = stream.read(&mut buf).await;
                    let _ = stream.write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n").await;
                }
            });
            Self { port, connections }
        }

        fn connections(&self) -> usize {
            self.connections.load(std::sync::atomic::Ordering::SeqCst)
        }
    }

    #[tokio::test]
    async fn the_probe_connects_to_checked_addresses_only() {
        let server = Recorder::start().await;
        let check = |url: String| async move {
            let url = HealthUrl::parse(&url).expect("allowed");
            HttpProbe::new().get(&url, Duration::from_secs(5)).await
        };
        // The allowed forms reach the recording server: a literal, a numeric spelling, a name.
        for url in [
            format!("http://127.0.0.1:{}/h", server.port),
            format!("http://2130706433:{}/h", server.port),
            format!("http://localhost:{}/h", server.port),
        ] {
            assert_eq!(check(url.clone()).await, Ok(204), "{url}");
        }
        assert_eq!(server.connections(), 3);
        // A name is pinned: the connection goes to the checked addresses, whatever the host.
        let url = HealthUrl::parse("http://rebinding.invalid/h").expect("a name");
        let addrs = vec![SocketAddr::from(([127, 0, 0, 1], server.port))];
        let status = crate::http::status_pinned(url.uri().clone(), addrs, Duration::from_secs(5)).await;
        assert_eq!(status.ok().map(|s| s.as_u16()), Some(204));
        assert_eq!(server.connections(), 4);
        // A refused literal can't even become a URL to poll; the probe never sees it.
        for form in METADATA_FORMS {
            assert!(HealthUrl::parse(&form.replace("/latest/meta-data", "/")).is_err(), "{form}");
        }
        assert_eq!(server.connections(), 4, "no refused form connected");
    }

    #[tokio::test]
    async fn a_refused_host_stops_the_check_at_once() {
        let probe = Scripted(
            Mutex::new(vec![Err(ProbeError::Refused("its host `x` resolves to `169.254.169.254`".into()))]),
            Mutex::new(0),
        );
        let error = poll(&probe, &check(), &FAST, MS(10), &Cancel::new()).await.expect_err("refused");
        let message = error.to_string();
        assert!(matches!(error, HealthError::BadOutput { .. }), "{error:?}");
        assert!(
            message
                .contains("`https://app.example/health` can't be polled: its host `x` resolves to `169.254.169.254`"),
            "{message}"
        );
        assert_eq!(probe.polls(), 1);
    }

    #[test]
    fn the_outputs_say_whether_and_what_to_check() {
        assert_eq!(wanted(&Outputs::default()).ok(), Some(Wanted::Skip("the module has no `health_check_url` output")));
        assert!(matches!(wanted(&outputs(json!({ "health_check_url": null }))), Ok(Wanted::Skip(_))));
        let check = |v: Value| match wanted(&outputs(v)) {
            Ok(Wanted::Check(c)) => Ok((c.url.to_string(), c.expected)),
            Ok(Wanted::Skip(s)) => Err(s.to_owned()),
            Err(e) => Err(e.to_string()),
        };
        assert_eq!(
            check(json!({ "health_check_url": "https://a.example/h" })),
            Ok(("https://a.example/h".into(), 200))
        );
        assert_eq!(
            check(json!({ "health_check_url": "https://a.example/h", "health_check_status": "204" })),
            Ok(("https://a.example/h".into(), 204))
        );
        let error = check(json!({ "health_check_url": "https://a.example/h", "health_check_status": 42 }));
        assert!(error.expect_err("bad status").contains("`health_check_status`"));
        let error = check(json!({ "health_check_url": "gopher://a.example/" })).expect_err("bad scheme");
        assert!(error.contains("`gopher://a.example/` can't be polled"), "{error}");
        let sensitive =
            Outputs::from_message(&json!({ "health_check_url": { "sensitive": true, "value": "https://x/" } }));
        let error = wanted(&sensitive).expect_err("sensitive").to_string();
        assert!(error.contains("sensitive") && !error.contains("https://x/"), "{error}");
    }

    /// Answers from a script, one entry per poll; the last entry repeats.
    struct Scripted(Mutex<Vec<Result<u16, ProbeError>>>, Mutex<u32>);

    impl Scripted {
        fn new(answers: Vec<Result<u16, &str>>) -> Self {
            let answers = answers.into_iter().map(|a| a.map_err(|e| ProbeError::Unreachable(e.to_owned()))).collect();
            Self(Mutex::new(answers), Mutex::new(0))
        }
        fn polls(&self) -> u32 {
            *self.1.lock().expect("lock")
        }
    }

    #[async_trait]
    impl Probe for Scripted {
        async fn get(&self, _url: &HealthUrl, _timeout: Duration) -> Result<u16, ProbeError> {
            *self.1.lock().expect("lock") += 1;
            let mut answers = self.0.lock().expect("lock");
            if answers.len() > 1 { answers.remove(0) } else { answers[0].clone() }
        }
    }

    fn check() -> Check {
        Check { url: HealthUrl::parse("https://app.example/health").expect("valid"), expected: 200 }
    }

    const FAST: Backoff = Backoff {
        interval: Duration::from_millis(1),
        max_interval: Duration::from_millis(2),
        timeout: Duration::from_millis(20),
    };

    #[tokio::test]
    async fn polling_stops_at_the_expected_answer() {
        let probe = Scripted::new(vec![Err("connection refused"), Ok(503), Ok(503), Ok(200), Ok(500)]);
        let health = poll(&probe, &check(), &FAST, MS(10), &Cancel::new()).await.expect("healthy");
        assert!(matches!(health, Health::Healthy { status: 200, polls: 4, .. }), "{health:?}");
        assert!(health.status_line().starts_with("healthy (HTTP 200 after 4 polls, "), "{}", health.status_line());
        assert_eq!(probe.polls(), 4);
    }

    #[tokio::test]
    async fn a_service_that_never_answers_as_expected_fails_with_what_was_last_seen() {
        let probe = Scripted::new(vec![Err("connection refused"), Ok(503)]);
        let error = poll(&probe, &check(), &FAST, MS(10), &Cancel::new()).await.expect_err("unhealthy");
        let polls = u32::try_from(FAST.waits().len() + 1).expect("small");
        match &error {
            HealthError::Unhealthy { last, polls: n, expected, .. } => {
                assert_eq!((last, *n, *expected), (&Seen::Status(503), polls, 200));
            }
            other => panic!("expected Unhealthy, got {other:?}"),
        }
        let message = error.to_string();
        assert!(
            message.starts_with(&format!(
                "applied, but unhealthy: https://app.example/health answered 503 after {polls} polls over "
            )),
            "{message}"
        );
        assert_eq!(probe.polls(), polls);
        let probe = Scripted::new(vec![Err("connection refused")]);
        let message = poll(&probe, &check(), &FAST, MS(10), &Cancel::new()).await.expect_err("down").to_string();
        assert!(message.contains("could not be reached (connection refused)"), "{message}");
    }

    #[tokio::test]
    async fn cancellation_stops_the_polling() {
        let cancel = Cancel::new();
        cancel.cancel("received SIGTERM");
        let probe = Scripted::new(vec![Ok(503)]);
        let slow = Backoff {
            interval: Duration::from_secs(60),
            max_interval: Duration::from_secs(60),
            timeout: Duration::from_secs(3600),
        };
        let error = poll(&probe, &check(), &slow, MS(10), &cancel).await.expect_err("cancelled");
        assert!(matches!(error, HealthError::Cancelled { .. }), "{error:?}");
        assert_eq!(probe.polls(), 0);
    }
}
