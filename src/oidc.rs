//! GitHub Actions OIDC ID tokens: proof that a dispatch comes from a given workflow run of
//! a given repository and commit.
//!
//! A customer workflow may request an ID token (audience = the manager repository, e.g.
//! `provider/manager`) and attach it to its `repository_dispatch` payload. The manager
//! reads the issuer's keys once ([`fetch_jwks`]: `{issuer}/.well-known/openid-configuration`
//! → `jwks_uri` → keys) and [`verify`]s the token:
//!
//! 1. the header names `RS256` (nothing else: not `none`, not `HS256`) and a `kid` listed
//!    in the JWKS; the signature verifies with that key (ring, through `jsonwebtoken`);
//! 2. `iss` is the configured issuer ([`DEFAULT_ISSUER`] unless configured, e.g. GitHub
//!    Enterprise Server's `https://HOST/_services/token`, or a local server in tests);
//! 3. `aud` is the manager repository;
//! 4. `exp`, `nbf` and `iat` hold at `now`, give or take [`DEFAULT_LEEWAY`];
//! 5. `repository`, `sha`, `ref` and `job_workflow_ref` equal what the dispatch claims.
//!
//! Each failure is its own [`OidcError`] variant naming the claim; no message contains
//! the token. Values taken from an unverified header (`alg`, `kid`) are shown only when
//! short and plain; claim values only after the signature verified, bounded and escaped.
//!
//! For a `pull_request` event, `sha` is the PR's test merge commit and `ref` is
//! `refs/pull/N/merge` (that is what the run checks out), not the head of the PR branch.

use std::time::Duration;

use base64::Engine as _;
use http_body_util::BodyExt as _;
use jiff::Timestamp;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;

use crate::github::RetryPolicy;

/// GitHub's OIDC issuer for Actions on github.com.
pub const DEFAULT_ISSUER: &str = "https://token.actions.githubusercontent.com";
/// Clock skew tolerated on `exp`, `nbf` and `iat`.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(60);
/// Tokens longer than this are refused unread (GitHub's are about 1–2 KiB).
const MAX_TOKEN_BYTES: usize = 16 * 1024;
/// Discovery documents and key sets larger than this are refused.
const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;
/// A key set with more keys than this is refused.
const MAX_KEYS: usize = 64;

/// Why a token was refused, or the keys could not be read. No message contains the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OidcError {
    #[error("the OIDC token is not a well-formed JWT: {0}")]
    Malformed(String),
    #[error("the OIDC token is signed with `{alg}`; only RS256 is accepted")]
    Algorithm { alg: String },
    #[error("the OIDC token has no `kid` header naming its signing key")]
    MissingKeyId,
    #[error("the OIDC token names signing key `{kid}`, which the issuer's keys do not list")]
    UnknownKey { kid: String },
    #[error("the OIDC token's signature does not verify with the issuer's key `{kid}`")]
    Signature { kid: String },
    #[error("the OIDC token has no `{claim}` claim")]
    MissingClaim { claim: &'static str },
    #[error("the OIDC token's `iss` is `{found}`, expected `{expected}`")]
    Issuer { expected: String, found: String },
    #[error("the OIDC token's `aud` is `{found}`, expected `{expected}`")]
    Audience { expected: String, found: String },
    #[error("the OIDC token expired at {expired_at} (`exp`; now {now})")]
    Expired { expired_at: Timestamp, now: Timestamp },
    #[error("the OIDC token is not valid before {not_before} (`nbf`; now {now})")]
    NotYetValid { not_before: Timestamp, now: Timestamp },
    #[error("the OIDC token was issued in the future, at {issued_at} (`iat`; now {now})")]
    IssuedInFuture { issued_at: Timestamp, now: Timestamp },
    #[error("the OIDC token's `repository` is `{found}`, expected `{expected}`")]
    Repository { expected: String, found: String },
    #[error("the OIDC token's `sha` is `{found}`, expected `{expected}`")]
    Sha { expected: String, found: String },
    #[error("the OIDC token's `ref` is `{found}`, expected `{expected}`")]
    Ref { expected: String, found: String },
    #[error("the OIDC token's `job_workflow_ref` is `{found}`, expected `{expected}`")]
    JobWorkflowRef { expected: String, found: String },
    #[error("invalid OIDC issuer URL `{url}`: {reason}")]
    IssuerUrl { url: String, reason: String },
    #[error("can't read the OIDC discovery document `{url}`: {reason}")]
    Discovery { url: String, reason: String },
    #[error("can't read the OIDC signing keys (JWKS) at `{url}`: {reason}")]
    Jwks { url: String, reason: String },
    #[error("the OIDC signing keys (JWKS) are not usable: {0}")]
    InvalidJwks(String),
    #[error("can't get an OIDC ID token from the runner: {0}")]
    Request(String),
}

