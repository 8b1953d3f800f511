//! Turns parsed arguments into settings and seams, runs a command, prints its result.

use std::path::{Path, PathBuf};

mod admin;
mod drift;
mod github;
mod local;

use crate::cli::{Cli, Command, LocksCommand};
use crate::commands::{self, Context, Outcome, Report, Stop};
use crate::config::{BackendKind, Config};
use crate::output;
use crate::store::Store;
use crate::store::local::LocalStore;
use crate::store::s3::S3Store;
use crate::terraform::Terraform;
use crate::variables;

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
        Command::Validate(args) => local::validate(&cli.config, args),
        Command::Plan(args) | Command::Apply(args) => {
            let command = if matches!(cli.command, Command::Plan(_)) { "plan" } else { "apply" };
            match &args.source_dir {
                Some(dir) => local::target_command(command, &cli.config, args, dir).await,
                None => github::target_command(command, &cli.config, args, cli.github_token.as_deref()).await,
            }
        }
        Command::Render(args) => local::render(&cli.config, args, json).await,
        Command::Targets => github::targets(&cli.config, cli.github_token.as_deref()).await,
        Command::Dispatch(args) => github::dispatch(args, cli.github_token.as_deref()).await,
        Command::Drift(args) => return drift::drift(&cli.config, args, json, cli.github_token.as_deref()).await,
        Command::Bootstrap => return admin::bootstrap(&cli.config, json).await,
        Command::History(args) => return admin::history(&cli.config, args, json).await,
        Command::Locks(LocksCommand::List) => return admin::locks_list(&cli.config, json).await,
        Command::Locks(LocksCommand::Release(args)) => return admin::locks_release(&cli.config, args, json).await,
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
                report.plan_sha256.as_deref().map_or("", |s| crate::report::prefix(s, 12)),
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
