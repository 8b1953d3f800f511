//! `oidc::verify` and `oidc::fetch_jwks` end to end: tokens signed in the test with the
//! test-only keys of `tests/fixtures/oidc/`, their public halves served by a fake issuer
//! on 127.0.0.1 (discovery document, then JWKS), as GitHub Actions' issuer serves them.

use base64::Engine as _;
use fake_github::{FakeOidcIssuer, Fault};
use infra_manager::github::RetryPolicy;
use infra_manager::oidc::{self, Expected, Jwks, OidcError};
use jiff::Timestamp;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::support::oidc::{jwks_document, key, rs256, sign};

const MANAGER: &str = "provider/manager";
const REPO: &str = "acme/web";
const SHA: &str = "1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b";
const REF: &str = "refs/heads/main";
const WORKFLOW: &str = "acme/web/.github/workflows/infra.yml@refs/heads/main";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// An issuer serving the test keys, the keys as fetched from it, and what to expect.
struct Setup {
    issuer: FakeOidcIssuer,
    jwks: Jwks,
    now: Timestamp,
}

impl Setup {
    async fn new() -> Self {
        let issuer = FakeOidcIssuer::start(jwks_document()).await;
        let jwks = oidc::fetch_jwks_with(&issuer.url(), &RetryPolicy::fast()).await.expect("keys");
        Self { issuer, jwks, now: Timestamp::now() }
    }

    fn expected(&self) -> Expected {
        Expected::new(MANAGER, REPO, SHA, REF, WORKFLOW).with_issuer(&self.issuer.url())
    }

    /// The claims GitHub puts in a token for a push to `main` of `acme/web`.
    fn claims(&self) -> Value {
        let now = self.now.as_second();
        json!({
            "jti": "4f7d2f3e-1b7c-4b53-9b1e-3b7c0f6c1d2e",
            "sub": "repo:acme/web:ref:refs/heads/main",
            "aud": MANAGER,
            "ref": REF,
            "sha": SHA,
            "repository": REPO,
            "repository_owner": "acme",
            "run_id": "4242",
            "actor": "octocat",
            "event_name": "push",
            "workflow_ref": WORKFLOW,
            "job_workflow_ref": WORKFLOW,
            "iss": self.issuer.url(),
            "nbf": now - 5,
            "iat": now - 5,
            "exp": now + 300,
        })
    }

    fn with(&self, claim: &str, value: Value) -> Value {
        let mut claims = self.claims();
        claims[claim] = value;
        claims
    }

    fn verify(&self, token: &str) -> Result<oidc::Claims, OidcError> {
        oidc::verify(token, &self.jwks, &self.expected(), self.now)
    }

    /// Refused as `matches`, with a message that never contains the token.
    fn refused(&self, case: &str, token: &str, matches: impl Fn(&OidcError) -> bool) -> OidcError {
        let err = self.verify(token).expect_err(case);
        assert!(matches(&err), "{case}: {err:?}");
        let message = err.to_string();
        for part in token.split('.').filter(|p| p.len() > 8) {
            assert!(!message.contains(part), "{case}: the message echoes the token: {message}");
        }
        err
    }
}

#[tokio::test]
async fn a_valid_token_is_accepted_with_its_claims() {
    let s = Setup::new().await;
    assert_eq!(s.jwks.key_ids(), ["test-key-a", "test-key-b"]);
    for name in ["a", "b"] {
        let token = sign(rs256(&format!("test-key-{name}")), &s.claims(), &key(name));
        let claims = s.verify(&token).unwrap_or_else(|e| panic!("key {name}: {e}"));
        assert_eq!(claims.repository, REPO);
        assert_eq!(claims.sha, SHA);
        assert_eq!(claims.git_ref, REF);
        assert_eq!(claims.job_workflow_ref, WORKFLOW);
        assert_eq!(claims.audience, MANAGER);
        assert_eq!(claims.subject, "repo:acme/web:ref:refs/heads/main");
        assert_eq!(claims.event_name.as_deref(), Some("push"));
        assert_eq!(claims.run_id.as_deref(), Some("4242"));
    }
    assert_eq!(
        s.issuer.requests(),
        ["/.well-known/openid-configuration", "/.well-known/jwks"],
        "discovery first, then the keys it names"
    );
}

#[tokio::test]
async fn a_token_for_another_audience_is_refused() {
    let s = Setup::new().await;
    let token = sign(rs256("test-key-a"), &s.with("aud", json!("provider/other-manager")), &key("a"));
    let err = s.refused("audience", &token, |e| matches!(e, OidcError::Audience { .. }));
    assert_eq!(err.to_string(), "the OIDC token's `aud` is `provider/other-manager`, expected `provider/manager`");
    // GitHub's default audience is the owner's URL: a token minted without `audience:`.
    let token = sign(rs256("test-key-a"), &s.with("aud", json!("https://github.com/acme")), &key("a"));
    s.refused("default audience", &token, |e| matches!(e, OidcError::Audience { .. }));
}