/// What a token must say to be accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    /// The `iss` claim: the issuer URL, without a trailing `/`.
    pub issuer: String,
    /// The `aud` claim: the manager repository, e.g. `provider/manager`.
    pub audience: String,
    /// `owner/name`, compared without case (GitHub names are case-insensitive).
    pub repository: String,
    /// The 40-hex commit, compared without case.
    pub sha: String,
    /// `refs/heads/main`, `refs/pull/7/merge`, ...; compared exactly.
    pub git_ref: String,
    /// `owner/name/.github/workflows/infra.yml@refs/heads/main`: `owner/name` compared
    /// without case, the path and ref exactly.
    pub job_workflow_ref: String,
    /// Clock skew tolerated on `exp`, `nbf` and `iat`.
    pub leeway: Duration,
}

impl Expected {
    /// Expectations with GitHub's issuer ([`DEFAULT_ISSUER`]) and [`DEFAULT_LEEWAY`].
    pub fn new(
        audience: impl Into<String>,
        repository: impl Into<String>,
        sha: impl Into<String>,
        git_ref: impl Into<String>,
        job_workflow_ref: impl Into<String>,
    ) -> Self {
        Self {
            issuer: DEFAULT_ISSUER.to_owned(),
            audience: audience.into(),
            repository: repository.into(),
            sha: sha.into(),
            git_ref: git_ref.into(),
            job_workflow_ref: job_workflow_ref.into(),
            leeway: DEFAULT_LEEWAY,
        }
    }

    /// Another issuer (GitHub Enterprise Server, or a local server in tests).
    pub fn with_issuer(self, issuer: &str) -> Self {
        Self { issuer: issuer.trim_end_matches('/').to_owned(), ..self }
    }
}

/// The claims of a token that [`verify`] accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    pub issuer: String,
    pub audience: String,
    /// `sub`, e.g. `repo:acme/web:ref:refs/heads/main`.
    pub subject: String,
    pub repository: String,
    pub sha: String,
    pub git_ref: String,
    pub job_workflow_ref: String,
    /// `event_name`, e.g. `push` or `pull_request`, when present.
    pub event_name: Option<String>,
    /// `run_id`, when present.
    pub run_id: Option<String>,
    /// `actor`: who triggered the run, when present.
    pub actor: Option<String>,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
    pub not_before: Option<Timestamp>,
}

/// The issuer's signing keys: RSA keys by `kid`, from a JWKS document.
#[derive(Clone)]
pub struct Jwks {
    keys: Vec<(String, DecodingKey)>,
}

