//! GitHub Actions OIDC ID tokens: proof that a dispatch comes from a given workflow run of
//! a given repository and commit.
//!
//! A customer workflow may request an ID token (audience = the manager repository, e.g.
//! `provider/manager`) and attach it to its `repository_dispatch` payload. The manager
//! reads the issuer's keys once ([`fetch_jwks`]: `{issuer}/.well-known/openid-configuration`
//! → `jwks_uri` → keys) and [`verify`](verify())s the token:
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
//! short and plain; claim values only after the signature verified, through
//! [`crate::diagnostic::shown`] (bounded and escaped).
//!
//! For a `pull_request` event, `sha` is the PR's test merge commit and `ref` is
//! `refs/pull/N/merge` (that is what the run checks out), not the head of the PR branch.
//!
//! One concept per module: `verify` checks a token, `keys` reads the issuer's key set,
//! `discovery` finds and fetches those keys, `request` asks the runner for a token (the
//! customer side), and `client` is the JSON GET (over [`crate::http`]) the last two share. Callers use the
//! re-exports below, so the paths stay `crate::oidc::...`.

mod client;
mod discovery;
mod keys;
mod request;
mod verify;

use std::time::Duration;

use jiff::Timestamp;

pub use discovery::{fetch_jwks, fetch_jwks_with};
pub use keys::Jwks;
pub use request::request_id_token;
pub use verify::{Claims, Expected, verify};

/// GitHub's OIDC issuer for Actions on github.com.
pub const DEFAULT_ISSUER: &str = "https://token.actions.githubusercontent.com";
/// Clock skew tolerated on `exp`, `nbf` and `iat`.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(60);

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

/// A value from an unverified header: shown only when short and plain.
fn shown(text: &str) -> String {
    let plain = text.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if plain && !text.is_empty() && text.len() <= 64 { text.to_owned() } else { "(not shown)".to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_from_an_unverified_header_are_shown_only_when_plain() {
        assert_eq!(shown("RS256"), "RS256");
        assert_eq!(shown("none"), "none");
        assert_eq!(shown("a\nb"), "(not shown)");
        assert_eq!(shown(&"k".repeat(65)), "(not shown)");
        assert_eq!(shown(""), "(not shown)");
    }
}
