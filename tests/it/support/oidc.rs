//! Signing OIDC ID tokens in tests with the test-only keys of `tests/fixtures/oidc/`, whose
//! public halves a fake issuer serves.

use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::Value;

pub(crate) fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/oidc/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A test key (`a` or `b`) from its PEM (PKCS#1).
pub(crate) fn key(name: &str) -> EncodingKey {
    let pem = fixture(&format!("key-{name}.pem"));
    let body: String = pem.lines().filter(|line| !line.starts_with("-----")).collect();
    let der = base64::engine::general_purpose::STANDARD.decode(body).expect("PEM body");
    EncodingKey::from_rsa_der(&der)
}

/// The JWKS document holding the public halves of both test keys.
pub(crate) fn jwks_document() -> Value {
    serde_json::from_str(&fixture("jwks.json")).expect("jwks.json")
}

pub(crate) fn sign(header: Header, claims: &Value, key: &EncodingKey) -> String {
    jsonwebtoken::encode(&header, claims, key).expect("sign")
}

pub(crate) fn rs256(kid: &str) -> Header {
    Header { kid: Some(kid.to_owned()), ..Header::new(Algorithm::RS256) }
}

/// `claims` signed RS256 with test key `a`.
pub(crate) fn signed(claims: &Value) -> String {
    sign(rs256("test-key-a"), claims, &key("a"))
}