impl Jwks {
    /// Reads a JWKS document (`{"keys": [...]}`). RSA signature keys with a `kid` are kept
    /// (`use` absent or `sig`, `alg` absent or `RS256`); others are skipped. A set with no
    /// usable key is an error.
    pub fn from_json(json: &str) -> Result<Self, OidcError> {
        #[derive(Deserialize)]
        struct Set {
            keys: Vec<Value>,
        }
        let set: Set =
            serde_json::from_str(json).map_err(|e| OidcError::InvalidJwks(format!("not a JWKS document: {e}")))?;
        if set.keys.len() > MAX_KEYS {
            return Err(OidcError::InvalidJwks(format!("{} keys; at most {MAX_KEYS} are accepted", set.keys.len())));
        }
        let text = |key: &Value, name: &str| key.get(name).and_then(Value::as_str).map(str::to_owned);
        let mut keys = Vec::new();
        for key in &set.keys {
            let usable = text(key, "kty").as_deref() == Some("RSA")
                && text(key, "use").is_none_or(|u| u == "sig")
                && text(key, "alg").is_none_or(|a| a == "RS256");
            let (Some(kid), Some(n), Some(e)) = (text(key, "kid"), text(key, "n"), text(key, "e")) else { continue };
            if !usable {
                continue;
            }
            let decoding = DecodingKey::from_rsa_components(&n, &e)
                .map_err(|e| OidcError::InvalidJwks(format!("key `{}`: {e}", shown(&kid))))?;
            keys.push((kid, decoding));
        }
        if keys.is_empty() {
            return Err(OidcError::InvalidJwks("it lists no RSA signing key with a `kid`".to_owned()));
        }
        Ok(Self { keys })
    }

    /// The key ids, in the order listed.
    pub fn key_ids(&self) -> Vec<&str> {
        self.keys.iter().map(|(kid, _)| kid.as_str()).collect()
    }

    fn with_kid<'a>(&'a self, kid: &'a str) -> impl Iterator<Item = &'a DecodingKey> + 'a {
        self.keys.iter().filter(move |(id, _)| id == kid).map(|(_, key)| key)
    }
}

impl std::fmt::Debug for Jwks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jwks").field("kids", &self.key_ids()).finish()
    }
}

/// Verifies an OIDC ID token against the issuer's keys and what the dispatch claims.
pub fn verify(token: &str, jwks: &Jwks, expected: &Expected, now: Timestamp) -> Result<Claims, OidcError> {
    let header = parse_header(token)?;
    if header.alg != "RS256" {
        return Err(OidcError::Algorithm { alg: shown(&header.alg) });
    }
    let kid = header.kid.ok_or(OidcError::MissingKeyId)?;
    let mut candidates = jwks.with_kid(&kid).peekable();
    if candidates.peek().is_none() {
        return Err(OidcError::UnknownKey { kid: shown(&kid) });
    }
    let mut validation = Validation::new(Algorithm::RS256);
    // Time, audience and issuer are checked below, against `now` and with named errors.
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    let mut payload = None;
    for key in candidates {
        match jsonwebtoken::decode::<Value>(token, key, &validation) {
            Ok(data) => {
                payload = Some(data.claims);
                break;
            }
            Err(e) if matches!(e.kind(), jsonwebtoken::errors::ErrorKind::InvalidSignature) => {}
            Err(e) => return Err(OidcError::Malformed(describe(&e))),
        }
    }
    let payload = payload.ok_or_else(|| OidcError::Signature { kid: shown(&kid) })?;
    check_claims(&payload, expected, now)
}

/// The JOSE header fields [`verify`] reads.
#[derive(Debug, Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    crit: Option<Value>,
}

/// The header of a compact JWS with exactly three base64url parts.
fn parse_header(token: &str) -> Result<Header, OidcError> {
    let malformed = |reason: &str| OidcError::Malformed(reason.to_owned());
    if token.len() > MAX_TOKEN_BYTES {
        return Err(OidcError::Malformed(format!(
            "it is {} bytes, at most {MAX_TOKEN_BYTES} are accepted",
            token.len()
        )));
    }
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        return Err(OidcError::Malformed(format!("it has {} dot-separated parts, not 3", parts.len())));
    }
    let base64url = |part: &str| part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if parts[..2].iter().any(|part| part.is_empty()) || !parts.iter().all(|part| base64url(part)) {
        return Err(malformed("its parts are not base64url"));
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(parts[0])
        .map_err(|_| malformed("its header is not base64url"))?;
    let header: Header = serde_json::from_slice(&bytes).map_err(|_| malformed("its header is not a JOSE header"))?;
    if header.crit.is_some() {
        return Err(malformed("its header has critical extensions (`crit`), which are not supported"));
    }
    Ok(header)
}

