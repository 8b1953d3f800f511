//! Unauthenticated JSON GETs with retries, for discovery and the runner's token endpoint.

use http_body_util::BodyExt as _;
use serde_json::Value;

use crate::github::RetryPolicy;

/// Discovery documents and key sets larger than this are refused.
const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;

/// Unauthenticated GETs over the HTTP stack the GitHub client uses (octocrab's hyper and
/// rustls on ring), with the retry policy's attempts and per-request timeout.
pub(super) struct Client {
    pub(super) octocrab: octocrab::Octocrab,
    pub(super) policy: RetryPolicy,
}

impl Client {
    pub(super) fn new(issuer: &str, issuer_uri: &http::Uri, policy: &RetryPolicy) -> Result<Self, String> {
        crate::github::install_crypto_provider();
        if tokio::runtime::Handle::try_current().is_err() {
            return Err("the OIDC client must be created inside a Tokio runtime".to_owned());
        }
        let octocrab = octocrab::Octocrab::builder()
            .base_uri(issuer_uri.clone())
            .map_err(|e| format!("`{issuer}`: {e}"))?
            .add_header(http::header::ACCEPT, "application/json".to_owned())
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self { octocrab, policy: RetryPolicy { max_attempts: policy.max_attempts.max(1), ..policy.clone() } })
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
        let exchange = async {
            let response = self.octocrab._get(url).await.map_err(|e| (true, e.to_string()))?;
            let (parts, body) = response.into_parts();
            let body = http_body_util::Limited::new(body, MAX_DOCUMENT_BYTES)
                .collect()
                .await
                .map_err(|e| (false, format!("reading the body: {e}")))?
                .to_bytes();
            Ok::<_, (bool, String)>((parts.status, body))
        };
        match tokio::time::timeout(self.policy.request_timeout, exchange).await {
            Err(_) => Attempt::Retry(format!("no complete answer within {:?}", self.policy.request_timeout)),
            Ok(Err((true, reason))) => Attempt::Retry(reason),
            Ok(Err((false, reason))) => Attempt::Done(Err(reason)),
            Ok(Ok((status, _))) if status.is_server_error() || status.as_u16() == 429 => {
                Attempt::Retry(status.to_string())
            }
            Ok(Ok((status, _))) if status != http::StatusCode::OK => Attempt::Done(Err(status.to_string())),
            Ok(Ok((_, body))) => {
                Attempt::Done(serde_json::from_slice(&body).map_err(|e| format!("the answer is not JSON: {e}")))
            }
        }
    }
}

enum Attempt {
    Done(Result<Value, String>),
    Retry(String),
}
