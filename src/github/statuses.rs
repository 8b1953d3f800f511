//! Commit statuses on customer commits.

use http::StatusCode;
use serde_json::json;

use super::api::{Api, Call};
use super::repo_path;
use crate::codehost::{CodeHostError, CommitStatus};
use crate::identity::{RepoId, Sha};
use crate::limits::STATUS_DESCRIPTION_CHARS;
use crate::report::truncate_chars;

/// `POST /repos/{owner}/{repo}/statuses/{sha}`, the description cut to GitHub's limit.
pub(crate) async fn set_status(
    api: &Api,
    repo: &RepoId,
    sha: &Sha,
    status: &CommitStatus,
) -> Result<(), CodeHostError> {
    let mut body = json!({
        "state": status.state,
        "context": status.context,
        "description": truncate_chars(&status.description, STATUS_DESCRIPTION_CHARS),
    });
    if let Some(url) = &status.target_url {
        body["target_url"] = json!(url);
    }
    let call = Call::post(format!("{}/statuses/{sha}", repo_path(repo)), &body);
    api.expect(&call, StatusCode::CREATED).await?;
    Ok(())
}

/// The newest status of `context` on `sha` (`GET /repos/{owner}/{repo}/commits/{sha}/statuses`,
/// newest first): its state, as GitHub names it.
pub(crate) async fn latest_state(
    api: &Api,
    repo: &RepoId,
    sha: &Sha,
    context: &str,
) -> Result<Option<String>, CodeHostError> {
    let call = Call::get(format!("{}/commits/{sha}/statuses?per_page=100", repo_path(repo)));
    let reply = api.expect(&call, StatusCode::OK).await?;
    let listed: Vec<serde_json::Value> = reply.json(&call)?;
    Ok(listed.iter().find(|s| s["context"] == context).and_then(|s| s["state"].as_str()).map(str::to_owned))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_are_cut_on_character_boundaries() {
        let cut = |text: &str| truncate_chars(text, STATUS_DESCRIPTION_CHARS);
        assert_eq!(cut("Plan: 1 to add"), "Plan: 1 to add");
        let exact = "x".repeat(140);
        assert_eq!(cut(&exact), exact);
        let long = cut(&"é".repeat(200));
        assert_eq!(long.chars().count(), 140);
        assert!(long.ends_with('…'));
        assert_eq!(cut(&"🚀".repeat(141)).chars().count(), 140);
    }
}