/// Checks the claims of a token whose signature verified.
fn check_claims(payload: &Value, expected: &Expected, now: Timestamp) -> Result<Claims, OidcError> {
    let text = |claim: &'static str| -> Result<String, OidcError> {
        payload.get(claim).and_then(Value::as_str).map(str::to_owned).ok_or(OidcError::MissingClaim { claim })
    };
    let optional = |claim: &str| match payload.get(claim) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let time = |claim: &'static str| -> Result<Option<Timestamp>, OidcError> {
        match payload.get(claim) {
            None => Ok(None),
            Some(value) => value
                .as_i64()
                .or_else(|| value.as_f64().map(|f| f.floor() as i64))
                .and_then(|seconds| Timestamp::from_second(seconds).ok())
                .map(Some)
                .ok_or_else(|| OidcError::Malformed(format!("its `{claim}` claim is not a time in seconds"))),
        }
    };

    let issuer = text("iss")?;
    if issuer != expected.issuer {
        return Err(OidcError::Issuer { expected: expected.issuer.clone(), found: bounded(&issuer) });
    }
    let audience = match payload.get("aud") {
        Some(Value::String(aud)) => vec![aud.clone()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        _ => return Err(OidcError::MissingClaim { claim: "aud" }),
    };
    if !audience.contains(&expected.audience) {
        return Err(OidcError::Audience { expected: expected.audience.clone(), found: bounded(&audience.join(", ")) });
    }

    let leeway = i64::try_from(expected.leeway.as_secs()).unwrap_or(i64::MAX);
    let expires_at = time("exp")?.ok_or(OidcError::MissingClaim { claim: "exp" })?;
    let issued_at = time("iat")?.ok_or(OidcError::MissingClaim { claim: "iat" })?;
    let not_before = time("nbf")?;
    let now_s = now.as_second();
    if now_s >= expires_at.as_second().saturating_add(leeway) {
        return Err(OidcError::Expired { expired_at: expires_at, now });
    }
    if let Some(not_before) = not_before
        && now_s.saturating_add(leeway) < not_before.as_second()
    {
        return Err(OidcError::NotYetValid { not_before, now });
    }
    if now_s.saturating_add(leeway) < issued_at.as_second() {
        return Err(OidcError::IssuedInFuture { issued_at, now });
    }

    let repository = text("repository")?;
    if !repository.eq_ignore_ascii_case(&expected.repository) {
        return Err(OidcError::Repository { expected: expected.repository.clone(), found: bounded(&repository) });
    }
    let sha = text("sha")?;
    if !sha.eq_ignore_ascii_case(&expected.sha) {
        return Err(OidcError::Sha { expected: expected.sha.clone(), found: bounded(&sha) });
    }
    let git_ref = text("ref")?;
    if git_ref != expected.git_ref {
        return Err(OidcError::Ref { expected: expected.git_ref.clone(), found: bounded(&git_ref) });
    }
    let job_workflow_ref = text("job_workflow_ref")?;
    if !same_workflow_ref(&job_workflow_ref, &expected.job_workflow_ref) {
        return Err(OidcError::JobWorkflowRef {
            expected: expected.job_workflow_ref.clone(),
            found: bounded(&job_workflow_ref),
        });
    }

    Ok(Claims {
        issuer,
        audience: expected.audience.clone(),
        subject: text("sub")?,
        repository,
        sha,
        git_ref,
        job_workflow_ref,
        event_name: optional("event_name"),
        run_id: optional("run_id"),
        actor: optional("actor"),
        issued_at,
        expires_at,
        not_before,
    })
}

