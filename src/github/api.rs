//! One GitHub REST call at a time, over octocrab's raw request methods, with this
//! project's retry policy (octocrab's own retry layer is compiled out).
//!
//! Each attempt carries its own `Authorization` ([`Auth`]): the one token, or with a
//! GitHub App the installation token of the repository the call acts on
//! ([`Call::scope`]), renewed when near its expiry; octocrab's own auth is off.
//!
//! Callers get the status, headers and body of GitHub's final answer; the retry loop only
//! swallows answers that [`retry::classify`] calls worth retrying, and names the call when
//! it gives up.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode, Uri};
use http_body_util::BodyExt as _;
use octocrab::Octocrab;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::app::{Access, AppAuth};
use super::budget::{self, Pacer};
use super::error::GithubError;
use super::retry::{self, RetryPolicy, Verdict};
use super::token::GithubToken;

/// One REST call: method, path (with query) relative to the API base, optional JSON body.
#[derive(Debug, Clone)]
pub(crate) struct Call<'a> {
    pub method: Method,
    /// Starts with `/`, e.g. `/repos/acme/web/statuses/<sha>`.
    pub path: String,
    pub body: Option<&'a Value>,
    /// The repository the call acts on, and what for: with a GitHub App, which
    /// installation token it carries.
    pub scope: Option<(String, Access)>,
    /// Creates or changes content (a `POST` or `PATCH`): counted apart and paced under
    /// GitHub's secondary limit ([`super::budget`]).
    pub creates: bool,
}

impl<'a> Call<'a> {
    pub(super) fn get(path: String) -> Self {
        Self::new(Method::GET, path, None)
    }

    pub(super) fn post(path: String, body: &'a Value) -> Self {
        Self::new(Method::POST, path, Some(body))
    }

    pub(super) fn patch(path: String, body: &'a Value) -> Self {
        Self::new(Method::PATCH, path, Some(body))
    }

    /// A call under `/repos/{owner}/{repo}` acts on that repository, as a customer
    /// repository unless [`Call::for_access`] says otherwise.
    fn new(method: Method, path: String, body: Option<&'a Value>) -> Self {
        let scope = path.strip_prefix("/repos/").and_then(|rest| {
            let mut parts = rest.split(['/', '?']);
            let (owner, repo) = (parts.next()?, parts.next()?);
            Some((format!("{owner}/{repo}"), Access::Customer))
        });
        let creates = method != Method::GET;
        Self { method, path, body, scope, creates }
    }

    /// The same call, creating no content (the App's token exchange): neither counted as
    /// a write nor paced.
    pub(super) fn creating_nothing(self) -> Self {
        Self { creates: false, ..self }
    }

    /// The same call, made for `access` (the manager repository's issues or dispatches).
    pub(super) fn for_access(mut self, access: Access) -> Self {
        if let Some((_, a)) = &mut self.scope {
            *a = access;
        }
        self
    }

    /// The next page of this listing (a `Link` path GitHub gave, which may name the
    /// repository by id): same method and scope.
    pub(super) fn next(&self, path: String) -> Self {
        Self { method: self.method.clone(), path, body: self.body, scope: self.scope.clone(), creates: self.creates }
    }

    /// `POST /repos/acme/web/statuses/<sha>`: how errors and logs name the call.
    pub(super) fn name(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// GitHub's answer.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    /// `404 Not Found`, with GitHub's message when it said more.
    pub(super) fn reason(&self) -> String {
        retry::status_reason(self.status, self.message().as_deref())
    }

    /// The `message` of a GitHub error body.
    pub(super) fn message(&self) -> Option<String> {
        retry::github_message(&self.body)
    }

    pub(super) fn json<T: DeserializeOwned>(&self, call: &Call<'_>) -> Result<T, GithubError> {
        serde_json::from_slice(&self.body).map_err(|e| GithubError::Unexpected {
            call: call.name(),
            reason: format!("the body is not the expected JSON: {e}"),
        })
    }

    pub(super) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)?.to_str().ok()
    }
}

