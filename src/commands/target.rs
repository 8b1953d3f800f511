//! What `plan`, `apply` and `render` share: where the request comes from (a local
//! directory, or the `repository_dispatch` that started this run) and how a result is
//! reported to the GitHub Actions runner.

use std::io::Write;
use std::path::Path;

use crate::actions::{self, CommandsOff};
use crate::cli::{AppliedTargetArgs, TargetArgs, Verb};
use crate::codehost::{Files, LogReporter, OwnerFiles, OwnerReporter, Reporter};
use crate::commands::TargetResult;
use crate::config::Config;
use crate::context::Context;
use crate::error::{CommandError, Status, Subject};
use crate::event;
use crate::github::GithubHost;
use crate::identity::{EnvName, Owner, RepoId, Sha, Target, TenantName};
use crate::local_host::LocalHost;
use crate::output;
use crate::pipeline::{Deps, Request, provenance};
use crate::report::markdown::{code, fenced};
use crate::report::name_of;
use crate::settings::Runner;
use crate::tenants::git::ManagerRepo;
use crate::tenants::host::{ManagerReporter, TenantHost};

/// Where a request comes from.
pub enum Source {
    /// `--source-dir`: a directory stands in for the customer repository.
    Local(LocalHost),
    /// The `repository_dispatch` event at `GITHUB_EVENT_PATH`, read through the GitHub API.
    Dispatch(Box<event::Dispatch>),
    /// The provider's own request (`--customer` and `--sha`, from a manual manager
    /// workflow such as destroy), read through the GitHub API. Not a customer's claim: it
    /// is as trusted as whoever may run the workflow (a protected environment).
    Provider,
    /// A provider-managed tenant: its file from the manager checkout's Git history.
    /// `in_actions`: running in GitHub Actions, where results go to the job summary.
    Tenant { host: crate::tenants::host::TenantHost, in_actions: bool },
}

impl Source {
    /// Whether results go to GitHub (statuses, the job summary) rather than the terminal.
    pub fn on_github(&self) -> bool {
        match self {
            Source::Local(_) => false,
            Source::Tenant { in_actions, .. } => *in_actions,
            Source::Dispatch(_) | Source::Provider => true,
        }
    }
}

/// The request and its source, from the arguments (local, a tenant, the provider's own)
/// or the dispatch event.
pub async fn request(ctx: &Context<'_>, args: &TargetArgs) -> Result<(Request, Source), CommandError> {
    if let Some(tenant) = &args.tenant {
        let config = ctx.config().await?;
        let target = Target { owner: Owner::Tenant(tenant_name(tenant)?), env: env(config, args)? };
        let git = ctx.manager_repo(&args.manager.repo);
        let sha = match &args.sha {
            Some(s) => Sha::parse(s).map_err(|e| CommandError::bad_sha(&e))?,
            None => git.commit("HEAD").await?,
        };
        let req = Request { pull_request: args.pull_request, ..Request::new(target, sha) };
        return Ok((req, tenant_source(ctx, git)));
    }
    match &args.source_dir {
        Some(dir) => {
            let (req, host) = local_request(ctx, args, dir).await?;
            Ok((req, Source::Local(host)))
        }
        None if args.customer.is_some() => Ok((provider_request(ctx.config().await?, args)?, Source::Provider)),
        None => {
            let env = env(ctx.config().await?, args)?;
            let dispatch = dispatch_event(&ctx.settings.runner, "pass `--source-dir DIR` for a local run")?;
            let target = Target { owner: Owner::Customer(dispatch.customer.clone()), env };
            let req = Request { pull_request: dispatch.pull_request, ..Request::new(target, dispatch.sha.clone()) };
            Ok((req, Source::Dispatch(Box::new(dispatch))))
        }
    }
}

/// The request of a verb that plans from the commit last applied (`destroy`, `state
/// rollback`), before that commit is known: its arguments as a [`TargetArgs`] whose commit
/// is a placeholder, to be replaced by the one last applied.
pub fn at_placeholder(args: &AppliedTargetArgs, env: &str) -> TargetArgs {
    TargetArgs {
        source_dir: args.source_dir.clone(),
        customer: args.customer.clone(),
        tenant: args.tenant.clone(),
        manager: args.manager.clone(),
        pull_request: None,
        env: Some(env.to_owned()),
        sha: Some("0".repeat(40)),
    }
}

/// `--tenant NAME`, checked.
pub fn tenant_name(name: &str) -> Result<TenantName, CommandError> {
    TenantName::parse(name)
        .map_err(|e| CommandError::usage(e.to_string(), "pass `--tenant NAME`, the name of `tenants/NAME.yml`"))
}

