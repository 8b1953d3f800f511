//! Turns parsed arguments into settings and seams, runs a command, prints its result.

use std::path::{Path, PathBuf};

mod github;

use crate::cli::{
    Cli, Command, DriftArgs, HistoryArgs, LocksCommand, ReleaseArgs, RenderArgs, TargetArgs, ValidateArgs,
};
use crate::commands::{self, Context, Outcome, Report, Request, Stop};
use crate::config::{BackendKind, Config};
use crate::identity::{CustomerId, EnvName, Sha, Target};
use crate::local_host::{LocalHost, content_sha};
use crate::output;
use crate::store::Store;
use crate::store::local::LocalStore;
use crate::store::s3::S3Store;
use crate::terraform::Terraform;
use crate::variables::{self, Rules, Variables};

/// Runs the command and returns the process exit code.
pub async fn run(cli: Cli) -> u8 {
    let json = cli.json;
    let report = match &cli.command {
        Command::Schema => {
            let config = match load_config(&cli.config) {
                Ok(c) => c,
                Err(report) => return finish(*report, json),
            };
            let schema = variables::schema::json_schema(&config.environment_names());
            output::data(&serde_json::to_string_pretty(&schema).unwrap_or_default());
            return 0;
        }
        Command::Validate(args) => validate(&cli.config, args),
        Command::Plan(args) | Command::Apply(args) => {
            let command = if matches!(cli.command, Command::Plan(_)) { "plan" } else { "apply" };
            match &args.source_dir {
                Some(dir) => target_command(command, &cli.config, args, dir).await,
                None => github::target_command(command, &cli.config, args, cli.github_token.as_deref()).await,
            }
        }
        Command::Render(args) => render(&cli.config, args, json).await,
        Command::Targets => github::targets(&cli.config, cli.github_token.as_deref()).await,
        Command::Dispatch(args) => github::dispatch(args, cli.github_token.as_deref()).await,
        Command::Drift(args) => return drift(&cli.config, args, json, cli.github_token.as_deref()).await,
        Command::Bootstrap => return bootstrap(&cli.config, json).await,
        Command::History(args) => return history(&cli.config, args, json).await,
        Command::Locks(LocksCommand::List) => return locks_list(&cli.config, json).await,
        Command::Locks(LocksCommand::Release(args)) => return locks_release(&cli.config, args, json).await,
    };
    finish(report, json)
}

/// Prints a report (JSON, or text: data on stdout, errors on stderr) and gives the exit code.
fn finish(report: Report, json: bool) -> u8 {
    if json {
        output::data(&serde_json::to_string_pretty(&report).unwrap_or_default());
    } else {
        match (report.status, report.command) {
            (Outcome::Ok, "plan") => {
                if let Some(comment) = &report.comment {
                    output::data(comment);
                }
            }
            (Outcome::Ok, "apply") => output::data(&format!(
                "Applied plan sha256:{} to {} ({}): {} added, {} changed, {} destroyed",
                report.plan_sha256.as_deref().map_or("", |s| &s[..12.min(s.len())]),
                report.customer.as_deref().unwrap_or_default(),
                report.environment.as_deref().unwrap_or_default(),
                report.add.unwrap_or(0),
                report.change.unwrap_or(0),
                report.destroy.unwrap_or(0),
            )),
            (Outcome::Ok, _) => {}
            _ => output::log(report.error_text().trim_end()),
        }
    }
    report.exit_code
}

/// Writes step outputs when running in GitHub Actions; a failure to write is logged.
fn finish_outputs(path: Option<&Path>, outputs: &[(&str, String)]) {
    if let Some(path) = path
        && let Err(e) = crate::actions::set_outputs(path, outputs)
    {
        output::log(&format!("warning: can't write step outputs to `{}`: {e}", path.display()));
    }
}

fn load_config(path: &Path) -> Result<Config, Box<Report>> {
    Config::load(path, false).map_err(|e| {
        let report = Report::bare("config");
        Box::new(match e {
            crate::config::ConfigError::Invalid(d) => report.stop(Stop::Invalid(d.0)),
            other => report.stop(Stop::Failed(other.to_string())),
        })
    })
}

