//! Command-line parsing: the clap types, and [`Verb`], the name of what runs. Nothing here
//! runs anything; `app` turns a parsed [`Cli`] into a call.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use serde::Serialize;

#[derive(Debug, Parser)]
#[command(
    name = "infra-manager",
    version,
    about = "Managed infrastructure for customer repositories: plan and apply Terraform from infra/variables.yml"
)]
pub struct Cli {
    /// The manager configuration; a missing file means local mode with built-in defaults.
    #[arg(long, global = true, default_value = "infra-manager.yml", value_name = "PATH")]
    pub config: PathBuf,
    /// Print one JSON object on stdout instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate, render and plan a customer environment; store the plan for apply.
    Plan(PlanArgs),
    /// Apply exactly the stored plan (checksum verified) or refuse.
    Apply(ApplyArgs),
    /// Check a variables.yml file; exits 0 when valid, 2 when not.
    Validate(ValidateArgs),
    /// Write the Terraform working directory for a customer environment and print its path.
    Render(RenderArgs),
    /// Print the JSON Schema of infra/variables.yml.
    Schema(SchemaArgs),
    /// Rewrite a schema v1 variables.yml as schema v2 that plans the same resources
    /// (printed, or with `--write` written in place); a v2 file is left as it is.
    Migrate(MigrateArgs),
    /// List the component types offered, with their inputs and limits (read from each
    /// module's variables.tf, narrowed by the tiers).
    Catalog(CatalogArgs),
    /// Manager side: print the (customer, environment) matrix for a repository_dispatch
    /// (or, with `--all`, for every registered customer).
    Targets(TargetsArgs),
    /// Customer side: send the repository_dispatch for this pull_request, push or merge_group event.
    Dispatch(DispatchArgs),
    /// Re-plan what each target last applied, without applying; report drift.
    Drift(DriftArgs),
    /// Offboarding: plan to destroy everything in a customer environment, from the
    /// configuration last applied to it; store and show the plan. `apply` applies it.
    Destroy(DestroyArgs),
    /// Destroy every environment whose `expires_at` has passed (plan and apply, through
    /// the destroy path); `--dry-run` lists them.
    Reap(ReapArgs),
    /// Create the state bucket and tables if they are missing (S3 backend); safe to re-run.
    Bootstrap,
    /// Check the set-up, one line per check, and change nothing: the configuration,
    /// modules and catalog, Terraform, the store (bucket versioned and encrypted, tables
    /// there) and the GitHub credential and environments; exit 1 if a check failed.
    Doctor(DoctorArgs),
    /// List a customer's runs (plan, apply, drift, destroy), newest first.
    History(HistoryArgs),
    /// Every apply and destroy of the fleet with its target, commit, plan digest, counts,
    /// requester, approver and time, oldest first (`--json`: one JSON object a line).
    Audit(AuditArgs),
    /// Where each environment's latest change is: requested → validated → planned →
    /// applying → applied → healthy, or failed / cancelled, with times, error and outputs.
    Status(StatusArgs),
    /// List or release Terraform state locks (S3 backend).
    #[command(subcommand)]
    Locks(LocksCommand),
    /// The versions of a target's Terraform state (`state versions`), and one written back
    /// as the newest (`state rollback`), then planned.
    #[command(subcommand)]
    State(StateCommand),
    /// Fleet runs split over jobs: `fleet merge` joins the shards' reports.
    #[command(subcommand)]
    Fleet(FleetCommand),
    /// Provider-managed tenants: `tenants/<name>.yml` in the manager repository, created,
    /// updated and destroyed from its Git history.
    #[command(subcommand)]
    Tenants(TenantsCommand),
    /// The Rego policies under `policy.dir`: run their tests (`policy test`).
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Monthly cost by the catalog's prices: `--all` prints the fleet's, per customer and
    /// tenant (showback), from what each environment last applied.
    Cost(CostArgs),
    /// Every target (customers and tenants) × environment in one table: the commit last
    /// applied and when, a plan waiting (and its approval), drift, health, expiry, a lock
    /// held, the monthly cost and open provisioning requests. Read from the records only.
    Overview(OverviewArgs),
    /// The status page: `report --html DIR` writes a static, self-contained site of the
    /// same rows as `overview` (a fleet page, then one page per target with its runs).
    Report(ReportArgs),
    /// Provisioning requests: `requests list` shows the recent ones and where each is.
    #[command(subcommand)]
    Requests(RequestsCommand),
    /// Stored plans: `plans list` shows a target's, newest first, and which one `apply` takes.
    #[command(subcommand)]
    Plans(PlansCommand),
}

