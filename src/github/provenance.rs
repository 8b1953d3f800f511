//! Where a dispatched commit comes from, over the REST API: a pull request's head, the
//! default branch's head, and whether one commit descends from another (compare).
//!
//! GitHub answers 404 both for a missing PR or commit and for a repository the token can't
//! see; the second is told apart (`GET /repos/{owner}/{repo}`) and is an error, so a
//! misconfigured token is never mistaken for "no such PR".

use http::StatusCode;
use serde::Deserialize;

use super::api::{Api, Call, Reply, refused};
use super::contents::encode_path;
use super::error::GithubError;
use super::repo_path;
use crate::codehost::{Branch, CodeHostError, PullRequest};
use crate::diagnostic::shown;
use crate::identity::{RepoId, Sha};

#[derive(Debug, Deserialize)]
struct PullJson {
    state: String,
    head: SideJson,
    base: SideJson,
    #[serde(default)]
    merge_commit_sha: Option<String>,
}

#[derive(Debug, Deserialize)]
struct SideJson {
    sha: String,
    /// `null` for the head of a PR whose fork was deleted.
    #[serde(default)]
    repo: Option<RepoJson>,
}

#[derive(Debug, Deserialize)]
struct RepoJson {
    full_name: String,
}

#[derive(Debug, Deserialize)]
struct RepositoryJson {
    default_branch: String,
}

#[derive(Debug, Deserialize)]
struct BranchJson {
    name: String,
    commit: CommitJson,
}

#[derive(Debug, Deserialize)]
struct CommitJson {
    sha: String,
}

#[derive(Debug, Deserialize)]
struct CompareJson {
    status: String,
}

/// `GET /repos/{owner}/{repo}/pulls/{number}`; `None` on 404 when the repository is visible.
pub(crate) async fn pull_request(api: &Api, repo: &RepoId, number: u64) -> Result<Option<PullRequest>, CodeHostError> {
    let call = Call::get(format!("{}/pulls/{number}", repo_path(repo)));
    let reply = api.send(&call).await?;
    match reply.status {
        StatusCode::OK => {}
        StatusCode::NOT_FOUND => return if_visible(api, repo, &call, None).await,
        _ => return Err(refused(&call, &reply).into()),
    }
    let pull: PullJson = reply.json(&call)?;
    let base_repo = pull
        .base
        .repo
        .map(|r| r.full_name.to_ascii_lowercase())
        .ok_or_else(|| unexpected(&call, "the pull request has no base repository".to_owned()))?;
    let merge_commit_sha = match pull.merge_commit_sha.as_deref() {
        Some(sha) => Some(sha_of(&call, "merge_commit_sha", sha)?),
        None => None,
    };
    Ok(Some(PullRequest {
        head_sha: sha_of(&call, "head.sha", &pull.head.sha)?,
        open: pull.state == "open",
        base_repo,
        head_repo: pull.head.repo.map(|r| r.full_name.to_ascii_lowercase()),
        merge_commit_sha,
    }))
}

/// `GET /repos/{owner}/{repo}` for the default branch's name, then
/// `GET /repos/{owner}/{repo}/branches/{name}` for its head.
pub(crate) async fn default_branch(api: &Api, repo: &RepoId) -> Result<Branch, CodeHostError> {
    let call = Call::get(repo_path(repo));
    let reply = api.send(&call).await?;
    match reply.status {
        StatusCode::OK => {}
        StatusCode::NOT_FOUND => return Err(not_visible(&call, repo)),
        _ => return Err(refused(&call, &reply).into()),
    }
    let name = reply.json::<RepositoryJson>(&call)?.default_branch;
    let encoded = encode_path(&name)
        .ok_or_else(|| unexpected(&call, format!("the default branch `{name}` is not a usable branch name")))?;
    let call = Call::get(format!("{}/branches/{encoded}", repo_path(repo)));
    let branch: BranchJson = api.expect(&call, StatusCode::OK).await?.json(&call)?;
    if branch.name != name {
        return Err(unexpected(&call, format!("asked for branch `{name}`, got `{}`", branch.name)));
    }
    Ok(Branch { head: sha_of(&call, "commit.sha", &branch.commit.sha)?, name })
}

/// `GET /repos/{owner}/{repo}/branches/{name}` for the branch's head; `None` when the
/// repository (visible to the token) has no such branch.
pub(crate) async fn branch_head(api: &Api, repo: &RepoId, name: &str) -> Result<Option<Sha>, CodeHostError> {
    let encoded = encode_path(name).ok_or_else(|| {
        CodeHostError::from(GithubError::Request {
            call: format!("GET {}/branches/…", repo_path(repo)),
            reason: format!("`{}` is not a usable branch name", shown(name)),
        })
    })?;
    let call = Call::get(format!("{}/branches/{encoded}", repo_path(repo)));
    let reply = api.send(&call).await?;
    match reply.status {
        StatusCode::OK => {}
        StatusCode::NOT_FOUND => return if_visible(api, repo, &call, None).await,
        _ => return Err(refused(&call, &reply).into()),
    }
    let branch: BranchJson = reply.json(&call)?;
    if branch.name != name {
        return Err(unexpected(&call, format!("asked for branch `{}`, got `{}`", shown(name), shown(&branch.name))));
    }
    Ok(Some(sha_of(&call, "commit.sha", &branch.commit.sha)?))
}