/// `owner/name/path@ref`: `owner/name` without case, the rest exactly.
fn same_workflow_ref(found: &str, expected: &str) -> bool {
    fn split(text: &str) -> Option<(&str, &str)> {
        let first = text.find('/')?;
        let second = first + 1 + text[first + 1..].find('/')?;
        Some(text.split_at(second))
    }
    match (split(found), split(expected)) {
        (Some((found_repo, found_rest)), Some((expected_repo, expected_rest))) => {
            found_repo.eq_ignore_ascii_case(expected_repo) && found_rest == expected_rest
        }
        _ => found == expected,
    }
}

/// A value from an unverified header: shown only when short and plain.
fn shown(text: &str) -> String {
    let plain = text.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if plain && !text.is_empty() && text.len() <= 64 { text.to_owned() } else { "(not shown)".to_owned() }
}

/// A claim value from a verified token, for an error message: at most 120 characters,
/// control characters escaped, so it can't start a line of its own in a log.
fn bounded(text: &str) -> String {
    let mut out: String = text.chars().take(120).flat_map(char::escape_debug).collect();
    if text.chars().count() > 120 {
        out.push('…');
    }
    out
}

/// A `jsonwebtoken` error in words, without the token.
fn describe(error: &jsonwebtoken::errors::Error) -> String {
    use jsonwebtoken::errors::ErrorKind;
    match error.kind() {
        ErrorKind::Base64(_) => "a part is not base64url".to_owned(),
        ErrorKind::Json(_) | ErrorKind::Utf8(_) => "its claims are not a JSON object".to_owned(),
        ErrorKind::InvalidAlgorithm => "its algorithm does not match the key".to_owned(),
        other => format!("{other:?}").chars().take(80).collect(),
    }
}

/// Reads the issuer's signing keys: `{issuer}/.well-known/openid-configuration`, then its
/// `jwks_uri`, with the default retry policy and timeouts.
pub async fn fetch_jwks(issuer_url: &str) -> Result<Jwks, OidcError> {
    fetch_jwks_with(issuer_url, &RetryPolicy::default()).await
}

/// [`fetch_jwks`] with another retry policy (tests shrink the delays).
///
/// The issuer must be `https://` (`http://` only on a loopback address, for tests); the
/// discovery document must name the same issuer, and its `jwks_uri` must be on the
/// issuer's own origin, so the keys can't be served from elsewhere.
pub async fn fetch_jwks_with(issuer_url: &str, policy: &RetryPolicy) -> Result<Jwks, OidcError> {
    let issuer = issuer_url.trim().trim_end_matches('/');
    let issuer_uri = check_url(issuer).map_err(|reason| OidcError::IssuerUrl { url: issuer.to_owned(), reason })?;
    let client = Client::new(issuer, &issuer_uri, policy)
        .map_err(|reason| OidcError::IssuerUrl { url: issuer.to_owned(), reason })?;

    let discovery_url = format!("{issuer}/.well-known/openid-configuration");
    let discovery_error = |reason: String| OidcError::Discovery { url: discovery_url.clone(), reason };
    let document = client.get_json(&discovery_url).await.map_err(discovery_error)?;
    let named_issuer = document.get("issuer").and_then(Value::as_str).unwrap_or_default();
    if named_issuer.trim_end_matches('/') != issuer {
        return Err(discovery_error(format!("it names issuer `{}`, not `{issuer}`", bounded(named_issuer))));
    }
    let jwks_url = document
        .get("jwks_uri")
        .and_then(Value::as_str)
        .ok_or_else(|| discovery_error("it has no `jwks_uri`".to_owned()))?
        .to_owned();
    let jwks_uri = check_url(&jwks_url).map_err(|reason| discovery_error(format!("its `jwks_uri`: {reason}")))?;
    if jwks_uri.scheme() != issuer_uri.scheme() || jwks_uri.authority() != issuer_uri.authority() {
        return Err(discovery_error(format!("its `jwks_uri` `{}` is not on the issuer's host", bounded(&jwks_url))));
    }

    let jwks_error = |reason: String| OidcError::Jwks { url: jwks_url.clone(), reason };
    let keys = client.get_json(&jwks_url).await.map_err(jwks_error)?;
    Jwks::from_json(&keys.to_string()).map_err(|e| match e {
        OidcError::InvalidJwks(reason) => jwks_error(reason),
        other => other,
    })
}

