//! Issuer discovery: `{issuer}/.well-known/openid-configuration` names the issuer's
//! `jwks_uri`, which serves its signing keys. Both must be on the issuer's own origin.

use serde_json::Value;

use super::client::Client;
use super::{Jwks, OidcError};
use crate::diagnostic;
use crate::github::RetryPolicy;

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
    let client = Client::new(issuer_uri.clone(), &[], policy)
        .map_err(|reason| OidcError::IssuerUrl { url: issuer.to_owned(), reason: format!("`{issuer}`: {reason}") })?;

    let discovery_url = format!("{issuer}/.well-known/openid-configuration");
    let discovery_error = |reason: String| OidcError::Discovery { url: discovery_url.clone(), reason };
    let document = client.get_json(&discovery_url).await.map_err(discovery_error)?;
    let named_issuer = document.get("issuer").and_then(Value::as_str).unwrap_or_default();
    if named_issuer.trim_end_matches('/') != issuer {
        return Err(discovery_error(format!("it names issuer `{}`, not `{issuer}`", diagnostic::shown(named_issuer))));
    }
    let jwks_url = document
        .get("jwks_uri")
        .and_then(Value::as_str)
        .ok_or_else(|| discovery_error("it has no `jwks_uri`".to_owned()))?
        .to_owned();
    let jwks_uri = check_url(&jwks_url).map_err(|reason| discovery_error(format!("its `jwks_uri`: {reason}")))?;
    if jwks_uri.scheme() != issuer_uri.scheme() || jwks_uri.authority() != issuer_uri.authority() {
        return Err(discovery_error(format!(
            "its `jwks_uri` `{}` is not on the issuer's host",
            diagnostic::shown(&jwks_url)
        )));
    }

    let jwks_error = |reason: String| OidcError::Jwks { url: jwks_url.clone(), reason };
    let keys = client.get_json(&jwks_url).await.map_err(jwks_error)?;
    Jwks::from_json(&keys.to_string()).map_err(|e| match e {
        OidcError::InvalidJwks(reason) => jwks_error(reason),
        other => other,
    })
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