/// A tenant's files come from the manager checkout; its results go to the job summary in
/// GitHub Actions, else the terminal.
pub fn tenant_source(ctx: &Context<'_>, git: ManagerRepo) -> Source {
    Source::Tenant { host: TenantHost::new(git), in_actions: ctx.settings.runner.in_actions }
}

/// `--env`, which a single-target verb requires; a missing one is told the choices.
fn env(config: &Config, args: &TargetArgs) -> Result<EnvName, CommandError> {
    let Some(env) = &args.env else {
        let names = config.environment_names();
        return Err(CommandError::usage(
            "`--env` is required",
            format!(
                "name one of the configured environments: {} (e.g. `--env {}`)",
                names.join(", "),
                names.first().copied().unwrap_or("staging")
            ),
        ));
    };
    EnvName::parse(env).map_err(|e| CommandError::bad_env(&e))
}

/// A provider-side request: `--customer`, `--env` and `--sha` name it exactly.
fn provider_request(config: &Config, args: &TargetArgs) -> Result<Request, CommandError> {
    let customer =
        RepoId::parse(args.customer.as_deref().unwrap_or_default()).map_err(|e| CommandError::bad_customer(&e))?;
    let Some(sha) = &args.sha else {
        return Err(CommandError::usage(
            "`--customer` without `--source-dir` needs `--sha`: the customer commit whose plan to use",
            "pass the commit the plan was made for (the destroy job's `sha` output)",
        ));
    };
    let sha = Sha::parse(sha).map_err(|e| CommandError::bad_sha(&e))?;
    Ok(Request::new(Target { owner: Owner::Customer(customer), env: env(config, args)? }, sha))
}

/// The customer of a local source directory: `--customer`, else `local/<dir name>`.
pub fn local_customer(customer: Option<&str>, source_dir: &Path) -> Result<RepoId, CommandError> {
    let name = match customer {
        Some(c) => c.to_owned(),
        None => {
            let dir = std::path::absolute(source_dir).unwrap_or_else(|_| source_dir.to_path_buf());
            let base = dir.file_name().map(|n| n.to_string_lossy().to_lowercase()).unwrap_or_default();
            format!("local/{base}")
        }
    };
    RepoId::parse(&name).map_err(|e| CommandError::bad_customer(&e))
}

/// The local source directory as a code host, refused when it is not a directory.
pub fn local_host(config: &Config, source_dir: &Path) -> Result<LocalHost, CommandError> {
    if !source_dir.is_dir() {
        return Err(CommandError::usage(
            format!("source directory `{}` does not exist", source_dir.display()),
            "pass the customer repository checkout as `--source-dir`",
        ));
    }
    Ok(LocalHost::new(source_dir).with_history(&config.local_history_dir()))
}

/// A request for the directory `dir` (`--source-dir`), and the directory as a code host.
pub async fn local_request(
    ctx: &Context<'_>,
    args: &TargetArgs,
    dir: &Path,
) -> Result<(Request, LocalHost), CommandError> {
    let config = ctx.config().await?;
    let host = local_host(config, dir)?;
    let customer = local_customer(args.customer.as_deref(), dir)?;
    let env = env(config, args)?;
    let sha = match &args.sha {
        Some(s) => Sha::parse(s).map_err(|e| CommandError::bad_sha(&e))?,
        None => host.head(&customer)?,
    };
    Ok((Request::new(Target { owner: Owner::Customer(customer), env }, sha), host))
}

/// The `repository_dispatch` this run was started by; `local` says how the verb runs
/// without one.
pub fn dispatch_event(runner: &Runner, local: &str) -> Result<event::Dispatch, CommandError> {
    let Some(path) = &runner.event_path else {
        return Err(CommandError::usage("no GITHUB_EVENT_PATH: not running in GitHub Actions", local));
    };
    Ok(event::parse_dispatch(&event::read(path)?)?)
}

/// What the customer, environment and commit of a request are, for results and errors.
pub fn subject(req: &Request) -> Subject {
    Subject {
        customer: Some(req.target.owner.to_string()),
        environment: Some(req.target.env.to_string()),
        sha: Some(req.sha.to_string()),
        flags: Some(format!("{} --env {}", crate::identity::owner_flag(&req.target.owner), req.target.env)),
    }
}

