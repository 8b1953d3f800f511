//! Check runs on customer commits (GitHub App only: GitHub refuses them to other tokens).
//!
//! A run's check is created `in_progress` when the run starts and completed with its
//! conclusion and output when it ends. GitHub takes at most 50 annotations per request, so
//! the completing update carries the first 50 and further updates the rest (GitHub adds
//! them up).

use http::StatusCode;
use serde::Deserialize;
use serde_json::json;

use super::api::{Api, Call};
use super::repo_path;
use crate::codehost::{CheckReport, CodeHostError};
use crate::identity::{RepoId, Sha};
use crate::limits::{CHECK_ANNOTATIONS_PER_REQUEST, CHECK_OUTPUT_CHARS};
use crate::report::truncate_chars;

#[derive(Deserialize)]
struct CheckRun {
    id: u64,
}

/// `POST /repos/{owner}/{repo}/check-runs`, in progress; returns the check run's id.
pub(crate) async fn start(
    api: &Api,
    repo: &RepoId,
    sha: &Sha,
    name: &str,
    details_url: Option<&str>,
) -> Result<u64, CodeHostError> {
    let mut body = json!({ "name": name, "head_sha": sha.as_str(), "status": "in_progress" });
    if let Some(url) = details_url {
        body["details_url"] = json!(url);
    }
    let call = Call::post(format!("{}/check-runs", repo_path(repo)), &body);
    let created: CheckRun = api.expect(&call, StatusCode::CREATED).await?.json(&call)?;
    Ok(created.id)
}

/// `PATCH /repos/{owner}/{repo}/check-runs/{id}`: completed, with the output and the first
/// annotations; then one update per further 50 annotations.
pub(crate) async fn finish(api: &Api, repo: &RepoId, id: u64, report: &CheckReport) -> Result<(), CodeHostError> {
    let path = format!("{}/check-runs/{id}", repo_path(repo));
    let title = truncate_chars(&report.title, CHECK_OUTPUT_CHARS);
    let summary = truncate_chars(&report.summary, CHECK_OUTPUT_CHARS);
    let mut batches = report.annotations.chunks(CHECK_ANNOTATIONS_PER_REQUEST);
    let mut output = json!({ "title": title, "summary": summary, "annotations": batches.next().unwrap_or_default() });
    if let Some(text) = &report.text {
        output["text"] = json!(truncate_chars(text, CHECK_OUTPUT_CHARS));
    }
    let body = json!({ "status": "completed", "conclusion": report.conclusion, "output": output });
    let call = Call::patch(path.clone(), &body);
    api.expect(&call, StatusCode::OK).await?;
    for batch in batches {
        let body = json!({ "output": { "title": title, "summary": summary, "annotations": batch } });
        let call = Call::patch(path.clone(), &body);
        api.expect(&call, StatusCode::OK).await?;
    }
    Ok(())
}