/// Whether an error is the variant a case expects.
type IsVariant = fn(&OidcError) -> bool;

#[tokio::test]
async fn each_claim_the_dispatch_names_must_match() {
    let s = Setup::new().await;
    let cases: [(&str, Value, IsVariant); 4] = [
        ("repository", json!("mallory/web"), |e| matches!(e, OidcError::Repository { .. })),
        ("sha", json!("f".repeat(40)), |e| matches!(e, OidcError::Sha { .. })),
        ("ref", json!("refs/heads/feature"), |e| matches!(e, OidcError::Ref { .. })),
        ("job_workflow_ref", json!("acme/web/.github/workflows/other.yml@refs/heads/main"), |e| {
            matches!(e, OidcError::JobWorkflowRef { .. })
        }),
    ];
    for (claim, value, variant) in cases {
        let token = sign(rs256("test-key-a"), &s.with(claim, value.clone()), &key("a"));
        let err = s.refused(claim, &token, variant);
        let shown = value.as_str().unwrap_or_default();
        assert!(err.to_string().contains(&format!("`{claim}` is `{shown}`")), "{err}");
    }
    let mut claims = s.claims();
    claims.as_object_mut().map(|c| c.remove("job_workflow_ref"));
    let token = sign(rs256("test-key-a"), &claims, &key("a"));
    s.refused("missing claim", &token, |e| *e == OidcError::MissingClaim { claim: "job_workflow_ref" });
}

#[tokio::test]
async fn expired_and_not_yet_valid_tokens_are_refused() {
    let s = Setup::new().await;
    let now = s.now.as_second();
    let mut expired = s.claims();
    expired["iat"] = json!(now - 900);
    expired["nbf"] = json!(now - 900);
    expired["exp"] = json!(now - 600);
    let token = sign(rs256("test-key-a"), &expired, &key("a"));
    s.refused("expired", &token, |e| matches!(e, OidcError::Expired { .. }));

    let token = sign(rs256("test-key-a"), &s.with("nbf", json!(now + 600)), &key("a"));
    s.refused("not yet valid", &token, |e| matches!(e, OidcError::NotYetValid { .. }));
    let token = sign(rs256("test-key-a"), &s.with("iat", json!(now + 600)), &key("a"));
    s.refused("issued in the future", &token, |e| matches!(e, OidcError::IssuedInFuture { .. }));

    // A few seconds of clock skew are tolerated.
    let token = sign(rs256("test-key-a"), &s.with("nbf", json!(now + 20)), &key("a"));
    assert!(s.verify(&token).is_ok());
}

#[tokio::test]
async fn a_token_from_another_issuer_is_refused() {
    let s = Setup::new().await;
    let token = sign(rs256("test-key-a"), &s.with("iss", json!(oidc::DEFAULT_ISSUER)), &key("a"));
    s.refused("issuer", &token, |e| matches!(e, OidcError::Issuer { .. }));
}

#[tokio::test]
async fn unknown_keys_and_bad_signatures_are_refused() {
    let s = Setup::new().await;
    let token = sign(rs256("test-key-c"), &s.claims(), &key("a"));
    let err = s.refused("unknown kid", &token, |e| matches!(e, OidcError::UnknownKey { .. }));
    assert_eq!(err.to_string(), "the OIDC token names signing key `test-key-c`, which the issuer's keys do not list");
    let token = sign(Header::new(Algorithm::RS256), &s.claims(), &key("a"));
    s.refused("no kid", &token, |e| *e == OidcError::MissingKeyId);

    // Signed by key b, claiming to be key a.
    let token = sign(rs256("test-key-a"), &s.claims(), &key("b"));
    s.refused("wrong key", &token, |e| matches!(e, OidcError::Signature { .. }));

    // A valid token with its claims swapped for others.
    let valid = sign(rs256("test-key-a"), &s.claims(), &key("a"));
    let parts: Vec<&str> = valid.split('.').collect();
    let forged = b64(s.with("repository", json!("mallory/web")).to_string().as_bytes());
    let tampered = format!("{}.{forged}.{}", parts[0], parts[2]);
    s.refused("tampered claims", &tampered, |e| matches!(e, OidcError::Signature { .. }));
    let stripped = format!("{}.{}.", parts[0], parts[1]);
    s.refused("no signature", &stripped, |e| matches!(e, OidcError::Signature { .. } | OidcError::Malformed(_)));
}