/// Runs `flow` against the seams for `source`: the local directory or the GitHub API, the
/// configured store and Terraform, and a work root for this run. On GitHub, Terraform's
/// output (which carries customer values) is printed with workflow commands turned off.
pub async fn with_deps<T>(
    ctx: &Context<'_>,
    verb: Verb,
    req: &Request,
    source: &Source,
    flow: impl AsyncFnOnce(&Deps<'_>) -> Result<T, CommandError>,
) -> Result<T, CommandError> {
    let config = ctx.config().await?;
    // Refuse an unregistered repository before touching GitHub or the store; the flow
    // admits the run as a whole ([`crate::pipeline::admit`]) before it writes anything.
    crate::pipeline::admit::registered(config, &req.target)?;
    let to_manager;
    let (files, reporter): (&dyn Files, &dyn Reporter) = match source {
        Source::Local(host) => (host, &LogReporter { name_owner: false }),
        Source::Dispatch(dispatch) => {
            let github = admit_dispatch(ctx, dispatch, &req.target, verb).await?;
            (github, github)
        }
        Source::Provider => {
            let github = ctx.github().await?;
            (github, github)
        }
        // In Actions, with a GitHub credential, a tenant's statuses also go to its file's
        // commit in the manager repo (and a plan to its pull request's comment).
        Source::Tenant { host, in_actions: true }
            if (ctx.settings.github.token.is_some() || ctx.settings.github.app.is_some())
                && let Some(manager) = manager_repo(ctx) =>
        {
            to_manager = ManagerReporter { github: ctx.github().await?, manager };
            (host, &to_manager)
        }
        Source::Tenant { host, .. } => (host, &LogReporter { name_owner: true }),
    };
    let work = ctx.work_root().await?;
    let deps = ctx.deps(files, reporter, &work).await?;
    if !source.on_github() {
        return flow(&deps).await;
    }
    let mut log = std::io::stderr();
    let off = CommandsOff::begin(&mut log);
    let result = flow(&deps).await;
    off.resume(&mut log);
    result
}

/// The manager repository the workflow runs in (`GITHUB_REPOSITORY`).
fn manager_repo(ctx: &Context<'_>) -> Option<RepoId> {
    ctx.settings.runner.repository.as_deref().and_then(|r| RepoId::parse(r).ok())
}

/// The payload's commit and PR are claims: GitHub (and, where the registry requires it,
/// the dispatch's OIDC token) must vouch for them before anything is written anywhere.
async fn admit_dispatch<'c>(
    ctx: &'c Context<'_>,
    dispatch: &event::Dispatch,
    target: &Target,
    verb: Verb,
) -> Result<&'c GithubHost, CommandError> {
    let config = ctx.config().await?;
    let github = ctx.github().await?;
    let bound = provenance::bind(github, ctx.store().await?, dispatch, target, verb).await?;
    if let Some(registration) = config.registration(&target.owner).filter(|r| r.require_oidc) {
        let audience = ctx.settings.runner.repository.as_deref().ok_or_else(|| {
            CommandError::usage(
                "no GITHUB_REPOSITORY: the OIDC token's audience (the manager repository) is unknown",
                "run the manager workflows in GitHub Actions",
            )
        })?;
        let check = provenance::OidcCheck {
            issuer: &config.oidc_issuer,
            audience,
            trigger_workflow: registration.trigger_workflow.unwrap_or(crate::config::DEFAULT_TRIGGER_WORKFLOW),
        };
        provenance::verify_oidc(&check, dispatch, &bound).await?;
    }
    Ok(github)
}

/// Annotations, step outputs and the job summary for a plan or apply on GitHub: the
/// result's fields and the summary's body, or the error.
pub fn report_to_runner(runner: &Runner, verb: Verb, result: Result<(&TargetResult, &str), &CommandError>) {
    let mut log = std::io::stderr();
    let failed_fields;
    let (fields, status, body) = match result {
        Ok((fields, body)) => (fields, Status::Ok, body.to_owned()),
        Err(error) => {
            for e in error.items() {
                match (&e.file, e.line, e.column) {
                    (Some(file), Some(line), Some(col)) => actions::error_at(&mut log, file, line, col, &e.message),
                    _ => actions::error(&mut log, &e.message),
                }
            }
            failed_fields = error.subject().map(TargetResult::from).unwrap_or_default();
            (&failed_fields, error.status(), fenced(&error.text(), "text"))
        }
    };
    let _ = log.flush();
    let num = |n: Option<u32>| n.map_or_else(String::new, |v| v.to_string());
    let outputs = [
        ("status", name_of(&status)),
        ("has_changes", fields.has_changes.map_or_else(String::new, |b| b.to_string())),
        ("add", num(fields.add)),
        ("change", num(fields.change)),
        ("destroy", num(fields.destroy)),
        ("plan_sha256", fields.plan_sha256.clone().unwrap_or_default()),
        // The customer commit, for a later job that applies this plan (destroy).
        ("sha", fields.sha.clone().unwrap_or_default()),
    ];
    set_outputs(runner.output.as_deref(), &outputs);
    let title = format!(
        "## infra-manager {}: {} ({})\n\n",
        name_of(&verb),
        code(fields.customer.as_deref().unwrap_or_default()),
        code(fields.environment.as_deref().unwrap_or_default())
    );
    let github = crate::github::budget::so_far();
    let github = if github.calls > 0 { format!("\n{}.\n", github.line(None)) } else { String::new() };
    append_summary(runner.summary.as_deref(), &format!("{title}{body}\n{github}"));
}

