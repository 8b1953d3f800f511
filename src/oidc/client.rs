//! JSON GETs with retries, for discovery and the runner's token endpoint, over the shared
//! HTTP client ([`crate::http`]).

use serde_json::Value;

use crate::github::RetryPolicy;
use crate::http::GetError;

/// Discovery documents and key sets larger than this are refused.
const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;

/// GETs on one origin with the retry policy's attempts and per-request timeout.
pub(super) struct Client {
    http: crate::http::Client,
    policy: RetryPolicy,
}

impl Client {
    /// A client for `origin`, sending `headers` (`Accept: application/json` is added).
    pub(super) fn new(
        origin: http::Uri,
        headers: &[(http::header::HeaderName, String)],
        policy: &RetryPolicy,
    ) -> Result<Self, String> {
        let mut all = vec![(http::header::ACCEPT, "application/json".to_owned())];
        all.extend_from_slice(headers);
        let http = crate::http::Client::new(origin, &all)?;
        Ok(Self { http, policy: RetryPolicy { max_attempts: policy.max_attempts.max(1), ..policy.clone() } })
    }

    /// GETs `url` and parses its JSON body; 5xx, 429, timeouts and connection errors are
    /// retried, any other non-200 answer is final.
    pub(super) async fn get_json(&self, url: &str) -> Result<Value, String> {
        let mut failures = 0;
        loop {
            let reason = match self.attempt(url).await {
                Attempt::Done(result) => return result,
                Attempt::Retry(reason) => reason,
            };
            failures += 1;
            if failures >= self.policy.max_attempts {
                return Err(format!("{reason} (gave up after {failures} attempts)"));
            }
            tokio::time::sleep(self.policy.delay(failures, None)).await;
        }
    }

    async fn attempt(&self, url: &str) -> Attempt {
        match self.http.get(url, MAX_DOCUMENT_BYTES, self.policy.request_timeout).await {
            Err(GetError::Timeout(timeout)) => {
                Attempt::Retry(format!("no complete answer within {}", crate::duration::human(timeout)))
            }
            Err(GetError::Transport(e)) => Attempt::Retry(e.to_string()),
            Err(GetError::Body(reason)) => Attempt::Done(Err(reason)),
            Ok(answer) if answer.status.is_server_error() || answer.status.as_u16() == 429 => {
                Attempt::Retry(answer.status.to_string())
            }
            Ok(answer) if answer.status != http::StatusCode::OK => Attempt::Done(Err(answer.status.to_string())),
            Ok(answer) => {
                Attempt::Done(serde_json::from_slice(&answer.body).map_err(|e| format!("the answer is not JSON: {e}")))
            }
        }
    }
}

enum Attempt {
    Done(Result<Value, String>),
    Retry(String),
}