fn usage(command: &'static str, message: String, hint: &str) -> Report {
    Report::bare(command).stop(Stop::Refused { message, hint: Some(hint.to_owned()), exit_code: 2 })
}

/// The customer of a local source directory: `--customer`, else `local/<dir name>`.
fn local_customer(command: &'static str, args: &TargetArgs, source_dir: &Path) -> Result<CustomerId, Box<Report>> {
    let name = match &args.customer {
        Some(c) => c.clone(),
        None => {
            let dir = source_dir.canonicalize().unwrap_or_else(|_| source_dir.to_path_buf());
            let base = dir.file_name().map(|n| n.to_string_lossy().to_lowercase()).unwrap_or_default();
            format!("local/{base}")
        }
    };
    CustomerId::parse(&name).map_err(|e| {
        Box::new(usage(command, e.to_string(), "pass `--customer owner/repo` with lowercase `[a-z0-9._-]` names"))
    })
}

fn local_target(command: &'static str, args: &TargetArgs, source_dir: &Path) -> Result<(Target, Sha), Box<Report>> {
    if !source_dir.is_dir() {
        return Err(Box::new(usage(
            command,
            format!("source directory `{}` does not exist", source_dir.display()),
            "pass the customer repository checkout as `--source-dir`",
        )));
    }
    let customer = local_customer(command, args, source_dir)?;
    let env = EnvName::parse(&args.env)
        .map_err(|e| Box::new(usage(command, e.to_string(), "pass an environment such as `--env staging`")))?;
    let sha = match &args.sha {
        Some(s) => {
            Sha::parse(s).map_err(|e| Box::new(usage(command, e.to_string(), "pass a full 40-character commit SHA")))?
        }
        None => {
            let text = std::fs::read_to_string(source_dir.join(variables::PATH)).unwrap_or_default();
            content_sha(&text)
        }
    };
    Ok((Target { customer, env }, sha))
}

/// The store the configuration names.
async fn open_store(config: &Config) -> Result<Box<dyn Store>, Stop> {
    match s3_store(config).await? {
        Some(store) => Ok(Box::new(store)),
        None => LocalStore::open(&config.state.local_dir)
            .map(|s| Box::new(s) as Box<dyn Store>)
            .map_err(|e| Stop::Failed(e.to_string())),
    }
}

/// The S3 store for `state.backend: s3` (standard AWS credential chain), `None` for local.
/// Unusable settings are refused (exit 2) before any call is made.
async fn s3_store(config: &Config) -> Result<Option<S3Store>, Stop> {
    if config.state.backend != BackendKind::S3 {
        return Ok(None);
    }
    S3Store::new(config.state.s3.clone()).await.map(Some).map_err(|e| {
        let text = e.to_string();
        let (message, hint) = match text.split_once("\nhint: ") {
            Some((message, hint)) => (message.to_owned(), Some(hint.to_owned())),
            None => (text, None),
        };
        Stop::Refused { message, hint, exit_code: 2 }
    })
}

/// The root for working directories: `<local_dir>/work`, or a per-run directory under it for
/// the S3 backend (removed when the guard drops).
/// Where working directories go: under `base` (the runner's temp dir) or the local dir; with
/// the S3 backend in a per-run scratch directory, removed when the returned guard drops.
fn work_root(config: &Config, base: Option<&Path>) -> Result<(PathBuf, Option<commands::workdir::ScratchRoot>), Stop> {
    let shared = base.map_or_else(|| config.state.local_dir.join("work"), Path::to_path_buf);
    if config.state.backend == BackendKind::S3 {
        let scratch = commands::workdir::ScratchRoot::create(&shared)?;
        return Ok((scratch.path().to_path_buf(), Some(scratch)));
    }
    Ok((shared, None))
}

/// What a command that runs Terraform needs besides a code host.
struct Seams {
    store: Box<dyn Store>,
    terraform: Terraform,
    work_root: PathBuf,
    /// Removes a per-run scratch directory when dropped.
    _scratch: Option<commands::workdir::ScratchRoot>,
}