/// `GET /repos/{owner}/{repo}/compare/{ancestor}...{descendant}`: `identical` or `ahead`.
pub(crate) async fn descends_from(
    api: &Api,
    repo: &RepoId,
    ancestor: &Sha,
    descendant: &Sha,
) -> Result<bool, CodeHostError> {
    // One commit per page: only `status` is read, the commit list is not needed.
    let call = Call::get(format!("{}/compare/{ancestor}...{descendant}?per_page=1", repo_path(repo)));
    let reply = api.send(&call).await?;
    match reply.status {
        StatusCode::OK => {}
        // An unknown commit, or no common ancestor.
        StatusCode::NOT_FOUND => return if_visible(api, repo, &call, false).await,
        _ => return Err(refused(&call, &reply).into()),
    }
    match reply.json::<CompareJson>(&call)?.status.as_str() {
        "identical" | "ahead" => Ok(true),
        "behind" | "diverged" => Ok(false),
        other => Err(unexpected(&call, format!("unknown comparison status `{}`", shown(other)))),
    }
}

/// Whether the token can see the repository at all (`GET /repos/{owner}/{repo}`).
pub(crate) async fn repository_visible(api: &Api, repo: &RepoId) -> Result<bool, GithubError> {
    let call = Call::get(repo_path(repo));
    let reply: Reply = api.send(&call).await?;
    match reply.status {
        StatusCode::OK => Ok(true),
        StatusCode::NOT_FOUND => Ok(false),
        _ => Err(refused(&call, &reply)),
    }
}

/// After a 404 of `call`: `answer` when the repository is visible, else an error.
async fn if_visible<T>(api: &Api, repo: &RepoId, call: &Call<'_>, answer: T) -> Result<T, CodeHostError> {
    if repository_visible(api, repo).await? { Ok(answer) } else { Err(not_visible(call, repo)) }
}

fn not_visible(call: &Call<'_>, repo: &RepoId) -> CodeHostError {
    CodeHostError::Call {
        call: call.name(),
        message: format!("repository `{repo}` does not exist or the token can't read it"),
    }
}

fn unexpected(call: &Call<'_>, reason: String) -> CodeHostError {
    GithubError::Unexpected { call: call.name(), reason }.into()
}

/// A SHA GitHub sent in `field`; anything else is an unexpected answer.
fn sha_of(call: &Call<'_>, field: &str, value: &str) -> Result<Sha, CodeHostError> {
    Sha::parse(value).map_err(|_| unexpected(call, format!("`{field}` is `{}`, not a commit SHA", shown(value))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pull_request_whose_fork_was_deleted_has_no_head_repository() {
        let pull: PullJson = serde_json::from_value(serde_json::json!({
            "state": "open",
            "head": {"sha": "1".repeat(40), "repo": null},
            "base": {"sha": "2".repeat(40), "repo": {"full_name": "Acme/Web"}},
            "merge_commit_sha": null,
        }))
        .expect("GitHub's shape");
        assert!(pull.head.repo.is_none());
        assert_eq!(pull.base.repo.map(|r| r.full_name).as_deref(), Some("Acme/Web"));
    }
}

/// One item of `GET /repos/{o}/{r}/commits/{sha}/pulls`.
#[derive(Debug, Deserialize)]
struct AssociatedPullJson {
    number: u64,
    #[serde(default)]
    merge_commit_sha: Option<String>,
    #[serde(default)]
    head: Option<AssociatedHeadJson>,
}

#[derive(Debug, Deserialize)]
struct AssociatedHeadJson {
    #[serde(default)]
    sha: Option<String>,
}

/// The PRs of `repo` that were merged as `sha` (GitHub also lists PRs whose head is the
/// commit: those are not merged as it), each with its head. At most the first page: a
/// commit is merged by one PR.
pub(crate) async fn merged_as(
    api: &Api,
    repo: &RepoId,
    sha: &Sha,
) -> Result<Vec<crate::codehost::MergedPull>, CodeHostError> {
    let call = Call::get(format!("{}/commits/{sha}/pulls", repo_path(repo)));
    let reply = api.send(&call).await?;
    if reply.status != StatusCode::OK {
        return Err(refused(&call, &reply).into());
    }
    let pulls: Vec<AssociatedPullJson> = reply.json(&call)?;
    Ok(pulls
        .into_iter()
        .filter(|p| p.merge_commit_sha.as_deref().is_some_and(|m| m.eq_ignore_ascii_case(sha.as_str())))
        .map(|p| crate::codehost::MergedPull {
            number: p.number,
            head_sha: p.head.and_then(|h| h.sha).and_then(|h| Sha::parse(&h).ok()),
        })
        .collect())
}