/// Asks the GitHub Actions runner for an ID token with `audience` (the customer side: a
/// job with `permissions: id-token: write` has `ACTIONS_ID_TOKEN_REQUEST_URL` and
/// `ACTIONS_ID_TOKEN_REQUEST_TOKEN`). The token is a credential: never print it.
pub async fn request_id_token(request_url: &str, bearer: &str, audience: &str) -> Result<String, OidcError> {
    let fail = |reason: String| OidcError::Request(reason);
    let uri: http::Uri = request_url.parse().map_err(|e: http::uri::InvalidUri| fail(e.to_string()))?;
    let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
        return Err(fail("ACTIONS_ID_TOKEN_REQUEST_URL is not an absolute URL".to_owned()));
    };
    let base: http::Uri =
        format!("{scheme}://{authority}").parse().map_err(|e: http::uri::InvalidUri| fail(e.to_string()))?;
    crate::github::install_crypto_provider();
    let octocrab = octocrab::Octocrab::builder()
        .base_uri(base)
        .map_err(|e| fail(e.to_string()))?
        .add_header(http::header::AUTHORIZATION, format!("bearer {bearer}"))
        .add_header(http::header::ACCEPT, "application/json".to_owned())
        .build()
        .map_err(|e| fail(e.to_string()))?;
    let separator = if request_url.contains('?') { '&' } else { '?' };
    let url = format!("{request_url}{separator}audience={}", audience.replace('/', "%2F"));
    let client = Client { octocrab, policy: RetryPolicy::default() };
    let answer = client.get_json(&url).await.map_err(fail)?;
    answer
        .get("value")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| fail("the answer has no `value`".to_owned()))
}

/// An `https://` URL, or `http://` on a loopback host; no query or fragment.
fn check_url(url: &str) -> Result<http::Uri, String> {
    let uri: http::Uri = url.parse().map_err(|e: http::uri::InvalidUri| e.to_string())?;
    let host = uri.host().unwrap_or_default();
    match uri.scheme_str() {
        Some("https") => {}
        Some("http") if matches!(host, "127.0.0.1" | "localhost" | "[::1]" | "::1") => {}
        Some("http") => return Err("it must be `https://` (`http://` only on a loopback address)".to_owned()),
        _ => return Err("it must start with `https://`".to_owned()),
    }
    if host.is_empty() {
        return Err("it has no host".to_owned());
    }
    if uri.query().is_some() || url.contains('#') {
        return Err("it must not have a query or fragment".to_owned());
    }
    Ok(uri)
}

/// Unauthenticated GETs over the HTTP stack the GitHub client uses (octocrab's hyper and
/// rustls on ring), with the retry policy's attempts and per-request timeout.
struct Client {
    octocrab: octocrab::Octocrab,
    policy: RetryPolicy,
}