impl Seams {
    /// The command context over these seams and `host`.
    fn context<'a>(
        &'a self,
        config: &'a Config,
        host: &'a dyn crate::codehost::CodeHost,
        run_url: Option<String>,
        manager_commit: &str,
    ) -> Context<'a> {
        Context {
            config,
            host,
            store: self.store.as_ref(),
            terraform: &self.terraform,
            work_root: self.work_root.clone(),
            run_url,
            manager_commit: manager_commit.to_owned(),
        }
    }
}

/// Opens the store, finds Terraform and picks where working directories go (under `base`,
/// e.g. the runner's temp dir, or the local dir).
async fn seams(config: &Config, base: Option<&Path>) -> Result<Seams, Stop> {
    let store = open_store(config).await?;
    let terraform = locate_terraform(config)?;
    let (work_root, scratch) = work_root(config, base)?;
    Ok(Seams { store, terraform, work_root, _scratch: scratch })
}

fn locate_terraform(config: &Config) -> Result<Terraform, Stop> {
    Terraform::locate(&config.terraform.binary)
        .map(|t| t.with_plugin_cache(&config.terraform.plugin_cache_dir))
        .map_err(|e| Stop::Failed(e.to_string()))
}

async fn target_command(command: &'static str, config_path: &Path, args: &TargetArgs, source_dir: &Path) -> Report {
    let config = match load_config(config_path) {
        Ok(c) => c,
        Err(report) => return *report,
    };
    let (target, sha) = match local_target(command, args, source_dir) {
        Ok(t) => t,
        Err(report) => return *report,
    };
    let req = Request { target, sha, pull_request: None };
    let seams = match seams(&config, None).await {
        Ok(s) => s,
        Err(stop) => return Report::new(command, &req).stop(stop),
    };
    let host = LocalHost::new(source_dir);
    let ctx = seams.context(&config, &host, None, "local");
    match command {
        "apply" => commands::apply::run(&ctx, &req).await,
        _ => commands::plan::run(&ctx, &req).await,
    }
}

fn validate(config_path: &Path, args: &ValidateArgs) -> Report {
    let config = match load_config(config_path) {
        Ok(c) => c,
        Err(report) => return *report,
    };
    let customer = match &args.customer {
        Some(c) => match CustomerId::parse(c) {
            Ok(id) => Some(id),
            Err(e) => return usage("validate", e.to_string(), "pass `--customer owner/repo`"),
        },
        None => None,
    };
    if let Some(id) = &customer
        && config.has_registry()
        && config.customer(id).is_none()
    {
        return usage(
            "validate",
            format!("repository `{id}` is not a registered customer"),
            "check the name, or validate without `--customer`",
        );
    }
    let file = args.file.display().to_string();
    let text = match std::fs::read_to_string(&args.file) {
        Ok(t) => t,
        Err(e) => return usage("validate", format!("can't read `{file}`: {e}"), "pass the path of a variables.yml"),
    };
    let id = customer
        .clone()
        .unwrap_or_else(|| CustomerId::parse("local/validate").unwrap_or_else(|_| unreachable!("valid literal")));
    let rules = Rules::for_customer(&config, customer.as_ref());
    let mut report = Report::bare("validate");
    report.customer = customer.map(|c| c.to_string());
    match Variables::parse(&file, &text, &id, &rules) {
        Ok(vars) => {
            let envs: Vec<&str> = vars.environments().map(EnvName::as_str).collect();
            output::log(&format!("{file} is valid (environments: {})", envs.join(", ")));
            report
        }
        Err(d) => report.stop(Stop::Invalid(d.0)),
    }
}