/// The result of one attempt.
#[derive(Debug)]
pub(crate) enum Attempt {
    Answer(Reply),
    Retry { reason: String, hint: Option<Duration>, maybe_applied: bool },
}

/// Who the calls are made as.
pub(crate) enum Auth {
    /// One token for every call (a personal access token, an Actions `GITHUB_TOKEN`).
    Token(GithubToken),
    /// A GitHub App: an installation token per repository (see `app`).
    App(AppAuth),
}

/// The GitHub REST API at one base URL, with one way to authenticate and one retry policy.
pub(crate) struct Api {
    octocrab: Octocrab,
    base_url: String,
    policy: RetryPolicy,
    auth: Auth,
    /// The run's request to stop: a wait between attempts (a `Retry-After`) ends on it.
    cancel: Option<crate::cancel::Cancel>,
    /// Content creation, paced for every target of the process.
    pacer: Pacer,
}

impl Api {
    pub(super) fn new(api_url: &str, auth: Auth, policy: RetryPolicy) -> Result<Self, GithubError> {
        let base_url = normalize_base_url(api_url)?;
        let base_uri: Uri = base_url.parse().map_err(|e: http::uri::InvalidUri| GithubError::ApiUrl {
            url: api_url.to_owned(),
            reason: e.to_string(),
        })?;
        super::tls::install_crypto_provider();
        // octocrab spawns its request buffer on the current Tokio runtime (and panics without one).
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(GithubError::Client("the GitHub client must be created inside a Tokio runtime".to_owned()));
        }
        let octocrab = Octocrab::builder()
            .base_uri(base_uri)
            .map_err(|e| GithubError::ApiUrl { url: api_url.to_owned(), reason: error_chain(&e) })?
            .add_header(http::header::ACCEPT, "application/vnd.github+json".to_owned())
            .build()
            .map_err(|e| GithubError::Client(error_chain(&e)))?;
        // No octocrab auth: each attempt carries its own `Authorization` (see `bearer`).
        Ok(Self {
            octocrab,
            base_url,
            policy: RetryPolicy { max_attempts: policy.max_attempts.max(1), ..policy },
            auth,
            cancel: None,
            pacer: Pacer::github(),
        })
    }

    /// Ends the waits between attempts when `cancel` fires: a signal must stop the run
    /// within GitHub's cancel window, not after a `Retry-After` of a minute.
    pub(super) fn with_cancel(self, cancel: crate::cancel::Cancel) -> Self {
        Self { cancel: Some(cancel), ..self }
    }

    /// The App in use, if the calls are made as one.
    pub(super) fn app(&self) -> Option<&AppAuth> {
        match &self.auth {
            Auth::App(app) => Some(app),
            Auth::Token(_) => None,
        }
    }

    /// The token `call` is made with: the one token, or the App's installation token for
    /// the repository the call acts on (renewed when near its expiry).
    async fn bearer(&self, call: &Call<'_>) -> Result<GithubToken, GithubError> {
        match (&self.auth, &call.scope) {
            (Auth::Token(token), _) => Ok(token.clone()),
            (Auth::App(app), Some((repo, access))) => app.token(self, repo, *access).await,
            (Auth::App(_), None) => Err(GithubError::Request {
                call: call.name(),
                reason: "a GitHub App installation token only acts on a repository".to_owned(),
            }),
        }
    }

    /// The API base without a trailing slash, e.g. `https://api.github.com`.
    pub(super) fn base_url(&self) -> &str {
        &self.base_url
    }

    pub(super) fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    /// Sends `call`, retrying per the policy; returns GitHub's final answer, whatever its status.
    pub(super) async fn send(&self, call: &Call<'_>) -> Result<Reply, GithubError> {
        let mut failures = 0;
        loop {
            match self.attempt(call).await? {
                Attempt::Answer(reply) => return Ok(reply),
                Attempt::Retry { reason, hint, .. } => {
                    failures += 1;
                    self.back_off(call, failures, reason, hint).await?;
                }
            }
        }
    }

    /// [`Api::send`] with `bearer` instead of the call's own token (the App's JWT).
    pub(super) async fn send_as(&self, call: &Call<'_>, bearer: &GithubToken) -> Result<Reply, GithubError> {
        let mut failures = 0;
        loop {
            match self.attempt_as(call, bearer).await? {
                Attempt::Answer(reply) => return Ok(reply),
                Attempt::Retry { reason, hint, .. } => {
                    failures += 1;
                    self.back_off(call, failures, reason, hint).await?;
                }
            }
        }
    }

    /// Sends `call` and insists on `expected`; any other final status is an error.
    pub(super) async fn expect(&self, call: &Call<'_>, expected: StatusCode) -> Result<Reply, GithubError> {
        let reply = self.send(call).await?;
        if reply.status == expected { Ok(reply) } else { Err(refused(call, &reply)) }
    }

    /// [`Api::expect`] with `bearer` instead of the call's own token (the App's JWT).
    pub(super) async fn expect_as(
        &self,
        call: &Call<'_>,
        bearer: &GithubToken,
        expected: StatusCode,
    ) -> Result<Reply, GithubError> {
        let reply = self.send_as(call, bearer).await?;
        if reply.status == expected { Ok(reply) } else { Err(refused(call, &reply)) }
    }

    /// After the `failures`th retryable failure: waits before the next attempt, or gives up
    /// (naming the call and the last failure) when the attempts are spent.
    pub(super) async fn back_off(
        &self,
        call: &Call<'_>,
        failures: u32,
        reason: String,
        hint: Option<Duration>,
    ) -> Result<(), GithubError> {
        if failures >= self.policy.max_attempts {
            return Err(GithubError::GaveUp { call: call.name(), attempts: failures, reason });
        }
        let delay = self.policy.delay(failures, hint);
        tracing::warn!(
            call = %call.name(),
            attempt = failures,
            max_attempts = self.policy.max_attempts,
            delay_ms = delay.as_millis() as u64,
            "GitHub call failed, retrying: {reason}"
        );
        self.wait(call, reason, tokio::time::sleep(delay)).await
    }

    /// Waits for `done`, unless the run is cancelled first (`reason`: why it waited).
    async fn wait(&self, call: &Call<'_>, reason: String, done: impl Future<Output = ()>) -> Result<(), GithubError> {
        let Some(cancel) = &self.cancel else {
            done.await;
            return Ok(());
        };
        if cancel.is_cancelled() {
            return Err(GithubError::Cancelled { call: call.name(), reason });
        }
        tokio::select! {
            () = done => Ok(()),
            () = cancel.cancelled() => Err(GithubError::Cancelled { call: call.name(), reason }),
        }
    }

    /// One attempt with the call's token, bounded by the request timeout.
    pub(super) async fn attempt(&self, call: &Call<'_>) -> Result<Attempt, GithubError> {
        let bearer = self.bearer(call).await?;
        self.attempt_as(call, &bearer).await
    }

    /// One attempt with `bearer`, bounded by the request timeout.
    async fn attempt_as(&self, call: &Call<'_>, bearer: &GithubToken) -> Result<Attempt, GithubError> {
        let uri: Uri = call
            .path
            .parse()
            .map_err(|e: http::uri::InvalidUri| GithubError::Request { call: call.name(), reason: e.to_string() })?;
        if ![Method::GET, Method::POST, Method::PATCH].contains(&call.method) {
            return Err(GithubError::Request {
                call: call.name(),
                reason: "the client only sends GET, POST and PATCH".to_owned(),
            });
        }
        let mut authorization =
            http::HeaderValue::from_str(&format!("Bearer {}", bearer.expose_secret())).map_err(|_| {
                GithubError::Request { call: call.name(), reason: "the token can't be a header".to_owned() }
            })?;
        authorization.set_sensitive(true);
        let builder = http::Request::builder()
            .method(call.method.clone())
            .uri(uri)
            .header(http::header::AUTHORIZATION, authorization);
        let exchange = async {
            let request = self.octocrab.build_request(builder, call.body)?;
            let response = self.octocrab.execute(request).await?;
            let (parts, body) = response.into_parts();
            let body = body.collect().await?.to_bytes();
            Ok::<_, octocrab::Error>(Reply { status: parts.status, headers: parts.headers, body })
        };
        if call.creates {
            let reason = "waiting for GitHub's content-creation limit".to_owned();
            self.wait(call, reason, async {
                let waited = self.pacer.take().await;
                if waited >= Duration::from_secs(1) {
                    tracing::info!(call = %call.name(), waited_ms = waited.as_millis() as u64, "paced under GitHub's content-creation limit");
                }
            })
            .await?;
        }
        budget::count(call.creates);
        let timeout = self.policy.request_timeout;
        let reply = match tokio::time::timeout(timeout, exchange).await {
            Err(_) => {
                let reason = format!("no complete answer within {}", crate::duration::human(timeout));
                return Ok(Attempt::Retry { reason, hint: None, maybe_applied: true });
            }
            Ok(Err(error)) if is_transport(&error) => {
                return Ok(Attempt::Retry { reason: error_chain(&error), hint: None, maybe_applied: true });
            }
            Ok(Err(error)) => return Err(GithubError::Request { call: call.name(), reason: error_chain(&error) }),
            Ok(Ok(reply)) => reply,
        };
        tracing::debug!(call = %call.name(), status = reply.status.as_u16(), "GitHub answered");
        Ok(match retry::classify(reply.status, &reply.headers, &reply.body, now_unix()) {
            Verdict::Final => Attempt::Answer(reply),
            Verdict::Retry { reason, hint, maybe_applied } => Attempt::Retry { reason, hint, maybe_applied },
        })
    }

    /// The path of the page after `reply` (its `Link: rel="next"`), or `None` on the last
    /// page. A link off the API host, or one back to the same page, is an error: following it
    /// would leak the token or never end.
    pub(super) fn next_page(&self, call: &Call<'_>, reply: &Reply) -> Result<Option<String>, GithubError> {
        let Some(next) = reply.header("link").and_then(super::pagination::next_link) else { return Ok(None) };
        let next = self.relative_path(call, &next)?;
        if next == call.path {
            return Err(GithubError::Unexpected {
                call: call.name(),
                reason: "the next page link points to the same page".to_owned(),
            });
        }
        Ok(Some(next))
    }

    /// Turns an absolute URL GitHub handed out (a pagination link) into a path under the
    /// API base; a URL elsewhere is refused, so the token never leaves the API host.
    pub(super) fn relative_path(&self, call: &Call<'_>, url: &str) -> Result<String, GithubError> {
        url.strip_prefix(&self.base_url).filter(|rest| rest.starts_with('/')).map(str::to_owned).ok_or_else(|| {
            GithubError::Unexpected {
                call: call.name(),
                reason: format!("the pagination link `{url}` is not under `{}`", self.base_url),
            }
        })
    }
}

