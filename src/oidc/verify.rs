//! Verifying an ID token: its header and RS256 signature against the issuer's keys, then
//! each claim against what the dispatch claims (see the steps in [`crate::oidc`]).

use std::time::Duration;

use base64::Engine as _;
use jiff::Timestamp;
use jsonwebtoken::{Algorithm, Validation};
use serde::Deserialize;
use serde_json::Value;

use super::{DEFAULT_ISSUER, DEFAULT_LEEWAY, Jwks, OidcError, shown};
use crate::diagnostic;

/// Tokens longer than this are refused unread (GitHub's are about 1–2 KiB).
const MAX_TOKEN_BYTES: usize = 16 * 1024;

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
        return Err(OidcError::Issuer { expected: expected.issuer.clone(), found: diagnostic::shown(&issuer) });
    }
    let audience = match payload.get("aud") {
        Some(Value::String(aud)) => vec![aud.clone()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        _ => return Err(OidcError::MissingClaim { claim: "aud" }),
    };
    if !audience.contains(&expected.audience) {
        return Err(OidcError::Audience {
            expected: expected.audience.clone(),
            found: diagnostic::shown(&audience.join(", ")),
        });
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
        return Err(OidcError::Repository {
            expected: expected.repository.clone(),
            found: diagnostic::shown(&repository),
        });
    }
    let sha = text("sha")?;
    if !sha.eq_ignore_ascii_case(&expected.sha) {
        return Err(OidcError::Sha { expected: expected.sha.clone(), found: diagnostic::shown(&sha) });
    }
    let git_ref = text("ref")?;
    if git_ref != expected.git_ref {
        return Err(OidcError::Ref { expected: expected.git_ref.clone(), found: diagnostic::shown(&git_ref) });
    }
    let job_workflow_ref = text("job_workflow_ref")?;
    if !same_workflow_ref(&job_workflow_ref, &expected.job_workflow_ref) {
        return Err(OidcError::JobWorkflowRef {
            expected: expected.job_workflow_ref.clone(),
            found: diagnostic::shown(&job_workflow_ref),
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
                Some("`refs/heads/x\\u{a}::add-mask::y`"),
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
}
