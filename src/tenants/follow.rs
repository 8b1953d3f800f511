//! Where a provisioning request's own commit is: the tenant's runs that carried it out are
//! those at a commit that holds the request's commit *and* the tenant file as the request
//! left it. Another request's plan or apply is never this one's. A request whose commit
//! was followed by another change of the file before any run carried it is `superseded`;
//! one whose commit is on no branch any more (its review branch deleted unmerged) is
//! `not merged`; otherwise it is still `requested`.

use std::collections::HashMap;

use crate::codehost::CodeHostError;
use crate::identity::{EnvName, Owner, Sha, TenantName};
use crate::status::{Step, StepAt, TargetStatus, of_target};
use crate::store::request::RequestRecord;
use crate::store::{RunKind, RunRecord};
use crate::tenants::git::ManagerRepo;

/// What became of a request's commit in one environment.
#[derive(Debug, Clone, PartialEq)]
pub enum Fate {
    /// The runs that carried it out (newest first).
    Followed(Vec<RunRecord>),
    /// Not run yet, and still on a branch.
    Requested,
    /// Its file was changed again before any run carried it; the first run at a later
    /// version started then.
    Superseded { at: String },
    /// On no branch: it will never run.
    NotMerged,
}

/// The fate of the request commit `request` (which wrote `path`) among one environment's
/// `history` (newest first). `Ok(None)`: the checkout does not have that commit.
pub async fn fate(
    repo: &ManagerRepo,
    request: &Sha,
    path: &str,
    history: &[RunRecord],
) -> Result<Option<Fate>, CodeHostError> {
    if !repo.has_commit(request).await? {
        return Ok(None);
    }
    let mine = repo.read(request, path).await?;
    // Per run commit: (holds the request's commit, has its file as the request left it).
    let mut seen: HashMap<&str, (bool, bool)> = HashMap::new();
    let changes = history.iter().filter(|r| matches!(r.kind, RunKind::Plan | RunKind::Destroy | RunKind::Apply));
    let mut followed = Vec::new();
    let mut superseded = None;
    for record in changes {
        let (holds, same) = match seen.get(record.sha.as_str()) {
            Some(known) => *known,
            None => {
                let answer = match Sha::parse(&record.sha) {
                    Ok(sha) if repo.is_ancestor(request, &sha).await? => (true, repo.read(&sha, path).await? == mine),
                    _ => (false, false),
                };
                seen.insert(&record.sha, answer);
                answer
            }
        };
        match (holds, same) {
            (true, true) => followed.push(record.clone()),
            // Newest first: the last one seen is the first run at a later version.
            (true, false) => superseded = Some(record.started_at.clone()),
            _ => {}
        }
    }
    Ok(Some(match (followed.is_empty(), superseded) {
        (false, _) => Fate::Followed(followed),
        (true, Some(at)) => Fate::Superseded { at },
        (true, None) if !repo.on_any_branch(request).await? => Fate::NotMerged,
        (true, None) => Fate::Requested,
    }))
}

/// Where the commit `sha` of request `record` (for `tenant`) is in `env`, among that
/// environment's `history` (newest first): `requested` at the request's time, then the
/// steps of the runs that carried it out; `superseded` or `not_merged` when none ever will.
/// `Ok(None)`: the checkout does not have the request's commit.
pub async fn status_in(
    repo: &ManagerRepo,
    record: &RequestRecord,
    (tenant, sha): (&TenantName, &Sha),
    env: &EnvName,
    history: &[RunRecord],
) -> Result<Option<TargetStatus>, CodeHostError> {
    let Some(fate) = fate(repo, sha, &tenant.file(), history).await? else { return Ok(None) };
    let blank = |current: Step| TargetStatus {
        customer: Owner::Tenant(tenant.clone()).to_string(),
        environment: env.to_string(),
        sha: record.sha.clone(),
        revision: crate::store::Revision::Commit,
        current,
        steps: Vec::new(),
        error: None,
        outputs: None,
        run_url: record.run_url.clone(),
    };
    let mut status = match fate {
        Fate::Followed(runs) => of_target(&runs).unwrap_or_else(|| blank(Step::Requested)),
        Fate::Requested => blank(Step::Requested),
        Fate::Superseded { at } => ended(blank(Step::Superseded), at),
        Fate::NotMerged => ended(blank(Step::NotMerged), crate::pipeline::now()),
    };
    // The change was asked for when the request came, not when its plan started.
    let requested = StepAt { step: Step::Requested, at: record.requested_at.clone() };
    match status.steps.first_mut() {
        Some(first) if first.step == Step::Requested => *first = requested,
        _ => status.steps.insert(0, requested),
    }
    Ok(Some(status))
}

/// A status that ends at `step` (its `current`) without a run.
fn ended(mut status: TargetStatus, at: String) -> TargetStatus {
    status.steps.push(StepAt { step: status.current, at });
    status
}