#[derive(Debug, Args)]
pub struct OverviewArgs {
    /// Only this customer, `owner/repo`.
    #[arg(long, value_name = "OWNER/REPO", conflicts_with = "tenant")]
    pub customer: Option<String>,
    /// Only this provider-managed tenant (`tenants/NAME.yml`).
    #[arg(long, value_name = "NAME")]
    pub tenant: Option<String>,
    /// Only this environment.
    #[arg(long, value_name = "ENV")]
    pub env: Option<String>,
    #[command(flatten)]
    pub manager: ManagerRepoArgs,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Write the site to this folder: `index.html` and `targets/*.html`. A folder written
    /// before is replaced whole; any other non-empty folder is refused.
    #[arg(long, value_name = "DIR")]
    pub html: PathBuf,
    /// The targets, as `overview` selects them.
    #[command(flatten)]
    pub overview: OverviewArgs,
}

#[derive(Debug, Subcommand)]
pub enum RequestsCommand {
    /// The recent provisioning requests, newest first, and where each one's change is in
    /// each of its environments (the steps of `status --request`).
    List(RequestsListArgs),
}

#[derive(Debug, Args)]
pub struct RequestsListArgs {
    /// Only this tenant's requests.
    #[arg(long, value_name = "NAME")]
    pub tenant: Option<String>,
    /// At most this many requests.
    #[arg(long, value_name = "N", default_value_t = 20, value_parser = clap::value_parser!(u16).range(1..=200))]
    pub limit: u16,
    /// The manager checkout, where each request's commit is followed.
    #[command(flatten)]
    pub repo: ManagerRepoArgs,
}

#[derive(Debug, Subcommand)]
pub enum PlansCommand {
    /// A target's stored plans, newest first, marking the one an apply would take (the
    /// newest: any other is refused as superseded) and those already applied.
    List(PlansListArgs),
}

#[derive(Debug, Args)]
pub struct PlansListArgs {
    #[command(flatten)]
    pub owner: OwnerArgs,
    #[arg(long, value_name = "ENV")]
    pub env: String,
    /// At most this many plans.
    #[arg(long, value_name = "N", default_value_t = 20, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub limit: u16,
}

#[derive(Debug, Args)]
pub struct CostArgs {
    /// Every registered customer's and tenant's environments.
    #[arg(long)]
    pub all: bool,
    #[command(flatten)]
    pub manager: ManagerRepoArgs,
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Run the policies' own tests (`test_*` rules in `*_test.rego`), as `opa test` does;
    /// exit 1 if one fails or errs.
    Test,
    /// From the run records of every registered customer and tenant: each policy's `deny`
    /// and `warn` rule and how often it fired; the ones that never did are listed first.
    Coverage(PolicyCoverageArgs),
}

#[derive(Debug, Args)]
pub struct PolicyCoverageArgs {
    #[command(flatten)]
    pub manager: ManagerRepoArgs,
}

/// How the commands that talk to GitHub authenticate: a token, or a GitHub App. Only those
/// commands take these flags, so `--help` of the others never offers them.
#[derive(Debug, Clone, Default, Args)]
pub struct GithubArgs {
    /// GitHub token for the GitHub API (customer repos, dispatches); never printed.
    #[arg(long, env = "GITHUB_TOKEN", hide_env_values = true, value_name = "TOKEN")]
    pub github_token: Option<String>,
    /// Act as this GitHub App (its numeric id) instead of a token: each repository gets an
    /// installation token of its own; needs the App's private key.
    #[arg(long, env = "INFRA_MANAGER_GITHUB_APP_ID", value_name = "ID", conflicts_with = "github_token")]
    pub github_app_id: Option<String>,
    /// The GitHub App's private key (PEM), read from this file; or set the PEM itself in
    /// `INFRA_MANAGER_GITHUB_APP_PRIVATE_KEY`. Never printed.
    #[arg(long, env = "INFRA_MANAGER_GITHUB_APP_PRIVATE_KEY_FILE", value_name = "PATH")]
    pub github_app_private_key_file: Option<PathBuf>,
}

impl Command {
    /// The GitHub flags of a command that talks to GitHub.
    pub fn github(&self) -> Option<&GithubArgs> {
        match self {
            Self::Plan(a) => Some(&a.github),
            Self::Apply(a) => Some(&a.github),
            Self::Targets(a) => Some(&a.github),
            Self::Dispatch(a) => Some(&a.github),
            Self::Drift(a) => Some(&a.github),
            Self::Destroy(a) => Some(&a.target.github),
            Self::Reap(a) => Some(&a.github),
            Self::Doctor(a) => Some(&a.github),
            Self::Fleet(FleetCommand::Merge(a)) => Some(&a.github),
            Self::Locks(LocksCommand::List(a)) => Some(&a.github),
            Self::State(StateCommand::Rollback(a)) => Some(&a.target.github),
            Self::Tenants(TenantsCommand::Plan(a)) => Some(&a.github),
            Self::Tenants(TenantsCommand::Apply(a)) => Some(&a.target.github),
            Self::Tenants(TenantsCommand::Destroy(a)) => Some(&a.github),
            _ => None,
        }
    }
}

