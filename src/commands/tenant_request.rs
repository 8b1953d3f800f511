//! `tenants request|remove`: a provisioning request becomes a commit of `tenants/<name>.yml`
//! in the manager checkout, on `tenant-request/<id>` for review, or on the checked-out
//! branch where `tenants.auto_approve` allows the type. Checked first, written last: a
//! refused request leaves no file, no commit and no record. A request id is bound to what
//! it asked by its record: the same request twice makes one commit, the same id with
//! other content is refused, and only a commit that reached the remote counts as done.

use std::fmt;

use serde::Serialize;

use super::Outcome;
use super::target::set_outputs;
use crate::cli::{TenantRemoveArgs, TenantRequestArgs};
use crate::context::Context;
use crate::diagnostic::shown;
use crate::error::CommandError;
use crate::identity::{RequestId, Sha, TenantName};
use crate::store::request::{RequestContent, RequestRecord};
use crate::tenants::git::ManagerRepo;
use crate::tenants::request::{self, Raw};

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
    /// True when there is a commit to push (made now, or by an earlier run of the same
    /// request that did not push it). False when the request's commit already reached the
    /// remote (`already_committed`), or the file already says what it asks.
    pub committed: bool,
    /// The same request (same id, same content) was committed before: `sha` is its commit.
    pub already_committed: bool,
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
            false if self.already_committed => write!(
                f,
                "request {}: already committed at {} on `{}` (no new commit)",
                self.request_id, self.sha, self.branch
            )?,
            false => write!(
                f,
                "request {}: `{file}` on `{}` already says what it asks at {} (no commit)",
                self.request_id,
                self.branch,
                self.sha.short()
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
    let repo = ctx.manager_repo(&args.repo.repo);
    if let Some(done) = earlier(ctx, &repo, &checked.id, &checked.content).await? {
        return Ok(done);
    }
    let head = repo.commit("HEAD").await?;
    checked.names_free(&other_tenants(&repo, &head).await?)?;
    let existing = repo.read(&head, &checked.tenant.file()).await?;
    let written = checked.file(config, existing.as_deref())?;
    let by_type = config.tenants.auto_approve.get(&checked.type_name).copied().unwrap_or(false);
    if let (true, Some(why)) = (by_type, &written.review) {
        tracing::info!("request {}: not auto-approved: {why}", checked.id);
    }
    let change = Change {
        id: &checked.id,
        tenant: &checked.tenant,
        content: Some(written.text.as_bytes()),
        summary: format!("tenants: write `{}` ({})", checked.tenant, checked.type_name),
        requester: checked.requester.as_deref(),
        auto_approve: by_type && written.review.is_none(),
        asked: &checked.content,
    };
    let envs: Vec<String> = checked.environments.iter().map(ToString::to_string).collect();
    let asked = Asked { type_name: Some(checked.type_name.to_string()), environments: envs };
    commit(ctx, &repo, head, change, asked).await
}

/// A value a workflow passed, empty meaning none (`workflow_dispatch` inputs default to "").
fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.is_empty())
}

/// Every other tenant's file at `head`, for the names check.
async fn other_tenants(repo: &ManagerRepo, head: &Sha) -> Result<Vec<(TenantName, String)>, CommandError> {
    let mut out = Vec::new();
    for path in repo.tenant_files(head).await? {
        let Ok(tenant) = crate::tenants::changes::tenant_of(&path) else { continue };
        if let Some(text) = repo.read(head, &path).await? {
            out.push((tenant, text));
        }
    }
    Ok(out)
}

/// A removal always goes through review: deleting the file destroys the tenant.
pub async fn remove(ctx: &Context<'_>, args: &TenantRemoveArgs) -> Result<Requested, CommandError> {
    let id = request::request_id(&args.request_id)?;
    let tenant = request::tenant_name(&args.tenant)?;
    // Who may ask to remove is who may ask to create: the same check, the same trailer.
    let requester = request::requester(ctx.config().await?, given(&args.requester))?;
    let asked = RequestContent {
        action: "remove".into(),
        tenant: tenant.to_string(),
        type_name: None,
        inputs_sha256: None,
        tier: None,
        expires_at: None,
    };
    let repo = ctx.manager_repo(&args.repo.repo);
    if let Some(done) = earlier(ctx, &repo, &id, &asked).await? {
        return Ok(done);
    }
    let change = Change {
        id: &id,
        tenant: &tenant,
        content: None,
        summary: format!("tenants: remove `{tenant}`"),
        requester: requester.as_deref(),
        auto_approve: false,
        asked: &asked,
    };
    let head = repo.commit("HEAD").await?;
    commit(ctx, &repo, head, change, Asked::default()).await
}

