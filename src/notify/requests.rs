//! Which provisioning requests a tenant's apply carried out: the requests named by the
//! commits that changed the tenant's file since its last successful apply, each checked
//! against its own record (this tenant, this commit, this environment), since a commit
//! message is only a pointer anyone who can push can write.

use super::event::Carried;
use crate::identity::{Owner, RequestId, Sha};
use crate::pipeline::{Deps, Request};
use crate::store::{RunKind, RunRecord, RunStatus};

/// The requests `record` (a tenant's finished apply) carried out, and whether an earlier
/// failed apply since the last successful one had carried each. Best effort: what can't be
/// read is a warning and no event.
pub(super) async fn carried(deps: &Deps<'_>, req: &Request, record: &RunRecord, before: &[RunRecord]) -> Vec<Carried> {
    let owner = &req.target.owner;
    let Owner::Tenant(tenant) = owner else { return Vec::new() };
    if record.kind != RunKind::Apply || !matches!(record.status, RunStatus::Succeeded | RunStatus::Failed) {
        return Vec::new();
    }
    let applied = |r: &RunRecord| r.kind == RunKind::Apply && r.status == RunStatus::Succeeded;
    let since = before.iter().find(|r| applied(r)).and_then(|r| Sha::parse(&r.sha).ok());
    // The pushed commit, for a destroy: a removal request's commit deletes the file.
    let commits = match deps.files.request_commits(owner, since.as_ref(), req.reported_sha()).await {
        Ok(commits) => commits,
        Err(e) => {
            super::warn(&format!("can't read which requests {} carried out: {e}", req.target));
            return Vec::new();
        }
    };
    let failed_since: Vec<Sha> = before
        .iter()
        .take_while(|r| !applied(r))
        .filter(|r| r.kind == RunKind::Apply && r.status == RunStatus::Failed)
        .filter_map(|r| Sha::parse(&r.sha).ok())
        .collect();
    let mut out = Vec::new();
    for (id, commit) in commits {
        let Ok(id) = RequestId::parse(&id) else { continue };
        let Ok(Some(request)) = deps.store.request(&id).await else { continue };
        let environments = request.environments();
        let own = request.tenant().as_ref() == Some(tenant)
            && request.sha().as_ref() == Some(&commit)
            && (environments.is_empty() || environments.contains(&req.target.env));
        if !own || out.iter().any(|c: &Carried| c.request == id.as_str()) {
            continue;
        }
        let mut failed_before = false;
        for sha in &failed_since {
            if matches!(deps.files.contains(owner, sha, &commit).await, Ok(Some(true))) {
                failed_before = true;
                break;
            }
        }
        out.push(Carried { request: id.to_string(), failed_before });
    }
    out
}