#[tokio::test]
async fn alg_none_and_hs256_with_the_public_key_are_refused() {
    let s = Setup::new().await;
    let claims = b64(s.claims().to_string().as_bytes());
    for alg in ["none", "None", "NONE"] {
        let header = b64(json!({"alg": alg, "typ": "JWT", "kid": "test-key-a"}).to_string().as_bytes());
        for token in [format!("{header}.{claims}."), format!("{header}.{claims}.c2ln")] {
            let err = s.refused(alg, &token, |e| matches!(e, OidcError::Algorithm { .. }));
            assert!(err.to_string().contains("only RS256 is accepted"), "{err}");
        }
    }

    // The classic key confusion: HMAC keyed with the public key the verifier holds.
    let public = jwks_document()["keys"][0].to_string();
    let hs256 = Header { kid: Some("test-key-a".to_owned()), ..Header::new(Algorithm::HS256) };
    let token = sign(hs256, &s.claims(), &EncodingKey::from_secret(public.as_bytes()));
    let err = s.refused("HS256", &token, |e| matches!(e, OidcError::Algorithm { .. }));
    assert_eq!(err.to_string(), "the OIDC token is signed with `HS256`; only RS256 is accepted");
    let rs512 = Header { kid: Some("test-key-a".to_owned()), ..Header::new(Algorithm::RS512) };
    let token = sign(rs512, &s.claims(), &key("a"));
    s.refused("RS512", &token, |e| matches!(e, OidcError::Algorithm { .. }));
}

#[tokio::test]
async fn garbage_is_malformed_not_a_panic() {
    let s = Setup::new().await;
    let long = "a".repeat(100_000);
    let valid = sign(rs256("test-key-a"), &s.claims(), &key("a"));
    let not_json = format!("{}.{}.{}", b64(b"{\"alg\":\"RS256\",\"kid\":\"test-key-a\"}"), b64(b"not json"), "c2ln");
    for garbage in ["", ".", "..", "a.b", "a.b.c.d", "ey.ey.ey", "🦀.🦀.🦀", long.as_str(), &valid[1..], &not_json]
    {
        match s.verify(garbage) {
            Err(OidcError::Malformed(_) | OidcError::Signature { .. }) => {}
            other => panic!("{garbage:.40}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn the_keys_come_only_from_the_issuer_named_in_discovery() {
    let issuer = FakeOidcIssuer::start(jwks_document()).await;
    let url = issuer.url();
    issuer.set_discovery(
        json!({"issuer": "https://token.actions.githubusercontent.com", "jwks_uri": format!("{url}/.well-known/jwks")}),
    );
    let err = oidc::fetch_jwks_with(&url, &RetryPolicy::fast()).await.expect_err("another issuer");
    assert!(matches!(&err, OidcError::Discovery { .. }) && err.to_string().contains("names issuer"), "{err}");

    issuer.set_discovery(json!({"issuer": url, "jwks_uri": "https://evil.example.com/jwks"}));
    let err = oidc::fetch_jwks_with(&url, &RetryPolicy::fast()).await.expect_err("keys elsewhere");
    assert!(err.to_string().contains("is not on the issuer's host"), "{err}");

    issuer.set_discovery(json!({"issuer": url}));
    let err = oidc::fetch_jwks_with(&url, &RetryPolicy::fast()).await.expect_err("no jwks_uri");
    assert!(err.to_string().contains("no `jwks_uri`"), "{err}");

    let err = oidc::fetch_jwks_with("http://example.com", &RetryPolicy::fast()).await.expect_err("plain http");
    assert!(matches!(err, OidcError::IssuerUrl { .. }), "{err}");
    assert!(issuer.requests().iter().all(|p| p == "/.well-known/openid-configuration"));
}

#[tokio::test]
async fn fetching_the_keys_retries_server_errors_and_names_what_failed() {
    let issuer = FakeOidcIssuer::start(jwks_document()).await;
    let url = issuer.url();
    issuer.inject_times("/.well-known/jwks", Fault::Status(502), 1);
    let jwks = oidc::fetch_jwks_with(&url, &RetryPolicy::fast()).await.expect("retried");
    assert_eq!(jwks.key_ids().len(), 2);
    assert_eq!(issuer.requests().iter().filter(|p| p.ends_with("/jwks")).count(), 2);

    issuer.inject_times("/.well-known/jwks", Fault::Status(404), 1);
    let err = oidc::fetch_jwks_with(&url, &RetryPolicy::fast()).await.expect_err("404 is final");
    assert_eq!(
        err.to_string(),
        format!("can't read the OIDC signing keys (JWKS) at `{url}/.well-known/jwks`: 404 Not Found")
    );

    issuer.set_jwks(json!({"keys": [{"kty": "EC", "kid": "x", "crv": "P-256", "x": "AA", "y": "AA"}]}));
    let err = oidc::fetch_jwks_with(&url, &RetryPolicy::fast()).await.expect_err("no RSA key");
    assert!(matches!(&err, OidcError::Jwks { .. }) && err.to_string().contains("no RSA signing key"), "{err}");

    drop(issuer);
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let err = oidc::fetch_jwks_with(&url, &RetryPolicy::fast()).await.expect_err("nobody listens");
    let message = err.to_string();
    assert!(message.contains(&format!("`{url}/.well-known/openid-configuration`")), "{message}");
    assert!(message.contains("after 4 attempts"), "{message}");
}
