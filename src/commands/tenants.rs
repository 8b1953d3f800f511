//! `tenants changed|plan|apply|destroy`: provider-managed tenants from the manager
//! repository's `tenants/<name>.yml`. Plan, apply and destroy run the same flows as a
//! customer's, under the tenant's identity ([`CustomerId::tenant`]); the file comes from
//! the checkout's Git history at the request's commit ([`TenantHost`]).

use std::fmt;

use serde::Serialize;
use serde_json::json;

use super::Outcome;
use super::apply::{ApplyOutcome, applied};
use super::plan::{PlanOutcome, planned};
use super::target::{Source, set_outputs};
use crate::catalog::Catalog;
use crate::cli::{ManagerRepoArgs, TenantApplyArgs, TenantArgs, TenantDestroyArgs, TenantsChangedArgs, Verb};
use crate::context::Context;
use crate::diagnostic::Diagnostic;
use crate::error::CommandError;
use crate::identity::{CustomerId, EnvName, Sha, Target, TenantName};
use crate::pipeline::apply::Mode;
use crate::pipeline::prepare::{applied_file, protected};
use crate::pipeline::{Request, destroy_from};
use crate::tenants::changes::{self, Job};
use crate::tenants::git::ManagerRepo;
use crate::tenants::host::TenantHost;
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
    let repo = ManagerRepo::new(&args.repo.repo);
    let base = repo.commit(&args.base).await?;
    let head = repo.commit(&args.head).await?;
    let include = changes::changed(&repo, &base, &head).await?;
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

pub async fn plan(ctx: &Context<'_>, args: &TenantArgs) -> Result<PlanOutcome, CommandError> {
    let (mut req, host) = request(&args.repo, &args.tenant, &args.env, args.sha.as_deref()).await?;
    req.pull_request = args.pull_request;
    planned(ctx, Verb::TenantsPlan, &req, &source(ctx, host), PlanKind::Update).await
}

pub async fn apply(ctx: &Context<'_>, args: &TenantApplyArgs) -> Result<ApplyOutcome, CommandError> {
    let t = &args.target;
    let sha = match args.last_applied {
        true => Some(destroy_from(ctx.store().await?, &target(&t.tenant, &t.env)?).await?),
        false => t.sha.as_deref().map(|s| Sha::parse(s).map_err(|e| CommandError::bad_sha(&e))).transpose()?,
    };
    let (req, host) = request(&t.repo, &t.tenant, &t.env, sha.as_ref().map(Sha::as_str)).await?;
    let mode = if args.dry_run { Mode::DryRun } else { Mode::Apply };
    applied(ctx, Verb::TenantsApply, &req, &source(ctx, host), mode).await
}

/// Plans the destroy from the commit last applied (a deleted file's last version is
/// there), after refusing a tenant that still has a protected component without
/// `allow_destroy: true` in that version: deleting the file alone never drops data.
pub async fn destroy(ctx: &Context<'_>, args: &TenantDestroyArgs) -> Result<PlanOutcome, CommandError> {
    let target = target(&args.tenant, &args.env)?;
    let config = ctx.config().await?;
    crate::pipeline::admit::admit(config, &target)?;
    let sha = destroy_from(ctx.store().await?, &target).await?;
    let (req, host) = request(&args.repo, &args.tenant, &args.env, Some(sha.as_str())).await?;
    let catalog = Catalog::load(config).map_err(CommandError::Invalid)?;
    let path = req.target.customer.as_tenant().map(|t| t.file()).unwrap_or_default();
    // Fail closed: a version that can't be read or checked can't show it allows the destroy.
    let Some(file) = applied_file(config, &host, &req.target.customer, &sha, &catalog).await? else {
        return Err(CommandError::usage(
            format!("`{path}` as last applied at {} can't be read or is no longer valid", sha.short()),
            format!("check `git show {sha}:{path}` in the manager checkout (fetch its history) and `tenants plan --sha {sha}`"),
        )
        .about(super::target::subject(&req)));
    };
    let refused = protected_in(&args.tenant, &path, &sha, &file, &catalog);
    if !refused.is_empty() {
        return Err(CommandError::Invalid(refused).about(super::target::subject(&req)));
    }
    planned(ctx, Verb::TenantsDestroy, &req, &source(ctx, host), PlanKind::Destroy).await
}

/// Each protected component of the version last applied that does not allow its
/// destruction, at its place in that version.
fn protected_in(
    tenant: &str,
    path: &str,
    sha: &Sha,
    file: &crate::variables::v2::Customer,
    catalog: &Catalog,
) -> Vec<Diagnostic> {
    protected(file, catalog)
        .map(|c| Diagnostic {
            file: path.to_owned(),
            line: c.at.line,
            column: c.at.column,
            message: format!(
                "tenant `{tenant}` has component `{}` (type `{}`, protected): the configuration applied at {} does not allow its destruction",
                c.name,
                c.type_name,
                sha.short()
            ),
            hint: Some(format!(
                "destroying a protected component takes two reviewed changes: restore the file, set `allow_destroy: true` on `{}` and apply that, then delete the file",
                c.name
            )),
        })
        .collect()
}

fn target(tenant: &str, env: &str) -> Result<Target, CommandError> {
    let tenant = TenantName::parse(tenant)
        .map_err(|e| CommandError::usage(e.to_string(), "pass `--tenant NAME`, the name of `tenants/NAME.yml`"))?;
    let env = EnvName::parse(env).map_err(|e| CommandError::bad_env(&e))?;
    Ok(Target { customer: CustomerId::tenant(&tenant), env })
}

/// Where a tenant request's results go: the job summary in GitHub Actions, else the
/// terminal.
fn source(ctx: &Context<'_>, host: TenantHost) -> Source {
    Source::Tenant { host, in_actions: ctx.settings.runner.in_actions }
}

/// The tenant's request at `sha` (default: the checkout's `HEAD`), and the checkout as
/// its code host.
async fn request(
    repo: &ManagerRepoArgs,
    tenant: &str,
    env: &str,
    sha: Option<&str>,
) -> Result<(Request, TenantHost), CommandError> {
    let target = target(tenant, env)?;
    let git = ManagerRepo::new(&repo.repo);
    let sha = match sha {
        Some(s) => Sha::parse(s).map_err(|e| CommandError::bad_sha(&e))?,
        None => git.commit("HEAD").await?,
    };
    Ok((Request { target, sha, pull_request: None }, TenantHost::new(git)))
}
