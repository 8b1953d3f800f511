//! `repository_dispatch` events to the manager repository.

use http::StatusCode;
use serde_json::{Value, json};

use super::api::{Api, Call};
use super::app::Access;
use crate::codehost::CodeHostError;
use crate::limits::{DISPATCH_EVENT_TYPE_CHARS, DISPATCH_PAYLOAD_BYTES, DISPATCH_PAYLOAD_PROPERTIES};

/// `POST /repos/{owner}/{repo}/dispatches`; GitHub answers 204 with no body.
pub(crate) async fn send(api: &Api, repo: &str, event_type: &str, client_payload: Value) -> Result<(), CodeHostError> {
    let path = format!("/repos/{repo}/dispatches");
    let refuse = |message: String| CodeHostError::Call { call: format!("POST {path}"), message };
    check_repo(repo).map_err(refuse)?;
    let chars = event_type.chars().count();
    if chars == 0 || chars > DISPATCH_EVENT_TYPE_CHARS {
        return Err(refuse(format!(
            "the event type must be 1 to {DISPATCH_EVENT_TYPE_CHARS} characters, `{event_type}` is {chars}"
        )));
    }
    let Some(properties) = client_payload.as_object() else {
        return Err(refuse("the client payload must be a JSON object".to_owned()));
    };
    if properties.len() > DISPATCH_PAYLOAD_PROPERTIES {
        return Err(refuse(format!(
            "the client payload has {} top-level properties; GitHub accepts at most {DISPATCH_PAYLOAD_PROPERTIES}",
            properties.len()
        )));
    }
    let size = client_payload.to_string().len();
    if size >= DISPATCH_PAYLOAD_BYTES {
        return Err(refuse(format!(
            "the client payload is {size} bytes; GitHub accepts less than {DISPATCH_PAYLOAD_BYTES}"
        )));
    }
    let body = json!({ "event_type": event_type, "client_payload": client_payload });
    let call = Call::post(path.clone(), &body).for_access(Access::Dispatch);
    api.expect(&call, StatusCode::NO_CONTENT).await?;
    Ok(())
}

/// `owner/repo` as GitHub allows it (case is kept: the manager repository is not a
/// customer, so it need not follow the customer naming rules).
pub(crate) fn check_repo(repo: &str) -> Result<(), String> {
    let fail = || format!("`{repo}` is not a GitHub repository name of the form `owner/repo`");
    let (owner, name) = repo.split_once('/').ok_or_else(fail)?;
    let owner_ok = (1..=39).contains(&owner.len()) && owner.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    let name_ok = (1..=100).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && name != "."
        && name != "..";
    if owner_ok && name_ok { Ok(()) } else { Err(fail()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_names_follow_github() {
        for good in ["Acme-Corp/infra-manager", "acme/web.site_2"] {
            assert!(check_repo(good).is_ok(), "{good}");
        }
        for bad in ["acme", "acme/web/x", "/web", "acme/", "ac me/web", "acme/..", "acme/we%2fb", "a_b/web"] {
            assert!(check_repo(bad).is_err(), "{bad}");
        }
    }
}
