//! Turns parsed arguments into settings and seams, runs a command, prints its result.

use std::path::Path;

mod github;

use crate::cli::{Cli, Command, DriftArgs, RenderArgs, TargetArgs, ValidateArgs};
use crate::commands::{self, Context, Outcome, Report, Request, Stop};
use crate::config::{BackendKind, Config};
use crate::identity::{CustomerId, EnvName, Sha, Target};
use crate::local_host::{LocalHost, content_sha};
use crate::output;
use crate::store::Store;
use crate::store::local::LocalStore;
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
        Command::Render(args) => render(&cli.config, args).await,
        Command::Targets => github::targets(&cli.config, cli.github_token.as_deref()).await,
        Command::Dispatch(args) => github::dispatch(args, cli.github_token.as_deref()).await,
        Command::Drift(args) => return drift(&cli.config, args, json, cli.github_token.as_deref()).await,
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
        && let Err(e) = crate::actions::set_outputs(path, outputs) {
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
    CustomerId::parse(&name).map_err(|e| Box::new(usage(command, e.to_string(), "pass `--customer owner/repo` with lowercase `[a-z0-9._-]` names")))
}

fn local_target(command: &'static str, args: &TargetArgs, source_dir: &Path) -> Result<(Target, Sha), Box<Report>> {
    if !source_dir.is_dir() {
        return Err(Box::new(usage(command, format!("source directory `{}` does not exist", source_dir.display()), "pass the customer repository checkout as `--source-dir`")));
    }
    let customer = local_customer(command, args, source_dir)?;
    let env = EnvName::parse(&args.env).map_err(|e| Box::new(usage(command, e.to_string(), "pass an environment such as `--env staging`")))?;
    let sha = match &args.sha {
        Some(s) => Sha::parse(s).map_err(|e| Box::new(usage(command, e.to_string(), "pass a full 40-character commit SHA")))?,
        None => {
            let text = std::fs::read_to_string(source_dir.join(variables::PATH)).unwrap_or_default();
            content_sha(&text)
        }
    };
    Ok((Target { customer, env }, sha))
}

/// The store the configuration names.
fn open_store(config: &Config) -> Result<Box<dyn Store>, Stop> {
    match config.state.backend {
        BackendKind::Local => LocalStore::open(&config.state.local_dir).map(|s| Box::new(s) as Box<dyn Store>).map_err(|e| Stop::Failed(e.to_string())),
        BackendKind::S3 => Err(Stop::Refused {
            message: "the S3 backend is not available in this build".into(),
            hint: Some("set `state.backend: local` in infra-manager.yml".into()),
            exit_code: 2,
        }),
    }
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
    let store = match open_store(&config) {
        Ok(s) => s,
        Err(stop) => return Report::new(command, &req).stop(stop),
    };
    let terraform = match locate_terraform(&config) {
        Ok(t) => t,
        Err(stop) => return Report::new(command, &req).stop(stop),
    };
    let host = LocalHost::new(source_dir);
    let ctx = Context {
        config: &config,
        host: &host,
        store: store.as_ref(),
        terraform: &terraform,
        work_root: config.state.local_dir.join("work"),
        run_url: None,
        manager_commit: "local".into(),
    };
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
        && config.has_registry() && config.customer(id).is_none() {
            return usage("validate", format!("repository `{id}` is not a registered customer"), "check the name, or validate without `--customer`");
        }
    let file = args.file.display().to_string();
    let text = match std::fs::read_to_string(&args.file) {
        Ok(t) => t,
        Err(e) => return usage("validate", format!("can't read `{file}`: {e}"), "pass the path of a variables.yml"),
    };
    let id = customer.clone().unwrap_or_else(|| CustomerId::parse("local/validate").unwrap_or_else(|_| unreachable!("valid literal")));
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

async fn render(config_path: &Path, args: &RenderArgs) -> Report {
    let config = match load_config(config_path) {
        Ok(c) => c,
        Err(report) => return *report,
    };
    let Some(source_dir) = args.target.source_dir.as_deref() else {
        return usage("render", "`render` needs `--source-dir`".into(), "pass the customer repository checkout as `--source-dir`");
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
    let store = match open_store(&config) {
        Ok(s) => s,
        Err(stop) => return report.stop(stop),
    };
    let text = match std::fs::read_to_string(source_dir.join(variables::PATH)) {
        Ok(t) => t,
        Err(e) => return report.stop(Stop::Refused { message: format!("can't read `{}`: {e}", variables::PATH), hint: None, exit_code: 2 }),
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
        config.state.local_dir.join("work").join(req.target.customer.owner()).join(req.target.customer.repo()).join(req.target.env.as_str())
    });
    let rendered = crate::render::render(&values, &config.module_dir(), &store.backend(&req.target));
    match rendered.and_then(|r| r.write(&dir)) {
        Ok(()) => {
            output::data(&dir.display().to_string());
            report
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
    let store = match open_store(&config) {
        Ok(s) => s,
        Err(stop) => return finish(Report::bare("drift").stop(stop), json),
    };
    let terraform = match locate_terraform(&config) {
        Ok(t) => t,
        Err(stop) => return finish(Report::bare("drift").stop(stop), json),
    };
    let (host, targets): (Box<dyn crate::codehost::CodeHost>, Vec<Target>) = match &args.source_dir {
        Some(dir) => {
            let target_args = TargetArgs { source_dir: Some(dir.clone()), customer: args.customer.clone(), env: String::new(), sha: None };
            let customer = match local_customer("drift", &target_args, dir) {
                Ok(c) => c,
                Err(report) => return finish(*report, json),
            };
            let envs = config.environments.iter().map(|(name, _)| name.clone());
            let targets = envs.filter(|e| env_filter.as_ref().is_none_or(|f| f == e)).map(|env| Target { customer: customer.clone(), env }).collect();
            (Box::new(LocalHost::new(dir)), targets)
        }
        None => match github::fleet(&config, args.customer.as_deref(), env_filter.as_ref(), token) {
            Ok(found) => found,
            Err(report) => return finish(*report, json),
        },
    };
    let ctx = Context {
        config: &config,
        host: host.as_ref(),
        store: store.as_ref(),
        terraform: &terraform,
        work_root: std::env::var_os("RUNNER_TEMP").map_or_else(|| config.state.local_dir.join("work"), |t| Path::new(&t).join("infra-manager")),
        run_url: None,
        manager_commit: "drift".into(),
    };
    let mut results = Vec::new();
    for target in &targets {
        output::log(&format!("drift: checking {target}"));
        results.push(commands::drift::check(&ctx, target).await);
    }
    let drifted = results.iter().filter(|r| r.result == "drifted").count();
    let errors = results.iter().filter(|r| r.result == "error").count();
    let table = commands::drift::summary_table(&results);
    if json {
        output::data(&serde_json::to_string_pretty(&serde_json::json!({"command": "drift", "drifted": drifted, "errors": errors, "results": results})).unwrap_or_default());
    } else {
        output::data(&table);
    }
    github::drift_to_runner(&table, drifted, errors);
    u8::from(errors > 0)
}
