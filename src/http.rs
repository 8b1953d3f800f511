//! The one HTTP client for GETs that are not GitHub API calls: the OIDC issuer's discovery
//! document and keys, the runner's ID-token endpoint, and the health check after an apply.
//!
//! It is built on the stack the GitHub client uses (octocrab's hyper, rustls on ring), so
//! the binary has one TLS stack. Every GET made through it:
//! - follows no redirect: octocrab is built without its `follow-redirect` feature, so a
//!   `3xx` is an answer like any other (the health check relies on that);
//! - is bounded in time as a whole (connect, answer and any body read);
//! - reads at most a given number of body bytes, or none at all ([`Client::status`]).
//!
//! The user agent is octocrab's own (`octocrab`): it always sends it and appends any header
//! given here, so setting another would send two.

use std::time::Duration;

use bytes::Bytes;
use http::header::HeaderName;
use http_body_util::BodyExt as _;

/// A client for one origin (`scheme://authority`): requests name paths or full URLs on it.
#[derive(Debug, Clone)]
pub struct Client {
    octocrab: octocrab::Octocrab,
}

/// Why a GET got no usable answer.
#[derive(Debug)]
pub enum GetError {
    /// No complete answer within the time given.
    Timeout(Duration),
    /// The request could not be made or answered (DNS, connection, TLS): worth retrying.
    Transport(octocrab::Error),
    /// The body could not be read, or is larger than the limit.
    Body(String),
}

/// A status and the (bounded) body that came with it.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: http::StatusCode,
    pub body: Bytes,
}

impl Client {
    /// A client for `origin`, sending `headers` with every request. Must be called inside a
    /// Tokio runtime (octocrab spawns its request buffer on it).
    pub fn new(origin: http::Uri, headers: &[(HeaderName, String)]) -> Result<Self, String> {
        crate::github::install_crypto_provider();
        if tokio::runtime::Handle::try_current().is_err() {
            return Err("the HTTP client must be created inside a Tokio runtime".to_owned());
        }
        let mut builder = octocrab::Octocrab::builder().base_uri(origin).map_err(|e| e.to_string())?;
        for (name, value) in headers {
            builder = builder.add_header(name.clone(), value.clone());
        }
        let octocrab = builder.build().map_err(|e| e.to_string())?;
        Ok(Self { octocrab })
    }

    /// GETs `url` within `timeout` and reads at most `limit` bytes of its body.
    pub async fn get(&self, url: impl TryInto<http::Uri>, limit: usize, timeout: Duration) -> Result<Answer, GetError> {
        let exchange = async {
            let response = self.octocrab._get(url).await.map_err(GetError::Transport)?;
            let (parts, body) = response.into_parts();
            let body = http_body_util::Limited::new(body, limit)
                .collect()
                .await
                .map_err(|e| GetError::Body(format!("reading the body: {e}")))?
                .to_bytes();
            Ok(Answer { status: parts.status, body })
        };
        tokio::time::timeout(timeout, exchange).await.unwrap_or(Err(GetError::Timeout(timeout)))
    }

    /// GETs `url` within `timeout` for its status only: the body is never read.
    pub async fn status(&self, url: impl TryInto<http::Uri>, timeout: Duration) -> Result<http::StatusCode, GetError> {
        match tokio::time::timeout(timeout, self.octocrab._get(url)).await {
            Err(_) => Err(GetError::Timeout(timeout)),
            Ok(Err(e)) => Err(GetError::Transport(e)),
            Ok(Ok(response)) => Ok(response.status()),
        }
    }
}

/// The innermost cause of an error (`Connection refused (os error 111)`), bounded: the
/// outer layers only repeat that a request failed.
pub fn innermost_cause(error: &dyn std::error::Error) -> String {
    let mut cause = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    crate::report::truncate_chars(&cause.to_string(), 200)
}