#[derive(Debug, Args)]
pub struct CatalogArgs {
    /// Show the limits of this customer's tier, `owner/repo`.
    #[arg(long, value_name = "OWNER/REPO")]
    pub customer: Option<String>,
}

#[derive(Debug, Args)]
pub struct DriftArgs {
    #[command(flatten)]
    pub github: GithubArgs,
    /// Local mode: the customer repository checkout (otherwise every registered customer).
    #[arg(long, value_name = "DIR", conflicts_with_all = ["source_root", "tenant"])]
    pub source_dir: Option<PathBuf>,
    /// Local mode: read each customer's files from `DIR/<owner>/<repo>/`.
    #[arg(long, value_name = "DIR")]
    pub source_root: Option<PathBuf>,
    /// Only this customer, `owner/repo` (local mode: default `local/<dir name>`).
    #[arg(long, value_name = "OWNER/REPO", conflicts_with = "tenant")]
    pub customer: Option<String>,
    /// Only this provider-managed tenant (`tenants/NAME.yml`).
    #[arg(long, value_name = "NAME")]
    pub tenant: Option<String>,
    #[command(flatten)]
    pub manager: ManagerRepoArgs,
    /// Only this environment.
    #[arg(long, value_name = "ENV")]
    pub env: Option<String>,
    /// How many targets to check at once (default: one more than the cores).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64))]
    pub parallel: Option<u16>,
    /// Every target: registered customers and the tenant files at the manager checkout's
    /// `HEAD` (the default without `--source-dir`).
    #[arg(long, conflicts_with_all = ["source_dir", "customer", "tenant", "env"])]
    pub all: bool,
    /// Open an issue in the manager repository (`GITHUB_REPOSITORY`) for each drifted
    /// target, edit it on later runs, and close it when the target is back in sync.
    #[arg(long, conflicts_with = "source_dir")]
    pub open_issues: bool,
    /// Only shard K of N of the target list (`2/4`), for a matrix of jobs; each writes its
    /// `--json` report and `fleet merge` joins them (and opens the drift issues).
    #[arg(long, value_name = "K/N", conflicts_with_all = ["source_dir", "customer", "tenant", "env", "open_issues"])]
    pub shard: Option<crate::shard::Shard>,
    /// Exit 2 when anything drifted, 0 when every target is in sync, 1 on an error (as
    /// `terraform plan -detailed-exitcode`; an invalid input exits 1 too).
    #[arg(long)]
    pub exit_code: bool,
}

/// The target of a verb that plans from the commit last applied to it (`destroy`, `state
/// rollback`): a customer, from GitHub or a local checkout, or a tenant.
#[derive(Debug, Args)]
pub struct AppliedTargetArgs {
    #[command(flatten)]
    pub github: GithubArgs,
    /// Local mode: the customer repository checkout (reads DIR/infra/variables.yml).
    #[arg(long, value_name = "DIR", conflicts_with = "tenant")]
    pub source_dir: Option<PathBuf>,
    /// The customer, `owner/repo` (GitHub: required; local mode default `local/<dir name>`).
    #[arg(long, value_name = "OWNER/REPO", required_unless_present_any = ["source_dir", "tenant"], conflicts_with = "tenant")]
    pub customer: Option<String>,
    /// A provider-managed tenant (`tenants/NAME.yml`, perhaps deleted) instead of a customer.
    #[arg(long, value_name = "NAME")]
    pub tenant: Option<String>,
    #[command(flatten)]
    pub manager: ManagerRepoArgs,
}

#[derive(Debug, Args)]
pub struct DestroyArgs {
    #[command(flatten)]
    pub target: AppliedTargetArgs,
    /// The commit the destroy is about (a tenant file's deletion): statuses go there. The
    /// configuration destroyed is always the one last applied.
    #[arg(long, value_name = "SHA", requires = "tenant")]
    pub report_to: Option<String>,
    /// The environment to destroy.
    #[arg(long, value_name = "ENV")]
    pub env: String,
    /// Destroy components of protected types (a `database`) although the configuration last
    /// applied has no `allow_destroy: true` on them: the operator's decision, named in the
    /// plan's record and comment. Its apply runs behind the `<env>-destroy` environment.
    #[arg(long)]
    pub allow_protected: bool,
}