async fn render(config_path: &Path, args: &RenderArgs, json: bool) -> Report {
    let config = match load_config(config_path) {
        Ok(c) => c,
        Err(report) => return *report,
    };
    let Some(source_dir) = args.target.source_dir.as_deref() else {
        return usage(
            "render",
            "`render` needs `--source-dir`".into(),
            "pass the customer repository checkout as `--source-dir`",
        );
    };
    let (target, sha) = match local_target("render", &args.target, source_dir) {
        Ok(t) => t,
        Err(report) => return *report,
    };
    let req = Request { target, sha, pull_request: None };
    let report = Report::new("render", &req);
    if let Err(stop) = commands::admit(&config, &req.target) {
        return report.stop(stop);
    }
    let store = match open_store(&config).await {
        Ok(s) => s,
        Err(stop) => return report.stop(stop),
    };
    let text = match std::fs::read_to_string(source_dir.join(variables::PATH)) {
        Ok(t) => t,
        Err(e) => {
            return report.stop(Stop::Refused {
                message: format!("can't read `{}`: {e}", variables::PATH),
                hint: None,
                exit_code: 2,
            });
        }
    };
    let rules = Rules::for_customer(&config, Some(&req.target.customer));
    let values = match Variables::parse(variables::PATH, &text, &req.target.customer, &rules) {
        Ok(vars) => match vars.resolve(&req.target.env) {
            Ok(v) => v,
            Err(e) => return report.stop(Stop::Refused { message: e.to_string(), hint: None, exit_code: 2 }),
        },
        Err(d) => return report.stop(Stop::Invalid(d.0)),
    };
    let dir = args.out.clone().unwrap_or_else(|| {
        config
            .state
            .local_dir
            .join("work")
            .join(req.target.customer.owner())
            .join(req.target.customer.repo())
            .join(req.target.env.as_str())
    });
    let rendered = crate::render::render(&values, &config.module_dir(), &store.backend(&req.target));
    match rendered.and_then(|r| r.write(&dir)) {
        Ok(()) => {
            if !json {
                output::data(&dir.display().to_string());
            }
            Report { work_dir: Some(dir.display().to_string()), ..report }
        }
        Err(e) => report.stop(Stop::Failed(e.to_string())),
    }
}

/// `drift`: local mode checks one customer directory; GitHub mode every registered customer.
async fn drift(config_path: &Path, args: &DriftArgs, json: bool, token: Option<&str>) -> u8 {
    let config = match load_config(config_path) {
        Ok(c) => c,
        Err(report) => return finish(*report, json),
    };
    let env_filter = match args.env.as_deref().map(EnvName::parse).transpose() {
        Ok(e) => e,
        Err(e) => return finish(usage("drift", e.to_string(), "pass an environment such as `--env staging`"), json),
    };
    let runner_work = std::env::var_os("RUNNER_TEMP").map(|t| Path::new(&t).join("infra-manager"));
    let seams = match seams(&config, runner_work.as_deref()).await {
        Ok(s) => s,
        Err(stop) => return finish(Report::bare("drift").stop(stop), json),
    };
    let (host, targets): (Box<dyn crate::codehost::CodeHost>, Vec<Target>) = match &args.source_dir {
        Some(dir) => {
            let target_args = TargetArgs {
                source_dir: Some(dir.clone()),
                customer: args.customer.clone(),
                env: String::new(),
                sha: None,
            };
            let customer = match local_customer("drift", &target_args, dir) {
                Ok(c) => c,
                Err(report) => return finish(*report, json),
            };
            let envs = config.environments.iter().map(|(name, _)| name.clone());
            let targets = envs
                .filter(|e| env_filter.as_ref().is_none_or(|f| f == e))
                .map(|env| Target { customer: customer.clone(), env })
                .collect();
            (Box::new(LocalHost::new(dir)), targets)
        }
        None => match github::fleet(&config, args.customer.as_deref(), env_filter.as_ref(), token) {
            Ok(found) => found,
            Err(report) => return finish(*report, json),
        },
    };
    let ctx = seams.context(&config, host.as_ref(), None, "drift");
    let mut results = Vec::new();
    for target in &targets {
        output::log(&format!("drift: checking {target}"));
        results.push(commands::drift::check(&ctx, target).await);
    }
    let drifted = results.iter().filter(|r| r.result == "drifted").count();
    let errors = results.iter().filter(|r| r.result == "error").count();
    let table = commands::drift::summary_table(&results);
    if json {
        output::data(
            &serde_json::to_string_pretty(
                &serde_json::json!({"command": "drift", "drifted": drifted, "errors": errors, "results": results}),
            )
            .unwrap_or_default(),
        );
    } else {
        output::data(&table);
    }
    github::drift_to_runner(&table, drifted, errors);
    u8::from(errors > 0)
}