/// Writes step outputs when running in GitHub Actions; a failure to write is logged.
pub fn set_outputs(path: Option<&Path>, outputs: &[(&str, String)]) {
    if let Some(path) = path
        && let Err(e) = actions::set_outputs(path, outputs)
    {
        output::log(&format!("warning: can't write step outputs to `{}`: {e}", path.display()));
    }
}

/// Appends to the job summary when running in GitHub Actions; a failure to write is logged.
/// A fleet run's report to the runner: its counts as step outputs, its table in the job
/// summary (a single run's, or `fleet merge`'s of the shards).
/// The run's GitHub calls so far are added to the report's first (for `fleet merge`, to
/// its shards').
pub(super) fn publish<R: crate::report::fleet::FleetRow>(
    runner: &crate::settings::Runner,
    report: &mut crate::report::fleet::FleetReport<R>,
) {
    let github = report.github.unwrap_or_default() + crate::github::budget::so_far();
    report.github = Some(github).filter(|g| g.calls > 0);
    let outputs: Vec<(&str, String)> = report
        .layout
        .outputs
        .iter()
        .map(|k| (*k, report.counts.get(*k).map(ToString::to_string).unwrap_or_default()))
        .collect();
    set_outputs(runner.output.as_deref(), &outputs);
    append_summary(runner.summary.as_deref(), &report.to_string());
}

pub fn append_summary(path: Option<&Path>, markdown: &str) {
    if let Some(path) = path
        && let Err(e) = actions::append_summary(path, markdown)
    {
        output::log(&format!("warning: can't write the job summary `{}`: {e}", path.display()));
    }
}

/// Where a fleet verb reads each target's file: customers from GitHub or, locally, from
/// `--source-root DIR/<owner>/<repo>/`; tenants from the manager checkout. A fleet run
/// reports to the log (a re-plan, a drift check, a reap sets no commit status).
pub struct FleetHosts {
    local: Option<LocalHost>,
    tenants: TenantHost,
    log: LogReporter,
}

impl FleetHosts {
    pub fn new(config: &Config, source_root: Option<&Path>, manager: &ManagerRepo) -> Result<Self, CommandError> {
        let local = match source_root {
            Some(root) if !root.is_dir() => {
                return Err(CommandError::usage(
                    format!("source root `{}` does not exist", root.display()),
                    "pass a directory holding one checkout per customer at `<owner>/<repo>/`",
                ));
            }
            Some(root) => Some(LocalHost::per_customer(root).with_history(&config.local_history_dir())),
            None => None,
        };
        Ok(Self { local, tenants: TenantHost::new(manager.clone()), log: LogReporter { name_owner: true } })
    }

    /// The local checkouts, when the customers are read from them.
    pub fn local(&self) -> Option<&LocalHost> {
        self.local.as_ref()
    }

    /// The files and reporter for `targets`: GitHub is opened only when a customer is
    /// read from it (and then reports its statuses, as a re-plan's never are).
    pub async fn hosts<'a>(
        &'a self,
        ctx: &'a Context<'_>,
        targets: &[Target],
    ) -> Result<(OwnerFiles<'a>, OwnerReporter<'a>), CommandError> {
        let any_customer = targets.iter().any(|t| matches!(t.owner, Owner::Customer(_)));
        let (customers, reporter): (&dyn Files, &dyn Reporter) = match &self.local {
            Some(local) => (local, &self.log),
            None if any_customer => {
                let github = ctx.github().await?;
                (github, github)
            }
            // No customer is read: the tenants' source refuses any customer read.
            None => (&self.tenants, &self.log),
        };
        Ok((
            OwnerFiles { customers, tenants: &self.tenants },
            OwnerReporter { customers: reporter, tenants: &self.log },
        ))
    }
}