#[derive(Debug, Args)]
pub struct ReapArgs {
    #[command(flatten)]
    pub github: GithubArgs,
    /// List the expired environments; destroy nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// How many environments to reap at once (default: one more than the cores).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64))]
    pub parallel: Option<u16>,
    /// Only shard K of N of the target list (`2/4`), for a matrix of jobs; `fleet merge`
    /// joins their `--json` reports.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<crate::shard::Shard>,
    /// Local mode: read each customer's files from `DIR/<owner>/<repo>/`.
    #[arg(long, value_name = "DIR")]
    pub source_root: Option<PathBuf>,
    /// The manager checkout whose `tenants/<name>.yml` (at its HEAD) may set
    /// `spec.expiresAt`: expired tenants are reaped too.
    #[command(flatten)]
    pub manager: ManagerRepoArgs,
}

#[derive(Debug, Args)]
pub struct TargetsArgs {
    #[command(flatten)]
    pub github: GithubArgs,
    /// Every registered (customer, environment), as matrices of at most 256 jobs each
    /// (GitHub's limit), one per line. States without a registry entry (orphans) are
    /// reported on stderr, in the job summary and as the `orphans` output.
    #[arg(long)]
    pub all: bool,
    /// With `--all`, local mode: read each customer's files from `DIR/<owner>/<repo>/` to
    /// tell environments removed from them (on GitHub: each default branch's head).
    #[arg(long, value_name = "DIR", requires = "all")]
    pub source_root: Option<PathBuf>,
    /// The manager checkout whose tenant files (at its `HEAD`) are targets too.
    #[command(flatten)]
    pub manager: ManagerRepoArgs,
}

#[derive(Debug, Args)]
pub struct DispatchArgs {
    #[command(flatten)]
    pub github: GithubArgs,
    /// The manager repository to dispatch to, `owner/repo`.
    #[arg(long, value_name = "OWNER/REPO", env = "INFRA_MANAGER_REPO")]
    pub manager_repo: String,
}

