//! `tenants changed`: which tenants a range of manager commits creates, updates and
//! destroys. Plan, apply and destroy are the common verbs with `--tenant`; `tenants
//! plan|apply|destroy` remain one release as deprecated spellings of them.

use std::fmt;

use serde::Serialize;
use serde_json::json;

use super::Outcome;
use super::apply::ApplyOutcome;
use super::plan::{PlanOutcome, planned};
use super::target::set_outputs;
use crate::cli::{
    AppliedTargetArgs, ApplyArgs, DestroyArgs, TargetArgs, TenantApplyArgs, TenantArgs, TenantDestroyArgs,
    TenantsChangedArgs, Verb,
};
use crate::context::Context;
use crate::error::CommandError;
use crate::tenants::changes::{self, Job};
use crate::terraform::PlanKind;

/// The jobs of `tenants changed`: `{"include": [...]}` for a workflow matrix.
#[derive(Debug, Serialize)]
pub struct Changed {
    pub include: Vec<Job>,
}

impl fmt::Display for Changed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.include.is_empty() {
            return f.write_str("no tenant file changed");
        }
        let lines: Vec<String> = self
            .include
            .iter()
            .map(|j| format!("{} {} {}", crate::report::name_of(&j.action), j.tenant, j.environment))
            .collect();
        f.write_str(&lines.join("\n"))
    }
}

impl Outcome for Changed {
    const ENVELOPE: bool = false;
}

pub async fn changed(ctx: &Context<'_>, args: &TenantsChangedArgs) -> Result<Changed, CommandError> {
    let repo = ctx.manager_repo(&args.repo.repo);
    let head = repo.commit(&args.head).await?;
    let include = match &args.base {
        Some(base) => {
            let base = repo.commit(base).await?;
            changes::changed(ctx.config().await?, ctx.store().await?, &repo, &base, &head).await?
        }
        None => changes::pending(ctx.config().await?, ctx.store().await?, &repo, &head).await?,
    };
    if include.len() > super::targets::MAX_MATRIX_JOBS {
        return Err(CommandError::usage(
            format!(
                "{} tenant jobs, more than a workflow matrix takes ({})",
                include.len(),
                super::targets::MAX_MATRIX_JOBS
            ),
            "split the change into smaller pull requests",
        ));
    }
    let matrix = json!({ "include": include });
    let outputs = [("matrix", matrix.to_string()), ("count", include.len().to_string())];
    set_outputs(ctx.settings.runner.output.as_deref(), &outputs);
    Ok(Changed { include })
}

/// `tenants plan` is `plan --tenant` (kept one release for workflows in the field).
pub async fn plan(ctx: &Context<'_>, args: &TenantArgs) -> Result<PlanOutcome, CommandError> {
    deprecated("tenants plan", "plan --tenant NAME --env ENV");
    let (req, source) = super::target::request(ctx, &target_args(args)).await?;
    planned(ctx, Verb::Plan, &req, &source, PlanKind::Update).await
}

/// `tenants apply` is `apply --tenant` (kept one release for workflows in the field).
pub async fn apply(ctx: &Context<'_>, args: &TenantApplyArgs) -> Result<ApplyOutcome, CommandError> {
    deprecated("tenants apply", "apply --tenant NAME --env ENV");
    let apply = ApplyArgs {
        github: args.target.github.clone(),
        target: target_args(&args.target),
        dry_run: args.dry_run,
        last_applied: args.last_applied,
        break_glass: None,
    };
    super::apply::run(ctx, &apply).await
}

/// `tenants destroy` is `destroy --tenant` (kept one release for workflows in the field).
pub async fn destroy(ctx: &Context<'_>, args: &TenantDestroyArgs) -> Result<PlanOutcome, CommandError> {
    deprecated("tenants destroy", "destroy --tenant NAME --env ENV");
    let destroy = DestroyArgs {
        target: AppliedTargetArgs {
            github: args.github.clone(),
            source_dir: None,
            customer: None,
            tenant: Some(args.tenant.clone()),
            manager: args.repo.clone(),
        },
        report_to: None,
        env: args.env.clone(),
        allow_protected: false,
    };
    super::destroy::run(ctx, &destroy).await
}

fn deprecated(old: &str, new: &str) {
    crate::output::log(&format!(
        "warning: `infra-manager {old}` is deprecated and will be removed in the next release: use `infra-manager {new}`"
    ));
}

fn target_args(args: &TenantArgs) -> TargetArgs {
    TargetArgs {
        source_dir: None,
        customer: None,
        tenant: Some(args.tenant.clone()),
        manager: args.repo.clone(),
        pull_request: args.pull_request,
        env: Some(args.env.clone()),
        sha: args.sha.clone(),
    }
}
