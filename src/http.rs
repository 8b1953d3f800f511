//! The one HTTP client for requests that are not GitHub API calls: the OIDC issuer's
//! discovery document and keys, the runner's ID-token endpoint, the health check after an
//! apply, and the notification webhooks.
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
//!
//! [`status_pinned`] is the GET for a customer-influenced URL, [`send_pinned`] any request
//! to a URL the manager did not choose (a webhook's POST): they connect only to the
//! addresses their caller checked ([`crate::egress`]), never to what a second look-up of the
//! host name would answer, so a DNS answer that changes between the check and the connection
//! (rebinding) reaches nothing new.

use std::future::{Ready, ready};
use std::net::SocketAddr;
use std::task::{Context, Poll};
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

/// GETs `url` within `timeout` for its status only (the body is never read), connecting to
/// `addrs` and nothing else: whatever the host name resolves to now, the connection goes to
/// one of them (the name still goes in the `Host` header and, for `https`, in TLS).
/// No redirect is followed and no proxy is used.
pub async fn status_pinned(
    url: http::Uri,
    addrs: Vec<SocketAddr>,
    timeout: Duration,
) -> Result<http::StatusCode, PinnedError> {
    let request = http::Request::get(url)
        .body(http_body_util::Full::new(Bytes::new()))
        .map_err(|e| PinnedError::Setup(e.to_string()))?;
    send_pinned(request, addrs, timeout).await
}

/// Sends `request` (any method, its headers and body: a webhook's POST) within `timeout`
/// for its status only, connecting to `addrs` alone, as [`status_pinned`] does.
pub async fn send_pinned(
    mut request: http::Request<http_body_util::Full<Bytes>>,
    addrs: Vec<SocketAddr>,
    timeout: Duration,
) -> Result<http::StatusCode, PinnedError> {
    crate::github::install_crypto_provider();
    let provider = rustls::crypto::CryptoProvider::get_default()
        .cloned()
        .ok_or_else(|| PinnedError::Setup("no TLS crypto provider is installed".to_owned()))?;
    let mut connector = hyper_util::client::legacy::connect::HttpConnector::new_with_resolver(Pinned(addrs));
    connector.enforce_http(false);
    connector.set_connect_timeout(Some(timeout));
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(provider)
        .map_err(|e| PinnedError::Setup(format!("loading the TLS roots: {e}")))?
        .https_or_http()
        .enable_http1()
        .wrap_connector(connector);
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .pool_max_idle_per_host(0)
        .build::<_, http_body_util::Full<Bytes>>(connector);
    request.headers_mut().insert(
        http::header::USER_AGENT,
        http::HeaderValue::from_static(concat!("infra-manager/", env!("CARGO_PKG_VERSION"))),
    );
    match tokio::time::timeout(timeout, client.request(request)).await {
        Err(_) => Err(PinnedError::Timeout(timeout)),
        Ok(Err(e)) => Err(PinnedError::Transport(innermost_cause(&e))),
        Ok(Ok(response)) => Ok(response.status()),
    }
}

/// Why a pinned request got no answer.
#[derive(Debug)]
pub enum PinnedError {
    /// The client could not be set up (TLS roots, a malformed request).
    Setup(String),
    /// No answer within the time given.
    Timeout(Duration),
    /// The connection or the exchange failed: the innermost cause.
    Transport(String),
}

/// A resolver that answers every name with the same checked addresses.
#[derive(Debug, Clone)]
struct Pinned(Vec<SocketAddr>);

impl tower_service::Service<hyper_util::client::legacy::connect::dns::Name> for Pinned {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = std::io::Error;
    type Future = Ready<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: hyper_util::client::legacy::connect::dns::Name) -> Self::Future {
        ready(Ok(self.0.clone().into_iter()))
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