/// Which target: a tenant, a local directory, or (without `--source-dir`) from the
/// `repository_dispatch` event at `GITHUB_EVENT_PATH`.
#[derive(Debug, Args, Clone)]
pub struct TargetArgs {
    /// Local mode: the customer repository checkout (reads DIR/infra/variables.yml).
    #[arg(long, value_name = "DIR", conflicts_with = "tenant")]
    pub source_dir: Option<PathBuf>,
    /// The customer, `owner/repo` (default `local/<dir name>`).
    #[arg(long, value_name = "OWNER/REPO", conflicts_with = "tenant")]
    pub customer: Option<String>,
    /// A provider-managed tenant instead of a customer: its file is `tenants/<NAME>.yml`
    /// in the manager checkout (`--repo`), read at `--sha` (default: its `HEAD`).
    #[arg(long, value_name = "NAME")]
    pub tenant: Option<String>,
    #[command(flatten)]
    pub manager: ManagerRepoArgs,
    /// The pull request this plan is for: a tenant's sticky comment goes to the manager
    /// repository's pull request (in GitHub Actions, with a token).
    #[arg(long, value_name = "N", requires = "tenant")]
    pub pull_request: Option<u64>,
    /// The environment: one of `environments` in infra-manager.yml (by default `staging`
    /// and `production`).
    #[arg(long, value_name = "ENV")]
    pub env: Option<String>,
    /// The customer commit (default: a digest of variables.yml, standing in for a commit).
    #[arg(long, value_name = "SHA")]
    pub sha: Option<String>,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub github: GithubArgs,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Plan to destroy everything in the environment's state (offboarding); apply it like
    /// any plan. Local mode (`--source-dir`) only.
    #[arg(long)]
    pub destroy: bool,
    /// Re-plan every registered (customer, environment) without storing or applying
    /// anything: a summary table, and exit 1 if any target failed.
    #[arg(long, conflicts_with_all = ["env", "source_dir", "sha", "customer", "tenant", "destroy"])]
    pub all: bool,
    /// With `--all`: how many targets to plan at once (default: one more than the cores).
    #[arg(long, value_name = "N", requires = "all", value_parser = clap::value_parser!(u16).range(1..=64))]
    pub parallel: Option<u16>,
    /// With `--all`: only shard K of N of the target list (`2/4`), for a matrix of jobs;
    /// `fleet merge` joins their `--json` reports.
    #[arg(long, value_name = "K/N", requires = "all")]
    pub shard: Option<crate::shard::Shard>,
    /// With `--all`: re-plan only the targets a change to the manager checkout since this
    /// commit can affect (users of a changed module, a changed registry entry, tier or
    /// catalog type, a changed tenant file; anything else, or a doubt, selects all). The
    /// selection is printed, with why, and is in `--json`.
    #[arg(long, value_name = "SHA", requires = "all")]
    pub changed_since: Option<String>,
    /// With `--all`, local mode: read each customer's files from `DIR/<owner>/<repo>/`
    /// instead of its default branch on GitHub.
    #[arg(long, value_name = "DIR", requires = "all")]
    pub source_root: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub github: GithubArgs,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Run every check and say what would be applied; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Apply the plan made at the commit last applied to the environment: the destroy plan
    /// `destroy` stored (a deleted tenant's file may be gone from `HEAD`).
    #[arg(long, conflicts_with_all = ["sha", "source_dir"])]
    pub last_applied: bool,
    /// Apply outside the environment's windows or in a freeze: needs the environment's
    /// approval; the reason is recorded.
    #[arg(long, value_name = "REASON")]
    pub break_glass: Option<String>,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Only runs started on or after this date (`2026-12-01`, midnight UTC) or time.
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// The manager checkout whose tenant files name the tenants.
    #[command(flatten)]
    pub repo: ManagerRepoArgs,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    #[command(flatten)]
    pub github: GithubArgs,
    /// The manager repository whose deployment environments to check (default:
    /// `GITHUB_REPOSITORY`).
    #[arg(long, value_name = "OWNER/NAME")]
    pub manager_repo: Option<String>,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The files to check; a directory means every `*.yml`/`*.yaml` file below it.
    #[arg(default_value = "infra/variables.yml", num_args = 1..)]
    pub files: Vec<PathBuf>,
    /// Apply this registered customer's tier and enabled environments.
    #[arg(long, value_name = "OWNER/REPO")]
    pub customer: Option<String>,
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The schema v1 file to rewrite.
    #[arg(default_value = "infra/variables.yml")]
    pub file: PathBuf,
    /// Replace the file with its v2 form (atomically) instead of printing it.
    #[arg(long)]
    pub write: bool,
    /// The catalog type of the one component (default: the type whose module is
    /// `terraform.module`, the module v1 files render).
    #[arg(long = "type", value_name = "TYPE")]
    pub type_name: Option<String>,
    /// The customer the file belongs to, `owner/repo`: its tier applies, and it is the
    /// value `{{ customer }}` expands to (required when the file uses it).
    #[arg(long, value_name = "OWNER/REPO")]
    pub customer: Option<String>,
}

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Limit regions, instance types and instance counts to this registered customer's tier
    /// and the environments enabled for it (default: the default tier, every environment).
    #[arg(long, value_name = "OWNER/REPO")]
    pub customer: Option<String>,
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Where to write the working directory (default: the one plan uses).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    #[command(flatten)]
    pub owner: OwnerArgs,
    /// Only runs for this environment.
    #[arg(long, value_name = "ENV")]
    pub env: Option<String>,
    /// At most this many runs (the newest).
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
}

/// Whose runs: a customer repository or a provider-managed tenant.
#[derive(Debug, Args)]
pub struct OwnerArgs {
    /// The customer, `owner/repo`.
    #[arg(long, value_name = "OWNER/REPO", required_unless_present = "tenant", conflicts_with = "tenant")]
    pub customer: Option<String>,
    /// A provider-managed tenant (`tenants/NAME.yml`) instead of a customer.
    #[arg(long, value_name = "NAME")]
    pub tenant: Option<String>,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The customer, `owner/repo`.
    #[arg(long, value_name = "OWNER/REPO", required_unless_present_any = ["tenant", "request"], conflicts_with_all = ["tenant", "request"])]
    pub customer: Option<String>,
    /// A provider-managed tenant (`tenants/NAME.yml`) instead of a customer.
    #[arg(long, value_name = "NAME", conflicts_with = "request")]
    pub tenant: Option<String>,
    /// A provisioning request (`tenants request --request-id ID`): its tenant's status.
    #[arg(long, value_name = "ID")]
    pub request: Option<String>,
    /// Only this environment (default: every configured one with a change on record).
    #[arg(long, value_name = "ENV")]
    pub env: Option<String>,
    /// With `--request`: the manager checkout whose history tells where the request's
    /// commit went (fetched with its branches).
    #[command(flatten)]
    pub repo: ManagerRepoArgs,
}

#[derive(Debug, Args)]
pub struct LocksListArgs {
    #[command(flatten)]
    pub github: GithubArgs,
}

#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// List the versions the store keeps of a target's state, newest first, each with its
    /// serial, lineage and the run that wrote it.
    Versions(StateVersionsArgs),
    /// Write an earlier version of a target's state back as its newest version (under the
    /// state lock, same lineage, serial above the current one), record a `rollback` run,
    /// then plan the commit last applied against it; nothing is applied.
    Rollback(RollbackArgs),
}

