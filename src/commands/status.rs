//! `status`: where each environment's latest change is, from the records table (or the
//! local store): its steps with times, the error if any, and the outputs ([`crate::status`]).
//! What a backend polls after asking for a change.

use std::fmt;

use serde::Serialize;

use super::Outcome;
use crate::cli::StatusArgs;
use crate::context::Context;
use crate::error::CommandError;
use crate::identity::{EnvName, Owner};
use crate::report::name_of;
use crate::status::{TargetStatus, of_target};
use crate::tenants::follow;

/// Every environment's status, as `--json` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct Statuses {
    pub customer: String,
    /// In the order of the configured environments; those with nothing on record are left out.
    pub environments: Vec<TargetStatus>,
}

impl Outcome for Statuses {}

pub async fn run(ctx: &Context<'_>, args: &StatusArgs) -> Result<Statuses, CommandError> {
    // Names are checked before the store is opened, so a crafted one never reaches a key.
    let customer = super::history::owner_of(args.customer.as_deref(), args.tenant.as_deref())?;
    let only = args.env.as_deref().map(EnvName::parse).transpose().map_err(|e| CommandError::bad_env(&e))?;
    let config = ctx.config().await?;
    let store = ctx.store().await?;
    let mut environments = Vec::new();
    for (env, _) in config.environments.iter().filter(|(env, _)| only.as_ref().is_none_or(|o| o == env)) {
        let records = store.history(&customer, Some(env)).await?;
        environments.extend(of_target(&records));
    }
    if environments.is_empty() {
        let scope = only.map(|e| format!(" in `{e}`")).unwrap_or_default();
        return Err(CommandError::usage(
            format!("no change of `{customer}` is on record{scope}"),
            "a change shows here once its plan has started",
        ));
    }
    Ok(Statuses { customer: customer.to_string(), environments })
}

/// A provisioning request and where its own commit is in each of its environments.
#[derive(Debug, Clone, Serialize)]
pub struct RequestStatus {
    pub request_id: String,
    pub tenant: String,
    pub requested_at: String,
    /// Where its commit went, and whether it needs a review.
    pub branch: String,
    pub auto_approved: bool,
    pub committed: bool,
    /// The request's commit: the one its steps follow.
    pub request_sha: String,
    /// The provision workflow run that took the request (the `workflow_run_id` and
    /// `html_url` a `workflow_dispatch` with `return_run_details` answers with).
    pub run: Option<RequestRun>,
    /// Per environment of the request: `requested` at the request's time, then the steps of
    /// the runs that carried out its commit; `superseded` or `not_merged` when none ever will.
    #[serde(flatten)]
    pub status: Statuses,
}

/// A workflow run, as GitHub names it.
#[derive(Debug, Clone, Serialize)]
pub struct RequestRun {
    pub id: Option<u64>,
    pub url: Option<String>,
}

impl Outcome for RequestStatus {}

/// `status --request ID`: the request's record, then where its commit is per environment.
pub async fn request(ctx: &Context<'_>, args: &StatusArgs) -> Result<RequestStatus, CommandError> {
    let id = crate::tenants::request::request_id(args.request.as_deref().unwrap_or_default())?;
    let store = ctx.store().await?;
    let Some(record) = store.request(&id).await? else {
        return Err(CommandError::usage(
            format!("no request `{id}` is on record"),
            "a request shows here once `tenants request` has committed it (a refused request is not recorded)",
        ));
    };
    let unreadable = || {
        CommandError::usage(
            format!("the record of request `{id}` can't be read"),
            "run the request again: a repeated request records itself once more only when its record is gone",
        )
    };
    let tenant = record.tenant().ok_or_else(unreadable)?;
    let sha = record.sha().ok_or_else(unreadable)?;
    let repo = ctx.manager_repo(&args.repo.repo);
    let customer = Owner::Tenant(tenant.clone());
    let mut environments = Vec::new();
    for env in record.environments() {
        let history = store.history(&customer, Some(&env)).await?;
        let Some(status) = follow::status_in(&repo, &record, (&tenant, &sha), &env, &history).await? else {
            return Err(CommandError::usage(
                format!(
                    "the manager checkout `{}` does not have request `{id}`'s commit {sha}",
                    args.repo.repo.display()
                ),
                "run in the manager repository's checkout (`--repo DIR`) with its branches fetched (actions/checkout with `fetch-depth: 0`)",
            ));
        };
        environments.push(status);
    }
    let run = (record.run_id.is_some() || record.run_url.is_some())
        .then(|| RequestRun { id: record.run_id, url: record.run_url.clone() });
    Ok(RequestStatus {
        request_id: id.to_string(),
        tenant: tenant.to_string(),
        requested_at: record.requested_at.clone(),
        branch: record.branch.clone(),
        auto_approved: record.auto_approved,
        committed: record.committed,
        request_sha: record.sha.clone(),
        run,
        status: Statuses { customer: customer.to_string(), environments },
    })
}

impl fmt::Display for RequestStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let review = if self.auto_approved { "auto-approved" } else { "for review" };
        writeln!(
            f,
            "request {} for tenant {} at {}: on `{}` ({review})",
            self.request_id, self.tenant, self.requested_at, self.branch
        )?;
        writeln!(f, "commit {}", self.request_sha)?;
        if let Some(run) = &self.run {
            let id = run.id.map(|id| format!(" (run {id})")).unwrap_or_default();
            writeln!(f, "run: {}{id}", run.url.as_deref().unwrap_or("-"))?;
        }
        self.status.fmt(f)
    }
}

impl fmt::Display for Statuses {
    /// Per environment: `env @ sha7: current`, then one line per step, the error and the outputs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.environments.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            writeln!(f, "{} {} @ {}: {}", self.customer, s.environment, s.revision.shown(&s.sha), name_of(&s.current))?;
            for step in &s.steps {
                writeln!(f, "  {:<10} {}", name_of(&step.step), step.at)?;
            }
            if let Some(error) = &s.error {
                writeln!(f, "  error: {error}")?;
            }
            // As JSON: one line whatever a value holds.
            if let Some(serde_json::Value::Object(outputs)) = &s.outputs {
                for (name, value) in outputs {
                    writeln!(f, "  {name} = {value}")?;
                }
            }
        }
        Ok(())
    }
}
