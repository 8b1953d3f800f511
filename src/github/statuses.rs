//! Commit statuses on customer commits.

use http::StatusCode;
use serde_json::json;

use super::api::{Api, Call};
use super::repo_path;
use crate::codehost::{CodeHostError, CommitStatus};
use crate::identity::{CustomerId, Sha};

/// GitHub refuses longer status descriptions.
pub const MAX_DESCRIPTION_CHARS: usize = 140;

/// `POST /repos/{owner}/{repo}/statuses/{sha}`, the description cut to GitHub's limit.
pub(crate) async fn set_status(
    api: &Api,
    repo: &CustomerId,
    sha: &Sha,
    status: &CommitStatus,
) -> Result<(), CodeHostError> {
    let mut body = json!({
        "state": status.state,
        "context": status.context,
        "description": truncate_description(&status.description),
    });
    if let Some(url) = &status.target_url {
        body["target_url"] = json!(url);
    }
    let call = Call::post(format!("{}/statuses/{sha}", repo_path(repo)), &body);
    api.expect(&call, StatusCode::CREATED).await?;
    Ok(())
}

/// At most [`MAX_DESCRIPTION_CHARS`] characters (not bytes); a cut text ends with `…`.
pub(crate) fn truncate_description(text: &str) -> String {
    if text.chars().count() <= MAX_DESCRIPTION_CHARS {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(MAX_DESCRIPTION_CHARS - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_are_cut_on_character_boundaries() {
        assert_eq!(truncate_description("Plan: 1 to add"), "Plan: 1 to add");
        let exact = "x".repeat(140);
        assert_eq!(truncate_description(&exact), exact);
        let long = "é".repeat(200);
        let cut = truncate_description(&long);
        assert_eq!(cut.chars().count(), 140);
        assert!(cut.ends_with('…'));
        let emoji = "🚀".repeat(141);
        assert_eq!(truncate_description(&emoji).chars().count(), 140);
    }
}