#[derive(Debug, Args)]
pub struct StateVersionsArgs {
    #[command(flatten)]
    pub owner: OwnerArgs,
    /// The environment, e.g. `staging`.
    #[arg(long, value_name = "ENV")]
    pub env: String,
    /// At most this many versions (the newest; default 20, at most 1000).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub limit: Option<u16>,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    #[command(flatten)]
    pub target: AppliedTargetArgs,
    /// The environment, e.g. `staging`.
    #[arg(long, value_name = "ENV")]
    pub env: String,
    /// Which version: `previous` (the state as the run before the last one left it), a
    /// run id (`history --json`'s `run_id`: the version that run wrote), or a version id
    /// (`state versions`).
    #[arg(long, value_name = "RUN|VERSION|previous")]
    pub to: String,
}

#[derive(Debug, Subcommand)]
pub enum FleetCommand {
    /// Join the `--json` reports of `plan --all`, `drift --all` or `reap` run with
    /// `--shard K/N` into the report of one run: the table (and job summary), the counts,
    /// the exit status, and with `--open-issues` the drift issues, written once.
    Merge(FleetMergeArgs),
}

#[derive(Debug, Args)]
pub struct FleetMergeArgs {
    #[command(flatten)]
    pub github: GithubArgs,
    /// The shards' reports, every shard of the run once (a directory: its `*.json` files).
    #[arg(required = true, value_name = "REPORT")]
    pub reports: Vec<PathBuf>,
    /// Drift: open, edit and close the drift issues from the merged report.
    #[arg(long)]
    pub open_issues: bool,
    /// Drift: exit 2 when anything drifted, 0 when in sync, 1 on an error (as `drift
    /// --exit-code`).
    #[arg(long)]
    pub exit_code: bool,
}

#[derive(Debug, Subcommand)]
pub enum LocksCommand {
    /// Show the Terraform state locks held: who, since when, which target, the run that
    /// holds it and whether that run is alive (GitHub is asked with a credential).
    List(LocksListArgs),
    /// Release a customer environment's stale lock (one older than `--older-than`, or any with `--force`).
    Release(ReleaseArgs),
}

#[derive(Debug, Args)]
pub struct ReleaseArgs {
    #[command(flatten)]
    pub owner: OwnerArgs,
    /// The environment, e.g. `staging`.
    #[arg(long, value_name = "ENV")]
    pub env: String,
    /// Refuse a lock younger than this (`15m`, `1h 30m`, `2 days`).
    #[arg(long, value_name = "AGE", default_value = "15m", value_parser = crate::duration::parse)]
    pub older_than: std::time::Duration,
    /// Release the lock whatever its age (only when the run holding it is gone).
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Subcommand)]
pub enum TenantsCommand {
    /// Print the (tenant, environment, action) matrix of the tenant files changed from
    /// `--base` to `--head`: added → create, modified → update, deleted → destroy; a
    /// rename is refused.
    Changed(TenantsChangedArgs),
    /// Validate, render and plan a tenant environment from `tenants/<name>.yml` at a
    /// commit; store the plan for `tenants apply`.
    Plan(TenantArgs),
    /// Apply exactly the stored plan of a tenant environment (checksum verified) or refuse.
    Apply(TenantApplyArgs),
    /// Plan to destroy everything in a tenant environment, from the file as last applied
    /// (refused while it has a protected component without `allow_destroy: true`); store
    /// and show the plan. `apply --tenant NAME --env ENV --last-applied` applies it.
    Destroy(TenantDestroyArgs),
    /// Provisioning request: check a request against the catalog and the registry, write
    /// `tenants/NAME.yml` and commit it on `tenant-request/ID` (or on the checked-out
    /// branch where `tenants.auto_approve` allows the type). The same request twice
    /// changes nothing; a refused one writes nothing.
    Request(TenantRequestArgs),
    /// Delete `tenants/NAME.yml` the same way, on `tenant-request/ID` for review: merged,
    /// `tenants changed` turns it into a destroy.
    Remove(TenantRemoveArgs),
}

