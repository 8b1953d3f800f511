//! Delivering one payload to one webhook: a POST through the pinned client
//! ([`crate::http::send_pinned`]) to addresses the egress rule allows, tried again with a
//! doubling wait (the apply retries' schedule, [`crate::pipeline::retry::wait`]) while the
//! failure may pass, and never longer than the attempts allow.
//!
//! [`Sender`] is the seam: [`HttpSender`] in the binary, a script in unit tests.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;

use crate::cancel::Cancel;
use crate::config::RetryConfig;
use crate::egress::{AddressError, Url};

/// The longest wait between two attempts, however many there are.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// One POST, the seam between delivery and the network.
#[async_trait]
pub trait Sender: Send + Sync {
    /// POSTs `body` with `headers` to `url` within `timeout`: the answer's status, or why
    /// none came.
    async fn post(
        &self,
        url: &Url,
        headers: &[(&'static str, String)],
        body: &[u8],
        timeout: Duration,
    ) -> Result<u16, SendError>;
}

/// Why a POST got no status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// No answer (a connection refused, a timeout, a name that does not resolve): worth
    /// trying again.
    Unreachable(String),
    /// Never sent: the URL's host resolves to an address the manager never connects to.
    Refused(String),
}

/// How a delivery ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    Delivered { attempts: u32, status: u16 },
    Failed { attempts: u32, last: String },
}

impl std::fmt::Display for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let tries = |n: u32| if n == 1 { "1 attempt".to_owned() } else { format!("{n} attempts") };
        match self {
            Self::Delivered { attempts, status } => write!(f, "delivered (HTTP {status}, {})", tries(*attempts)),
            Self::Failed { attempts, last } => write!(f, "not delivered after {}: {last}", tries(*attempts)),
        }
    }
}

/// Whether an answer `status` is worth another attempt: the receiver is down or busy
/// (5xx, 429, 408). Any other answer is final: 2xx delivered, a 3xx (never followed) or
/// 4xx will not change by asking again.
fn retryable(status: u16) -> bool {
    status >= 500 || status == 429 || status == 408
}

