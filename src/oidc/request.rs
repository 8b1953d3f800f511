//! Requesting an ID token from the GitHub Actions runner (the customer side of a dispatch).

use serde_json::Value;

use super::OidcError;
use super::client::Client;
use crate::github::RetryPolicy;

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
    let client =
        Client::new(base, &[(http::header::AUTHORIZATION, format!("bearer {bearer}"))], &RetryPolicy::default())
            .map_err(fail)?;
    let separator = if request_url.contains('?') { '&' } else { '?' };
    let url = format!("{request_url}{separator}audience={}", audience.replace('/', "%2F"));
    let answer = client.get_json(&url).await.map_err(fail)?;
    answer
        .get("value")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| fail("the answer has no `value`".to_owned()))
}