#[derive(Debug, Args)]
/// Every value may come from the environment instead (`INFRA_MANAGER_REQUEST_*`), so a
/// workflow hands a dispatch's inputs over without putting them on a command line.
pub struct TenantRequestArgs {
    #[command(flatten)]
    pub repo: ManagerRepoArgs,
    /// The request's id, unique per request: `[A-Za-z0-9._-]`, at most 64.
    #[arg(long, value_name = "ID", env = "INFRA_MANAGER_REQUEST_ID")]
    pub request_id: String,
    /// The tenant: its file is `tenants/<NAME>.yml` (a DNS label).
    #[arg(long, value_name = "NAME", env = "INFRA_MANAGER_REQUEST_TENANT")]
    pub tenant: String,
    /// The catalog component type, e.g. `connector`.
    #[arg(long = "type", value_name = "TYPE", env = "INFRA_MANAGER_REQUEST_TYPE")]
    pub type_name: String,
    /// The component's inputs, a JSON object.
    #[arg(long, value_name = "JSON", default_value = "{}", env = "INFRA_MANAGER_REQUEST_INPUTS")]
    pub inputs: String,
    /// The tier the sender expects; refused unless it is `tenants.tier`.
    #[arg(long, value_name = "TIER", env = "INFRA_MANAGER_REQUEST_TIER")]
    pub tier: Option<String>,
    /// When the tenant expires (`reap` destroys it then): a date such as `2027-03-31` (the
    /// start of that day in UTC) or a time with its offset such as `2027-03-31T18:00:00Z`;
    /// in the future.
    #[arg(long, value_name = "DATE", env = "INFRA_MANAGER_REQUEST_EXPIRES_AT")]
    pub expires_at: Option<String>,
    /// Who asks (a GitHub login); required when `tenants.requesters` is set.
    #[arg(long, value_name = "LOGIN", env = "INFRA_MANAGER_REQUEST_REQUESTER")]
    pub requester: Option<String>,
}

#[derive(Debug, Args)]
pub struct TenantRemoveArgs {
    #[command(flatten)]
    pub repo: ManagerRepoArgs,
    /// The request's id, unique per request.
    #[arg(long, value_name = "ID", env = "INFRA_MANAGER_REQUEST_ID")]
    pub request_id: String,
    /// The tenant whose file `tenants/<NAME>.yml` to delete.
    #[arg(long, value_name = "NAME", env = "INFRA_MANAGER_REQUEST_TENANT")]
    pub tenant: String,
    /// Who asks (a GitHub login); required when `tenants.requesters` is set.
    #[arg(long, value_name = "LOGIN", env = "INFRA_MANAGER_REQUEST_REQUESTER")]
    pub requester: Option<String>,
}

/// The manager repository checkout whose `tenants/` and Git history are read.
#[derive(Debug, Clone, Args)]
pub struct ManagerRepoArgs {
    /// The manager repository checkout (a Git work tree or clone).
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub repo: PathBuf,
}

#[derive(Debug, Args)]
pub struct TenantsChangedArgs {
    #[command(flatten)]
    pub repo: ManagerRepoArgs,
    /// The commit before the change (a pull request's base, a push's `before`).
    #[arg(long, value_name = "SHA", required_unless_present = "pending", conflicts_with = "pending")]
    pub base: Option<String>,
    /// The commit after the change.
    #[arg(long, value_name = "SHA", default_value = "HEAD")]
    pub head: String,
    /// Instead of `--base`: every job that brings the tenants to their files at `--head`,
    /// from the versions last applied (what an apply run does, so a dropped run's change is
    /// caught up by the next).
    #[arg(long)]
    pub pending: bool,
}

#[derive(Debug, Args)]
pub struct TenantArgs {
    #[command(flatten)]
    pub github: GithubArgs,
    #[command(flatten)]
    pub repo: ManagerRepoArgs,
    /// The tenant: its file is `tenants/<NAME>.yml`.
    #[arg(long, value_name = "NAME")]
    pub tenant: String,
    /// The environment, e.g. `staging`.
    #[arg(long, value_name = "ENV")]
    pub env: String,
    /// The manager commit whose file to use (default: the checkout's `HEAD`).
    #[arg(long, value_name = "SHA")]
    pub sha: Option<String>,
    /// The manager repository's pull request this plan is for: in GitHub Actions, with a
    /// token, its sticky comment (one per tenant and environment) shows the plan.
    #[arg(long, value_name = "N")]
    pub pull_request: Option<u64>,
}

#[derive(Debug, Args)]
pub struct TenantApplyArgs {
    #[command(flatten)]
    pub target: TenantArgs,
    /// Apply the plan made at the commit last applied to the environment: the destroy
    /// plan `tenants destroy` stored (its file may be gone from `HEAD`).
    #[arg(long, conflicts_with = "sha")]
    pub last_applied: bool,
    /// Run every check and say what would be applied; change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct TenantDestroyArgs {
    #[command(flatten)]
    pub github: GithubArgs,
    #[command(flatten)]
    pub repo: ManagerRepoArgs,
    /// The tenant: its file is (or was) `tenants/<NAME>.yml`.
    #[arg(long, value_name = "NAME")]
    pub tenant: String,
    /// The environment to destroy.
    #[arg(long, value_name = "ENV")]
    pub env: String,
}