/// The error for an answer whose status the call does not accept.
pub(crate) fn refused(call: &Call<'_>, reply: &Reply) -> GithubError {
    GithubError::Refused { call: call.name(), status: reply.status.as_u16(), reason: reply.reason() }
}

/// Errors of the connection rather than of the request: worth retrying.
fn is_transport(error: &octocrab::Error) -> bool {
    matches!(error, octocrab::Error::Service { .. } | octocrab::Error::Hyper { .. })
}

/// `outer: inner: innermost`, skipping sources the outer message already quotes.
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let part = cause.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = cause.source();
    }
    text
}

pub(crate) fn now_unix() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// `https://api.github.com/` → `https://api.github.com`; refuses what is not an http(s) URL.
fn normalize_base_url(api_url: &str) -> Result<String, GithubError> {
    let trimmed = api_url.trim().trim_end_matches('/');
    let invalid = |reason: &str| GithubError::ApiUrl { url: api_url.to_owned(), reason: reason.to_owned() };
    let uri: Uri = trimmed.parse().map_err(|e: http::uri::InvalidUri| invalid(&e.to_string()))?;
    match uri.scheme_str() {
        Some("https" | "http") => {}
        _ => return Err(invalid("it must start with `https://` (or `http://` for a local server)")),
    }
    if uri.authority().is_none() {
        return Err(invalid("it has no host"));
    }
    if uri.query().is_some() {
        return Err(invalid("it must not have a query string"));
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_normalized_or_refused() {
        assert_eq!(normalize_base_url("https://api.github.com/").expect("valid"), "https://api.github.com");
        assert_eq!(
            normalize_base_url("https://ghe.example.com/api/v3").expect("valid"),
            "https://ghe.example.com/api/v3"
        );
        assert_eq!(normalize_base_url("http://127.0.0.1:8080").expect("valid"), "http://127.0.0.1:8080");
        for bad in ["", "api.github.com", "ftp://x", "https://x/?a=b"] {
            let err = normalize_base_url(bad).expect_err(bad);
            assert!(err.to_string().contains(&format!("`{bad}`")), "{err}");
        }
    }

    #[test]
    fn a_call_acts_on_the_repository_its_path_names_and_its_next_pages_too() {
        let scope = |call: &Call<'_>| call.scope.clone();
        let call = Call::get("/repos/acme/web/issues/1/comments?per_page=100".to_owned());
        assert_eq!(scope(&call), Some(("acme/web".to_owned(), Access::Customer)));
        assert_eq!(
            scope(&Call::get("/repos/acme/web?x=1".to_owned())),
            Some(("acme/web".to_owned(), Access::Customer))
        );
        // GitHub's next-page links may name the repository by id: the scope carries over.
        let next = call.next("/repositories/42/issues/1/comments?page=2".to_owned());
        assert_eq!(scope(&next), Some(("acme/web".to_owned(), Access::Customer)));
        let issues = Call::get("/repos/p/manager/issues".to_owned()).for_access(Access::Issues);
        assert_eq!(scope(&issues), Some(("p/manager".to_owned(), Access::Issues)));
        assert_eq!(scope(&Call::get("/user".to_owned())), None);
        assert_eq!(scope(&Call::get("/app".to_owned()).for_access(Access::Issues)), None);
    }

    #[test]
    fn outside_a_runtime_the_client_is_an_error_not_a_panic() {
        let token = GithubToken::new("t").expect("token");
        let err =
            Api::new("https://api.github.com", Auth::Token(token), RetryPolicy::fast()).err().expect("no runtime");
        assert!(err.to_string().contains("inside a Tokio runtime"), "{err}");
    }

    #[tokio::test]
    async fn pagination_links_must_stay_under_the_base() {
        let token = GithubToken::new("t").expect("token");
        let api = Api::new("https://ghe.example.com/api/v3", Auth::Token(token), RetryPolicy::fast()).expect("client");
        let call = Call::get("/repos/acme/web/issues/1/comments".to_owned());
        assert_eq!(
            api.relative_path(&call, "https://ghe.example.com/api/v3/repositories/42/issues/1/comments?page=2")
                .expect("under the base"),
            "/repositories/42/issues/1/comments?page=2"
        );
        for elsewhere in
            ["https://evil.example.com/api/v3/x", "https://ghe.example.com/api/v30/x", "https://ghe.example.com/x"]
        {
            assert!(api.relative_path(&call, elsewhere).is_err(), "{elsewhere}");
        }
    }
}