/// The same request id seen before. Another content is refused (exit 2), naming what
/// differs. The same content whose commit reached the remote is done: nothing is written,
/// the commit is named. The same content whose commit is only on the local branch (the push
/// has not happened) is reported committed, so the push runs; a commit on no branch (the
/// run failed before moving it) counts for nothing and the request is carried out again.
async fn earlier(
    ctx: &Context<'_>,
    repo: &ManagerRepo,
    id: &RequestId,
    asked: &RequestContent,
) -> Result<Option<Requested>, CommandError> {
    let store = ctx.store().await?;
    let Some(record) = store.request(id).await? else {
        return Ok(None);
    };
    // A record from before digests were kept knows only these.
    let then = record.content.clone().unwrap_or_else(|| RequestContent {
        action: record.action.clone(),
        tenant: record.tenant.clone(),
        type_name: record.type_name.clone(),
        ..asked.clone()
    });
    let differs = then.differences(asked);
    if !differs.is_empty() {
        let was = |name: &str| match name {
            "tenant" => format!("tenant `{}` then, `{}` now", shown(&then.tenant), asked.tenant),
            "type" => format!(
                "type `{}` then, `{}` now",
                shown(then.type_name.as_deref().unwrap_or("-")),
                asked.type_name.as_deref().unwrap_or("-")
            ),
            "action" => format!("`{}` then, `{}` now", shown(&then.action), asked.action),
            other => format!("other {other}"),
        };
        let what: Vec<String> = differs.iter().map(|d| was(d)).collect();
        return Err(CommandError::usage(
            format!("request `{id}` was taken at {} with other content: {}", record.requested_at, what.join("; ")),
            "a request id names one request: send a new id for a new request, or this one again exactly as it was",
        ));
    }
    let Some(sha) = record.sha() else { return Ok(None) };
    let tenant = record.tenant().unwrap_or_else(|| TenantName::parse(&asked.tenant).expect("checked"));
    let mut out = Requested {
        request_id: id.clone(),
        tenant,
        action: if asked.action == "remove" { "remove" } else { "write" },
        branch: record.branch.clone(),
        auto_approved: record.auto_approved,
        committed: false,
        already_committed: true,
        sha: sha.clone(),
    };
    if repo.published(&sha).await? {
        outputs(ctx, &out);
        return Ok(Some(out));
    }
    match repo.branch(&record.branch).await? {
        Some(tip) if record.committed && repo.is_ancestor(&sha, &tip).await? => {
            // Made here by an earlier run and not pushed yet: push it now.
            out.committed = true;
            out.already_committed = false;
            outputs(ctx, &out);
            Ok(Some(out))
        }
        _ => Ok(None),
    }
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
    asked: &'a RequestContent,
}

/// Committed in this order: the commit object, then the record, then the branch. A run that
/// fails before the branch moves leaves a commit on no branch, which no later run counts.
async fn commit(
    ctx: &Context<'_>,
    repo: &ManagerRepo,
    head: Sha,
    change: Change<'_>,
    asked: Asked,
) -> Result<Requested, CommandError> {
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
    let unchanged = repo.read(&base, &path).await?.as_deref().map(str::as_bytes) == change.content;
    if change.auto_approve && !unchanged {
        // The work tree follows the moved branch at the end: refuse now what it couldn't.
        repo.check_writable(&path)?;
    }
    let sha = match unchanged {
        true => base,
        false => {
            let message = request::commit_message(&change.summary, change.id, change.requester);
            repo.commit_file(&base, &path, change.content, &message).await?
        }
    };
    let out = Requested {
        request_id: change.id.clone(),
        tenant: change.tenant.clone(),
        action: if change.content.is_some() { "write" } else { "remove" },
        branch,
        auto_approved: change.auto_approve,
        committed: !unchanged,
        already_committed: false,
        sha,
    };
    record(ctx, &out, change.asked, asked).await?;
    if out.committed {
        repo.move_branch(&out.branch, &out.sha, tip.as_ref()).await?;
        if change.auto_approve {
            repo.sync_path(&path, change.content).await?;
        }
    }
    outputs(ctx, &out);
    Ok(out)
}

fn outputs(ctx: &Context<'_>, out: &Requested) {
    let outputs = [
        ("branch", out.branch.clone()),
        ("auto_approved", out.auto_approved.to_string()),
        ("committed", out.committed.to_string()),
        ("tenant", out.tenant.to_string()),
        ("sha", out.sha.to_string()),
    ];
    set_outputs(ctx.settings.runner.output.as_deref(), &outputs);
}

/// The request's record under `requests/<id>`, with what it asked and the run that took it.
async fn record(
    ctx: &Context<'_>,
    out: &Requested,
    content: &RequestContent,
    asked: Asked,
) -> Result<(), CommandError> {
    let store = ctx.store().await?;
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
        content: Some(content.clone()),
        digest: Some(content.digest()),
        run_id: ctx.settings.runner.run_id,
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
