//! `tenants request|remove`: a provisioning request becomes a commit of `tenants/<name>.yml`
//! in the manager checkout, on `tenant-request/<id>` for review, or on the checked-out
//! branch where `tenants.auto_approve` allows the type. Checked first, written last: a
//! refused request leaves no file, no commit and no record. The same request twice makes
//! one commit (its `Request-Id` trailer is found) and one record.

use std::fmt;

use serde::Serialize;

use super::Outcome;
use super::target::set_outputs;
use crate::cli::{TenantRemoveArgs, TenantRequestArgs};
use crate::context::Context;
use crate::error::CommandError;
use crate::identity::{RequestId, Sha, TenantName};
use crate::store::request::RequestRecord;
use crate::tenants::request::{self, Raw, TRAILER};

/// What a request did, as `--json` prints it and the step outputs carry it.
#[derive(Debug, Clone, Serialize)]
pub struct Requested {
    pub request_id: RequestId,
    pub tenant: TenantName,
    /// `write` or `remove`.
    pub action: &'static str,
    /// Where the commit is (or would have been): push it, and open a pull request unless
    /// `auto_approved`.
    pub branch: String,
    pub auto_approved: bool,
    /// False when nothing changed: the request was applied before, or the file already
    /// says what it asks.
    pub committed: bool,
    /// The branch's commit after the request.
    pub sha: Sha,
}

impl Outcome for Requested {}

impl fmt::Display for Requested {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.tenant.file();
        match self.committed {
            true => write!(
                f,
                "request {}: {} `{file}` committed on `{}` at {}",
                self.request_id,
                self.action,
                self.branch,
                self.sha.short()
            )?,
            false => write!(
                f,
                "request {}: already applied, `{file}` on `{}` unchanged (no commit)",
                self.request_id, self.branch
            )?,
        }
        if self.committed && !self.auto_approved {
            write!(f, "\npush `{}` and open a pull request for review", self.branch)?;
        }
        Ok(())
    }
}

pub async fn request(ctx: &Context<'_>, args: &TenantRequestArgs) -> Result<Requested, CommandError> {
    // A workflow passes an optional input it did not get as an empty string.
    let config = ctx.config().await?;
    let raw = Raw {
        id: &args.request_id,
        tenant: &args.tenant,
        type_name: &args.type_name,
        inputs: &args.inputs,
        tier: given(&args.tier),
        requester: given(&args.requester),
        expires_at: given(&args.expires_at),
    };
    let checked = request::check(config, &raw)?;
    let auto = config.tenants.auto_approve.get(&checked.type_name).copied().unwrap_or(false);
    let change = Change {
        id: &checked.id,
        tenant: &checked.tenant,
        content: Some(checked.file.as_bytes()),
        summary: format!("tenants: write `{}` ({})", checked.tenant, checked.type_name),
        requester: checked.requester.as_deref(),
        auto_approve: auto,
    };
    let envs: Vec<String> = checked.environments.iter().map(ToString::to_string).collect();
    let asked = Asked { type_name: Some(checked.type_name.to_string()), environments: envs };
    commit(ctx, &args.repo.repo, change, asked).await
}

/// A value a workflow passed, empty meaning none (`workflow_dispatch` inputs default to "").
fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.is_empty())
}

/// A removal always goes through review: deleting the file destroys the tenant.
pub async fn remove(ctx: &Context<'_>, args: &TenantRemoveArgs) -> Result<Requested, CommandError> {
    let id = request::request_id(&args.request_id)?;
    let tenant = request::tenant_name(&args.tenant)?;
    // Who may ask to remove is who may ask to create: the same check, the same trailer.
    let requester = request::requester(ctx.config().await?, given(&args.requester))?;
    let change = Change {
        id: &id,
        tenant: &tenant,
        content: None,
        summary: format!("tenants: remove `{tenant}`"),
        requester: requester.as_deref(),
        auto_approve: false,
    };
    commit(ctx, &args.repo.repo, change, Asked::default()).await
}

/// One checked change of one tenant file.
struct Change<'a> {
    id: &'a RequestId,
    tenant: &'a TenantName,
    /// The new file; `None` removes it.
    content: Option<&'a [u8]>,
    summary: String,
    requester: Option<&'a str>,
    auto_approve: bool,
}

async fn commit(
    ctx: &Context<'_>,
    dir: &std::path::Path,
    change: Change<'_>,
    asked: Asked,
) -> Result<Requested, CommandError> {
    let repo = ctx.manager_repo(dir);
    let head = repo.commit("HEAD").await?;
    let current = repo.current_branch().await?;
    let branch = match (change.auto_approve, current) {
        (true, Some(current)) => current,
        (true, None) => {
            return Err(CommandError::usage(
                "the manager checkout has no branch checked out (detached `HEAD`)",
                "check out the default branch (actions/checkout with `ref: main`) so an auto-approved request can be committed on it",
            ));
        }
        (false, _) => format!("tenant-request/{}", change.id),
    };
    let tip = repo.branch(&branch).await?;
    let path = change.tenant.file();
    let base = tip.clone().unwrap_or(head);
    let applied = repo.has_trailer(TRAILER, change.id.as_str()).await?;
    let unchanged = applied || repo.read(&base, &path).await?.as_deref().map(str::as_bytes) == change.content;
    let sha = match unchanged {
        true => base,
        false => {
            let message = request::commit_message(&change.summary, change.id, change.requester);
            let sha = repo.commit_file(&base, &path, change.content, &message).await?;
            repo.move_branch(&branch, &sha, tip.as_ref()).await?;
            if change.auto_approve {
                repo.sync_path(&path, change.content).await?;
            }
            sha
        }
    };
    let out = Requested {
        request_id: change.id.clone(),
        tenant: change.tenant.clone(),
        action: if change.content.is_some() { "write" } else { "remove" },
        branch,
        auto_approved: change.auto_approve,
        committed: !unchanged,
        sha,
    };
    record(ctx, &out, asked).await?;
    let outputs = [
        ("branch", out.branch.clone()),
        ("auto_approved", out.auto_approved.to_string()),
        ("committed", out.committed.to_string()),
        ("tenant", out.tenant.to_string()),
        ("sha", out.sha.to_string()),
    ];
    set_outputs(ctx.settings.runner.output.as_deref(), &outputs);
    Ok(out)
}

/// The request's record under `requests/<id>`, once: a repeated request finds it there.
async fn record(ctx: &Context<'_>, out: &Requested, asked: Asked) -> Result<(), CommandError> {
    let store = ctx.store().await?;
    if store.request(&out.request_id).await?.is_some() {
        return Ok(());
    }
    let record = RequestRecord {
        request_id: out.request_id.to_string(),
        tenant: out.tenant.to_string(),
        action: out.action.to_owned(),
        branch: out.branch.clone(),
        auto_approved: out.auto_approved,
        committed: out.committed,
        sha: out.sha.to_string(),
        requested_at: crate::pipeline::now(),
        run_url: ctx.settings.runner.run_url.clone(),
        type_name: asked.type_name,
        environments: asked.environments,
        message: out.to_string().lines().next().unwrap_or_default().to_owned(),
    };
    store.put_request(&out.request_id, &record).await?;
    Ok(())
}

/// What a request asked for, kept in its record.
#[derive(Debug, Default)]
struct Asked {
    type_name: Option<String>,
    environments: Vec<String>,
}