/// Which verb runs: the `command` field of every `--json` result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Verb {
    #[serde(rename = "plan")]
    Plan,
    #[serde(rename = "apply")]
    Apply,
    #[serde(rename = "validate")]
    Validate,
    #[serde(rename = "render")]
    Render,
    #[serde(rename = "schema")]
    Schema,
    #[serde(rename = "migrate")]
    Migrate,
    #[serde(rename = "catalog")]
    Catalog,
    #[serde(rename = "targets")]
    Targets,
    #[serde(rename = "dispatch")]
    Dispatch,
    #[serde(rename = "drift")]
    Drift,
    #[serde(rename = "destroy")]
    Destroy,
    #[serde(rename = "reap")]
    Reap,
    #[serde(rename = "bootstrap")]
    Bootstrap,
    #[serde(rename = "doctor")]
    Doctor,
    #[serde(rename = "history")]
    History,
    #[serde(rename = "audit")]
    Audit,
    #[serde(rename = "status")]
    Status,
    #[serde(rename = "fleet merge")]
    FleetMerge,
    #[serde(rename = "locks list")]
    LocksList,
    #[serde(rename = "locks release")]
    LocksRelease,
    #[serde(rename = "state versions")]
    StateVersions,
    #[serde(rename = "state rollback")]
    StateRollback,
    #[serde(rename = "tenants changed")]
    TenantsChanged,
    #[serde(rename = "tenants plan")]
    TenantsPlan,
    #[serde(rename = "tenants apply")]
    TenantsApply,
    #[serde(rename = "tenants destroy")]
    TenantsDestroy,
    #[serde(rename = "tenants request")]
    TenantsRequest,
    #[serde(rename = "tenants remove")]
    TenantsRemove,
    #[serde(rename = "policy test")]
    PolicyTest,
    #[serde(rename = "policy coverage")]
    PolicyCoverage,
    #[serde(rename = "cost")]
    Cost,
    #[serde(rename = "overview")]
    Overview,
    #[serde(rename = "report")]
    Report,
    #[serde(rename = "requests list")]
    RequestsList,
    #[serde(rename = "plans list")]
    PlansList,
}

impl Command {
    pub fn verb(&self) -> Verb {
        match self {
            Command::Plan(_) => Verb::Plan,
            Command::Apply(_) => Verb::Apply,
            Command::Validate(_) => Verb::Validate,
            Command::Render(_) => Verb::Render,
            Command::Schema(_) => Verb::Schema,
            Command::Migrate(_) => Verb::Migrate,
            Command::Catalog(_) => Verb::Catalog,
            Command::Targets(_) => Verb::Targets,
            Command::Dispatch(_) => Verb::Dispatch,
            Command::Drift(_) => Verb::Drift,
            Command::Destroy(_) => Verb::Destroy,
            Command::Reap(_) => Verb::Reap,
            Command::Bootstrap => Verb::Bootstrap,
            Command::Doctor(_) => Verb::Doctor,
            Command::History(_) => Verb::History,
            Command::Audit(_) => Verb::Audit,
            Command::Status(_) => Verb::Status,
            Command::Fleet(FleetCommand::Merge(_)) => Verb::FleetMerge,
            Command::Locks(LocksCommand::List(_)) => Verb::LocksList,
            Command::Locks(LocksCommand::Release(_)) => Verb::LocksRelease,
            Command::State(StateCommand::Versions(_)) => Verb::StateVersions,
            Command::State(StateCommand::Rollback(_)) => Verb::StateRollback,
            Command::Tenants(TenantsCommand::Changed(_)) => Verb::TenantsChanged,
            Command::Tenants(TenantsCommand::Plan(_)) => Verb::TenantsPlan,
            Command::Tenants(TenantsCommand::Apply(_)) => Verb::TenantsApply,
            Command::Tenants(TenantsCommand::Destroy(_)) => Verb::TenantsDestroy,
            Command::Tenants(TenantsCommand::Request(_)) => Verb::TenantsRequest,
            Command::Tenants(TenantsCommand::Remove(_)) => Verb::TenantsRemove,
            Command::Policy(PolicyCommand::Test) => Verb::PolicyTest,
            Command::Policy(PolicyCommand::Coverage(_)) => Verb::PolicyCoverage,
            Command::Cost(_) => Verb::Cost,
            Command::Overview(_) => Verb::Overview,
            Command::Report(_) => Verb::Report,
            Command::Requests(RequestsCommand::List(_)) => Verb::RequestsList,
            Command::Plans(PlansCommand::List(_)) => Verb::PlansList,
        }
    }
}