impl Client {
    fn new(issuer: &str, issuer_uri: &http::Uri, policy: &RetryPolicy) -> Result<Self, String> {
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
    async fn get_json(&self, url: &str) -> Result<Value, String> {
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const REPO: &str = "acme/web";
    const SHA: &str = "1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b";
    const WORKFLOW: &str = "acme/web/.github/workflows/infra.yml@refs/heads/main";
    const NOW: i64 = 1_800_000_000;

    fn expected() -> Expected {
        Expected::new("provider/manager", REPO, SHA, "refs/heads/main", WORKFLOW)
    }

    fn now() -> Timestamp {
        Timestamp::from_second(NOW).expect("valid")
    }

    fn claims() -> Value {
        json!({
            "iss": DEFAULT_ISSUER,
            "aud": "provider/manager",
            "sub": "repo:acme/web:ref:refs/heads/main",
            "repository": "acme/web",
            "sha": SHA,
            "ref": "refs/heads/main",
            "job_workflow_ref": WORKFLOW,
            "event_name": "push",
            "run_id": "42",
            "iat": NOW - 10,
            "nbf": NOW - 70,
            "exp": NOW + 290,
        })
    }

    fn with(pointer: &str, value: Value) -> Value {
        let mut c = claims();
        match value {
            Value::Null => {
                c.as_object_mut().map(|o| o.remove(pointer));
            }
            value => c[pointer] = value,
        }
        c
    }

    /// What a case expects: accepted, or refused with this message fragment.
    #[test]
    fn table_of_claims() {
        let cases: Vec<(&str, Value, Option<&str>)> = vec![
            ("valid", claims(), None),
            ("aud in a list", with("aud", json!(["other", "provider/manager"])), None),
            ("repository in other case", with("repository", json!("Acme/Web")), None),
            (
                "workflow repo in other case",
                with("job_workflow_ref", json!(WORKFLOW.replace("acme/web", "Acme/Web"))),
                None,
            ),
            ("exp within the leeway", with("exp", json!(NOW - 30)), None),
            ("nbf within the leeway", with("nbf", json!(NOW + 30)), None),
            (
                "wrong issuer",
                with("iss", json!("https://evil.example.com")),
                Some("`iss` is `https://evil.example.com`"),
            ),
            (
                "wrong audience",
                with("aud", json!("provider/other")),
                Some("`aud` is `provider/other`, expected `provider/manager`"),
            ),
            ("no audience", with("aud", Value::Null), Some("no `aud` claim")),
            ("expired", with("exp", json!(NOW - 60)), Some("expired at")),
            ("not yet valid", with("nbf", json!(NOW + 61)), Some("not valid before")),
            ("issued in the future", with("iat", json!(NOW + 61)), Some("issued in the future")),
            ("no exp", with("exp", Value::Null), Some("no `exp` claim")),
            ("exp not a number", with("exp", json!("soon")), Some("`exp` claim is not a time")),
            ("wrong repository", with("repository", json!("mallory/web")), Some("`repository` is `mallory/web`")),
            ("wrong sha", with("sha", json!("f".repeat(40))), Some("`sha` is `ffff")),
            ("wrong ref", with("ref", json!("refs/heads/feature")), Some("`ref` is `refs/heads/feature`")),
            ("ref differs in case", with("ref", json!("refs/heads/Main")), Some("`ref` is")),
            (
                "wrong workflow",
                with("job_workflow_ref", json!("acme/web/.github/workflows/evil.yml@refs/heads/main")),
                Some("`job_workflow_ref` is"),
            ),
            (
                "workflow path differs in case",
                with("job_workflow_ref", json!(WORKFLOW.replace("infra.yml", "Infra.yml"))),
                Some("`job_workflow_ref` is"),
            ),
            ("no repository", with("repository", Value::Null), Some("no `repository` claim")),
            (
                "newline in a claim",
                with("ref", json!("refs/heads/x\n::add-mask::y")),
                Some("`refs/heads/x\\n::add-mask::y`"),
            ),
        ];
        for (case, payload, refused) in cases {
            match (check_claims(&payload, &expected(), now()), refused) {
                (Ok(claims), None) => assert_eq!(claims.sha, SHA, "{case}"),
                (Err(err), Some(fragment)) => assert!(err.to_string().contains(fragment), "{case}: {err}"),
                (got, want) => panic!("{case}: expected {want:?}, got {got:?}"),
            }
        }
    }

    #[test]
    fn each_mismatch_names_its_claim_in_its_own_variant() {
        let check = |payload: Value| check_claims(&payload, &expected(), now()).expect_err("refused");
        assert!(matches!(check(with("repository", json!("x/y"))), OidcError::Repository { .. }));
        assert!(matches!(check(with("sha", json!("0".repeat(40)))), OidcError::Sha { .. }));
        assert!(matches!(check(with("ref", json!("refs/tags/v1"))), OidcError::Ref { .. }));
        assert!(matches!(check(with("job_workflow_ref", json!("x"))), OidcError::JobWorkflowRef { .. }));
        assert!(matches!(check(with("aud", json!("x"))), OidcError::Audience { .. }));
        assert!(matches!(check(with("iss", json!("x"))), OidcError::Issuer { .. }));
    }

    #[test]
    fn headers_are_read_strictly() {
        let encode = |value: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string());
        let token = |header: Value| format!("{}.{}.c2ln", encode(header), encode(json!({})));
        let header = parse_header(&token(json!({"alg": "RS256", "kid": "k1"}))).expect("a header");
        assert_eq!((header.alg.as_str(), header.kid.as_deref()), ("RS256", Some("k1")));
        let refused = [
            ("garbage", "not a jwt".to_owned()),
            ("two parts", "a.b".to_owned()),
            ("four parts", "a.b.c.d".to_owned()),
            ("not base64url", "a+b.c.d".to_owned()),
            ("header not JSON", format!("{}.e30.c2ln", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("x"))),
            ("crit", token(json!({"alg": "RS256", "kid": "k1", "crit": ["exp"]}))),
            ("too long", "a".repeat(MAX_TOKEN_BYTES + 1)),
        ];
        for (case, text) in refused {
            assert!(matches!(parse_header(&text), Err(OidcError::Malformed(_))), "{case}");
        }
    }

    #[test]
    fn values_from_an_unverified_header_are_shown_only_when_plain() {
        assert_eq!(shown("RS256"), "RS256");
        assert_eq!(shown("none"), "none");
        assert_eq!(shown("a\nb"), "(not shown)");
        assert_eq!(shown(&"k".repeat(65)), "(not shown)");
        assert_eq!(shown(""), "(not shown)");
    }

    #[test]
    fn issuer_and_key_urls_must_be_https_or_loopback() {
        for good in ["https://token.actions.githubusercontent.com", "http://127.0.0.1:8080", "http://localhost:1/x"] {
            assert!(check_url(good).is_ok(), "{good}");
        }
        for bad in
            ["http://example.com", "ftp://x", "token.actions.githubusercontent.com", "https://x/?a=b", "https://x/#f"]
        {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn key_sets_keep_rsa_signing_keys_and_refuse_empty_ones() {
        let rsa = |kid: &str, extra: Value| {
            let mut key = json!({"kty": "RSA", "kid": kid, "n": "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw", "e": "AQAB"});
            if let (Value::Object(key), Value::Object(extra)) = (&mut key, extra) {
                key.extend(extra);
            }
            key
        };
        let set = json!({"keys": [
            rsa("sig", json!({"use": "sig", "alg": "RS256"})),
            rsa("plain", json!({})),
            rsa("enc", json!({"use": "enc"})),
            rsa("ps256", json!({"alg": "PS256"})),
            {"kty": "EC", "kid": "ec", "crv": "P-256", "x": "AA", "y": "AA"},
            {"kty": "RSA", "n": "AA", "e": "AQAB"},
        ]});
        let jwks = Jwks::from_json(&set.to_string()).expect("usable keys");
        assert_eq!(jwks.key_ids(), ["sig", "plain"]);
        assert_eq!(format!("{jwks:?}"), r#"Jwks { kids: ["sig", "plain"] }"#);
        for bad in [json!({"keys": []}), json!({"keys": [{"kty": "EC", "kid": "ec"}]}), json!({"nokeys": 1})] {
            assert!(matches!(Jwks::from_json(&bad.to_string()), Err(OidcError::InvalidJwks(_))), "{bad}");
        }
    }
}