/// POSTs `body` to `url` until it is delivered, the failure is final, the attempts of
/// `policy` are spent or the run is cancelled.
pub async fn deliver(
    sender: &dyn Sender,
    url: &Url,
    headers: &[(&'static str, String)],
    body: &[u8],
    policy: &RetryConfig,
    timeout: Duration,
    cancel: &Cancel,
) -> Delivery {
    let mut attempts = 0;
    loop {
        attempts += 1;
        let (last, again) = match sender.post(url, headers, body, timeout).await {
            Ok(status) if (200..300).contains(&status) => return Delivery::Delivered { attempts, status },
            Ok(status) => (format!("HTTP {status}"), retryable(status)),
            Err(SendError::Unreachable(reason)) => (reason, true),
            Err(SendError::Refused(reason)) => (reason, false),
        };
        if !again || attempts >= policy.attempts {
            return Delivery::Failed { attempts, last };
        }
        let wait = crate::pipeline::retry::wait(policy, attempts, fastrand::f64());
        if !cancel.sleep(wait).await {
            return Delivery::Failed { attempts, last: format!("{last}; stopped: {}", cancel.reason()) };
        }
    }
}

/// POSTs over [`crate::http::send_pinned`]: the host is resolved and every address checked
/// at each attempt, the connection goes to those addresses alone, no redirect is followed
/// and the answer's body is never read.
#[derive(Debug, Default)]
pub struct HttpSender;

#[async_trait]
impl Sender for HttpSender {
    async fn post(
        &self,
        url: &Url,
        headers: &[(&'static str, String)],
        body: &[u8],
        timeout: Duration,
    ) -> Result<u16, SendError> {
        let started = Instant::now();
        let addrs = crate::egress::addresses(url, timeout).await.map_err(|e| match e {
            AddressError::Unreachable(reason) => SendError::Unreachable(reason),
            AddressError::Refused(reason) => SendError::Refused(reason),
        })?;
        let mut request = http::Request::post(url.uri().clone()).header(http::header::CONTENT_TYPE, "application/json");
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let request = request
            .body(http_body_util::Full::new(Bytes::copy_from_slice(body)))
            .map_err(|e| SendError::Refused(format!("the request can't be made: {e}")))?;
        let left = timeout.saturating_sub(started.elapsed());
        match crate::http::send_pinned(request, addrs, left).await {
            Ok(status) => Ok(status.as_u16()),
            Err(crate::http::PinnedError::Timeout(_)) => {
                Err(SendError::Unreachable(format!("no answer within {}", crate::duration::human(timeout))))
            }
            Err(crate::http::PinnedError::Transport(reason) | crate::http::PinnedError::Setup(reason)) => {
                Err(SendError::Unreachable(reason))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// Answers from a script, one entry per attempt; the last entry repeats.
    struct Scripted(Mutex<Vec<Result<u16, SendError>>>, Mutex<u32>);

    impl Scripted {
        fn new(answers: Vec<Result<u16, SendError>>) -> Self {
            Self(Mutex::new(answers), Mutex::new(0))
        }
        fn attempts(&self) -> u32 {
            *self.1.lock().expect("lock")
        }
    }

    #[async_trait]
    impl Sender for Scripted {
        async fn post(&self, _: &Url, _: &[(&'static str, String)], _: &[u8], _: Duration) -> Result<u16, SendError> {
            *self.1.lock().expect("lock") += 1;
            let mut answers = self.0.lock().expect("lock");
            if answers.len() > 1 { answers.remove(0) } else { answers[0].clone() }
        }
    }

    const FAST: RetryConfig =
        RetryConfig { attempts: 3, backoff: Duration::from_millis(1), max_backoff: Duration::from_millis(2) };

    async fn run(answers: Vec<Result<u16, SendError>>, policy: &RetryConfig, cancel: &Cancel) -> (Delivery, u32) {
        let sender = Scripted::new(answers);
        let url = Url::parse("http://127.0.0.1:9/hook").expect("url");
        let delivery = deliver(&sender, &url, &[], b"{}", policy, Duration::from_secs(1), cancel).await;
        (delivery, sender.attempts())
    }

    #[tokio::test]
    async fn a_busy_or_unreachable_receiver_is_tried_again_within_the_attempts() {
        let down = || Err(SendError::Unreachable("connection refused".into()));
        let (delivery, attempts) = run(vec![Ok(500), down(), Ok(204)], &FAST, &Cancel::new()).await;
        assert_eq!((delivery, attempts), (Delivery::Delivered { attempts: 3, status: 204 }, 3));
        let (delivery, attempts) = run(vec![Ok(429), Ok(503)], &FAST, &Cancel::new()).await;
        assert_eq!((delivery.to_string().as_str(), attempts), ("not delivered after 3 attempts: HTTP 503", 3));
        let (delivery, _) = run(vec![down()], &FAST, &Cancel::new()).await;
        assert_eq!(delivery.to_string(), "not delivered after 3 attempts: connection refused");
    }

    #[tokio::test]
    async fn a_final_answer_or_a_refused_host_is_not_tried_again() {
        for answer in
            [Ok(404), Ok(301), Ok(400), Err(SendError::Refused("its host resolves to `169.254.169.254`".into()))]
        {
            let (delivery, attempts) = run(vec![answer.clone()], &FAST, &Cancel::new()).await;
            assert_eq!(attempts, 1, "{answer:?}: {delivery}");
            assert!(matches!(delivery, Delivery::Failed { attempts: 1, .. }), "{answer:?}");
        }
        let (delivery, attempts) = run(vec![Ok(200)], &FAST, &Cancel::new()).await;
        assert_eq!((delivery.to_string().as_str(), attempts), ("delivered (HTTP 200, 1 attempt)", 1));
    }

    #[tokio::test]
    async fn a_cancelled_run_stops_waiting_to_try_again() {
        let cancel = Cancel::new();
        cancel.cancel("received SIGTERM");
        let slow = RetryConfig { attempts: 5, backoff: Duration::from_secs(60), max_backoff: Duration::from_secs(60) };
        let (delivery, attempts) = run(vec![Ok(500)], &slow, &cancel).await;
        assert_eq!(attempts, 1);
        assert_eq!(delivery.to_string(), "not delivered after 1 attempt: HTTP 500; stopped: received SIGTERM");
    }
}
