//! [`Approvals`] over the REST API: pull requests merged as a commit (with author and head),
//! a pull request's reviews (all pages) and a workflow run's environment review history.

use http::StatusCode;
use serde::Deserialize;

use super::api::{Api, Call, refused};
use super::app::Access;
use super::error::GithubError;
use super::repo_path;
use crate::codehost::CodeHostError;
use crate::identity::{RepoId, Sha};
use crate::pipeline::approval::{MergedPull, Review, RunApproval};

const PER_PAGE: u32 = 100;
/// A bound on the pages read: 10,000 reviews.
const MAX_PAGES: usize = 100;

#[derive(Debug, Deserialize)]
struct UserJson {
    login: String,
}

#[derive(Debug, Deserialize)]
struct PullJson {
    number: u64,
    #[serde(default)]
    merge_commit_sha: Option<String>,
    user: Option<UserJson>,
    head: HeadJson,
}

#[derive(Debug, Deserialize)]
struct HeadJson {
    sha: String,
}

#[derive(Debug, Deserialize)]
struct ReviewJson {
    user: Option<UserJson>,
    state: String,
    #[serde(default)]
    commit_id: Option<String>,
    #[serde(default)]
    submitted_at: Option<String>,
}

#[derive(Debug, Deserialize)]
struct EnvJson {
    name: String,
}

#[derive(Debug, Deserialize)]
struct RunApprovalJson {
    state: String,
    user: Option<UserJson>,
    #[serde(default)]
    environments: Vec<EnvJson>,
}

/// `GET /repos/{owner}/{repo}/commits/{sha}/pulls`, those merged as `sha`.
pub(crate) async fn merged_pulls(api: &Api, repo: &RepoId, sha: &Sha) -> Result<Vec<MergedPull>, CodeHostError> {
    let call = Call::get(format!("{}/commits/{sha}/pulls", repo_path(repo)));
    let reply = api.send(&call).await?;
    if reply.status != StatusCode::OK {
        return Err(refused(&call, &reply).into());
    }
    let pulls: Vec<PullJson> = reply.json(&call)?;
    Ok(pulls
        .into_iter()
        .filter(|p| p.merge_commit_sha.as_deref().is_some_and(|m| m.eq_ignore_ascii_case(sha.as_str())))
        .map(|p| MergedPull {
            number: p.number,
            author: p.user.map(|u| u.login).unwrap_or_default(),
            head_sha: p.head.sha,
        })
        .collect())
}

/// `GET /repos/{owner}/{repo}/pulls/{number}/reviews`, every page.
pub(crate) async fn reviews(api: &Api, repo: &RepoId, number: u64) -> Result<Vec<Review>, CodeHostError> {
    let mut call = Call::get(format!("{}/pulls/{number}/reviews?per_page={PER_PAGE}", repo_path(repo)));
    let mut out = Vec::new();
    for _ in 0..MAX_PAGES {
        let reply = api.expect(&call, StatusCode::OK).await?;
        let page: Vec<ReviewJson> = reply.json(&call)?;
        out.extend(page.into_iter().filter_map(|r| {
            let submitted_at = r.submitted_at.as_deref().and_then(|t| t.parse().ok());
            Some(Review { login: r.user?.login, state: r.state, commit_id: r.commit_id, submitted_at })
        }));
        let Some(next) = api.next_page(&call, &reply)? else { return Ok(out) };
        call = call.next(next);
    }
    Err(GithubError::Unexpected {
        call: format!("GET {}/pulls/{number}/reviews", repo_path(repo)),
        reason: format!("more than {MAX_PAGES} pages of reviews"),
    }
    .into())
}

/// `GET /repos/{owner}/{repo}/actions/runs/{run_id}/approvals`; `None` on 404.
pub(crate) async fn run_approvals(
    api: &Api,
    repo: &RepoId,
    run_id: u64,
) -> Result<Option<Vec<RunApproval>>, CodeHostError> {
    let call = Call::get(format!("{}/actions/runs/{run_id}/approvals", repo_path(repo))).for_access(Access::Approvals);
    let reply = api.send(&call).await?;
    match reply.status {
        StatusCode::OK => {}
        StatusCode::NOT_FOUND => return Ok(None),
        _ => return Err(refused(&call, &reply).into()),
    }
    let entries: Vec<RunApprovalJson> = reply.json(&call)?;
    Ok(Some(
        entries
            .into_iter()
            .filter_map(|e| {
                Some(RunApproval {
                    login: e.user?.login,
                    state: e.state,
                    environments: e.environments.into_iter().map(|env| env.name).collect(),
                })
            })
            .collect(),
    ))
}