/// Prints a listing command's result (its text, or its JSON object) or its stop; the exit code.
fn show<T: serde::Serialize + std::fmt::Display>(command: &'static str, result: Result<T, Stop>, json: bool) -> u8 {
    match result {
        Ok(value) if json => {
            output::data(&serde_json::to_string_pretty(&value).unwrap_or_default());
            0
        }
        Ok(value) => {
            let text = value.to_string();
            if !text.is_empty() {
                output::data(&text);
            }
            0
        }
        Err(stop) => finish(Report::bare(command).stop(stop), json),
    }
}

/// Loads the configuration and opens the S3 store (`None` for the local backend).
async fn admin_setup(command: &'static str, config_path: &Path) -> Result<(Config, Option<S3Store>), Report> {
    let config = load_config(config_path).map_err(|r| Report { command, ..*r })?;
    let store = s3_store(&config).await.map_err(|stop| Report::bare(command).stop(stop))?;
    Ok((config, store))
}

async fn bootstrap(config_path: &Path, json: bool) -> u8 {
    let (config, store) = match admin_setup("bootstrap", config_path).await {
        Ok(setup) => setup,
        Err(report) => return finish(report, json),
    };
    show("bootstrap", commands::bootstrap::run(store.as_ref(), config.state.local_dir.clone()).await, json)
}

async fn history(config_path: &Path, args: &HistoryArgs, json: bool) -> u8 {
    // Names are checked before the store is opened, so a crafted one never reaches a key.
    let customer = match CustomerId::parse(&args.customer) {
        Ok(c) => c,
        Err(e) => {
            return finish(
                usage("history", e.to_string(), "pass `--customer owner/repo` with lowercase `[a-z0-9._-]` names"),
                json,
            );
        }
    };
    let env = match args.env.as_deref().map(EnvName::parse).transpose() {
        Ok(env) => env,
        Err(e) => return finish(usage("history", e.to_string(), "pass an environment such as `--env staging`"), json),
    };
    let config = match load_config(config_path) {
        Ok(c) => c,
        Err(report) => return finish(Report { command: "history", ..*report }, json),
    };
    let store = match open_store(&config).await {
        Ok(s) => s,
        Err(stop) => return finish(Report::bare("history").stop(stop), json),
    };
    show("history", commands::history::run(store.as_ref(), &customer, env.as_ref(), args.limit).await, json)
}

async fn locks_list(config_path: &Path, json: bool) -> u8 {
    let (_, store) = match admin_setup("locks list", config_path).await {
        Ok(setup) => setup,
        Err(report) => return finish(report, json),
    };
    show("locks list", commands::locks::list(store.as_ref()).await, json)
}

async fn locks_release(config_path: &Path, args: &ReleaseArgs, json: bool) -> u8 {
    let target = match (CustomerId::parse(&args.customer), EnvName::parse(&args.env)) {
        (Ok(customer), Ok(env)) => Target { customer, env },
        (Err(e), _) => {
            return finish(
                usage(
                    "locks release",
                    e.to_string(),
                    "pass `--customer owner/repo` with lowercase `[a-z0-9._-]` names",
                ),
                json,
            );
        }
        (_, Err(e)) => {
            return finish(usage("locks release", e.to_string(), "pass an environment such as `--env staging`"), json);
        }
    };
    let (_, store) = match admin_setup("locks release", config_path).await {
        Ok(setup) => setup,
        Err(report) => return finish(report, json),
    };
    show("locks release", commands::locks::release(store.as_ref(), &target, args.older_than, args.force).await, json)
}
