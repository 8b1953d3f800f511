//! GitHub mode: commands driven by GitHub Actions events, reporting through the GitHub API
//! and the runner's interface (annotations, step outputs, job summary).

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::json;

use super::{finish_outputs, load_config, seams, usage};
use crate::actions::{self, CommandsOff};
use crate::cli::{DispatchArgs, TargetArgs};
use crate::codehost::CodeHost;
use crate::commands::{self, Outcome, Report, Request, Stop};
use crate::config::Config;
use crate::event::{self, Dispatch};
use crate::github::{GithubHost, GithubToken, RetryPolicy, api_url_from_env};
use crate::identity::{EnvName, Target};
use crate::output;
use crate::variables::{self, Rules, Variables};

/// What GitHub Actions tells a step through its environment.
struct Runner {
    event_path: Option<String>,
    event_name: Option<String>,
    run_url: Option<String>,
    manager_commit: String,
    output: Option<PathBuf>,
    summary: Option<PathBuf>,
    temp: Option<PathBuf>,
}

impl Runner {
    fn from_env() -> Self {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let run_url = match (var("GITHUB_SERVER_URL"), var("GITHUB_REPOSITORY"), var("GITHUB_RUN_ID")) {
            (Some(server), Some(repo), Some(id)) => {
                Some(format!("{}/{repo}/actions/runs/{id}", server.trim_end_matches('/')))
            }
            _ => None,
        };
        Self {
            event_path: var("GITHUB_EVENT_PATH"),
            event_name: var("GITHUB_EVENT_NAME"),
            run_url,
            manager_commit: var("GITHUB_SHA").unwrap_or_else(|| "unknown".into()),
            output: var("GITHUB_OUTPUT").map(PathBuf::from),
            summary: var("GITHUB_STEP_SUMMARY").map(PathBuf::from),
            temp: var("RUNNER_TEMP").map(PathBuf::from),
        }
    }

    /// The `repository_dispatch` this run was started by.
    fn dispatch(&self, command: &'static str) -> Result<Dispatch, Box<Report>> {
        let Some(path) = &self.event_path else {
            return Err(Box::new(usage(
                command,
                "no GITHUB_EVENT_PATH: not running in GitHub Actions".into(),
                "pass `--source-dir DIR` for a local run",
            )));
        };
        event::read(path).and_then(|e| event::parse_dispatch(&e)).map_err(|e| {
            Box::new(usage(
                command,
                e.to_string(),
                "the manager workflows run on `repository_dispatch` events sent by `infra-manager dispatch`",
            ))
        })
    }
}

/// Builds the GitHub client, masking the token in the log first.
fn github_host(command: &'static str, token: Option<&str>) -> Result<GithubHost, Box<Report>> {
    let Some(raw) = token.filter(|t| !t.is_empty()) else {
        return Err(Box::new(usage(command, "no GitHub token".into(), "set GITHUB_TOKEN or pass `--github-token`")));
    };
    actions::add_mask(&mut std::io::stderr(), raw);
    let token = GithubToken::new(raw).map_err(|e| Box::new(usage(command, e.to_string(), "check the token secret")))?;
    GithubHost::new(&api_url_from_env(), token, RetryPolicy::default())
        .map_err(|e| Box::new(Report::bare(command).stop(Stop::Failed(e.to_string()))))
}

/// `plan` / `apply` for the dispatch's customer and `--env`.
pub(super) async fn target_command(
    command: &'static str,
    config_path: &Path,
    args: &TargetArgs,
    token: Option<&str>,
) -> Report {
    let runner = Runner::from_env();
    let config = match load_config(config_path) {
        Ok(c) => c,
        Err(report) => return *report,
    };
    let dispatch = match runner.dispatch(command) {
        Ok(d) => d,
        Err(report) => return *report,
    };
    let env = match EnvName::parse(&args.env) {
        Ok(e) => e,
        Err(e) => return usage(command, e.to_string(), "pass an environment such as `--env staging`"),
    };
    let req = Request {
        target: Target { customer: dispatch.customer, env },
        sha: dispatch.sha,
        pull_request: dispatch.pull_request,
    };
    // Refuse an unregistered repository before touching GitHub or the store.
    if let Err(stop) = commands::admit(&config, &req.target) {
        return Report::new(command, &req).stop(stop);
    }
    let host = match github_host(command, token) {
        Ok(h) => h,
        Err(report) => return *report,
    };
    let runner_work = runner.temp.as_ref().map(|t| t.join("infra-manager"));
    let seams = match seams(&config, runner_work.as_deref()).await {
        Ok(s) => s,
        Err(stop) => return Report::new(command, &req).stop(stop),
    };
    let ctx = seams.context(&config, &host, runner.run_url.clone(), &runner.manager_commit);
    // Terraform's output carries customer values: no workflow command may hide in it.
    let mut log = std::io::stderr();
    let off = CommandsOff::begin(&mut log);
    let report = match command {
        "apply" => commands::apply::run(&ctx, &req).await,
        _ => commands::plan::run(&ctx, &req).await,
    };
    off.resume(&mut log);
    report_to_runner(&runner, &report);
    // The comment was posted and is in the job summary; printed to the log it would be
    // customer text outside the stop-commands block.
    Report { comment: None, ..report }
}

/// Annotations, step outputs and the job summary for a plan or apply.
fn report_to_runner(runner: &Runner, report: &Report) {
    let mut log = std::io::stderr();
    for e in &report.errors {
        match (&e.file, e.line, e.column) {
            (Some(file), Some(line), Some(col)) => actions::error_at(&mut log, file, line, col, &e.message),
            _ => actions::error(&mut log, &e.message),
        }
    }
    let _ = log.flush();
    let status = crate::report::name_of(&report.status);
    let num = |n: Option<u32>| n.map_or_else(String::new, |v| v.to_string());
    let outputs = [
        ("status", status),
        ("has_changes", report.has_changes.map_or_else(String::new, |b| b.to_string())),
        ("add", num(report.add)),
        ("change", num(report.change)),
        ("destroy", num(report.destroy)),
        ("plan_sha256", report.plan_sha256.clone().unwrap_or_default()),
    ];
    finish_outputs(runner.output.as_deref(), &outputs);
    if let Some(path) = &runner.summary {
        let section = summary_section(report);
        if let Err(e) = actions::append_summary(path, &section) {
            output::log(&format!("warning: can't write the job summary `{}`: {e}", path.display()));
        }
    }
}

fn summary_section(report: &Report) -> String {
    let title = format!(
        "## infra-manager {}: `{}` ({})\n\n",
        report.command,
        report.customer.as_deref().unwrap_or_default(),
        report.environment.as_deref().unwrap_or_default()
    );
    let body = match (&report.comment, report.status, report.command) {
        (Some(comment), _, "plan") => comment.clone(),
        (_, Outcome::Ok, _) => format!(
            "Applied plan `sha256:{}`: {} added, {} changed, {} destroyed.\n",
            report.plan_sha256.as_deref().map_or("", |s| crate::report::prefix(s, 12)),
            report.add.unwrap_or(0),
            report.change.unwrap_or(0),
            report.destroy.unwrap_or(0)
        ),
        _ => report.error_text(),
    };
    format!("{title}{body}\n")
}

/// `targets`: the matrix of environments to run for a dispatch.
pub(super) async fn targets(config_path: &Path, token: Option<&str>) -> Report {
    let runner = Runner::from_env();
    let config = match load_config(config_path) {
        Ok(c) => c,
        Err(report) => return *report,
    };
    let dispatch = match runner.dispatch("targets") {
        Ok(d) => d,
        Err(report) => return *report,
    };
    let mut report = Report::bare("targets");
    report.customer = Some(dispatch.customer.to_string());
    report.sha = Some(dispatch.sha.to_string());
    let enabled: Vec<String> = match config.customer(&dispatch.customer) {
        Some(c) => c.environments.iter().map(ToString::to_string).collect(),
        None if !config.has_registry() => config.environment_names().iter().map(|s| (*s).to_owned()).collect(),
        None => {
            return report.stop(Stop::Refused {
                message: format!("repository `{}` is not a registered customer", dispatch.customer),
                hint: Some("ask the platform team to add it under `customers:` in infra-manager.yml".into()),
                exit_code: 2,
            });
        }
    };
    let host = match github_host("targets", token) {
        Ok(h) => h,
        Err(report) => return *report,
    };
    let defined = defined_environments(&config, &host, &dispatch).await;
    // Run the environments the file asks for; if it names none we can run (or can't be read),
    // run them all so each reports the problem on its own status.
    let mut envs: Vec<&String> = enabled.iter().filter(|e| defined.contains(e)).collect();
    if envs.is_empty() {
        envs = enabled.iter().collect();
    }
    let include: Vec<_> =
        envs.iter().map(|e| json!({"customer": dispatch.customer.to_string(), "environment": e})).collect();
    let matrix = json!({ "include": include });
    output::data(&matrix.to_string());
    finish_outputs(runner.output.as_deref(), &[("matrix", matrix.to_string())]);
    report
}

async fn defined_environments(config: &Config, host: &GithubHost, dispatch: &Dispatch) -> Vec<String> {
    let Ok(Some(text)) = host.read_file(&dispatch.customer, variables::PATH, &dispatch.sha).await else {
        return Vec::new();
    };
    let rules = Rules::for_customer(config, Some(&dispatch.customer));
    match Variables::parse(variables::PATH, &text, &dispatch.customer, &rules) {
        Ok(vars) => vars.environments().map(ToString::to_string).collect(),
        Err(_) => Vec::new(),
    }
}

/// `dispatch`: the customer side, sending the event for this workflow run to the manager.
pub(super) async fn dispatch(args: &DispatchArgs, token: Option<&str>) -> Report {
    let runner = Runner::from_env();
    let mut report = Report::bare("dispatch");
    let (Some(name), Some(path)) = (&runner.event_name, &runner.event_path) else {
        return usage(
            "dispatch",
            "no GITHUB_EVENT_NAME / GITHUB_EVENT_PATH: not running in GitHub Actions".into(),
            "run this from the customer's trigger workflow",
        );
    };
    let outgoing = match event::read(path).and_then(|e| event::outgoing(name, &e)) {
        Ok(Some(o)) => o,
        Ok(None) => {
            output::log(&format!("nothing to dispatch for this `{name}` event"));
            return report;
        }
        Err(e) => {
            return usage("dispatch", e.to_string(), "the trigger workflow runs on `pull_request` and `push` events");
        }
    };
    report.customer = outgoing.client_payload["repository"].as_str().map(str::to_owned);
    report.sha = outgoing.client_payload["sha"].as_str().map(str::to_owned);
    let host = match github_host("dispatch", token) {
        Ok(h) => h,
        Err(report) => return *report,
    };
    match host.send_dispatch(&args.manager_repo, outgoing.event_type, outgoing.client_payload).await {
        Ok(()) => {
            output::log(&format!("sent `{}` to {}", outgoing.event_type, args.manager_repo));
            finish_outputs(runner.output.as_deref(), &[("event_type", outgoing.event_type.to_owned())]);
            report
        }
        Err(e) => report.stop(Stop::Failed(e.to_string())),
    }
}

/// A code host and the targets it serves.
type Fleet = (Box<dyn CodeHost>, Vec<Target>);

/// Every registered customer environment (optionally one customer or environment), with a
/// GitHub client to read their files.
pub(super) fn fleet(
    config: &Config,
    customer: Option<&str>,
    env: Option<&EnvName>,
    token: Option<&str>,
) -> Result<Fleet, Box<Report>> {
    if !config.has_registry() {
        return Err(Box::new(usage(
            "drift",
            "no customers are registered in infra-manager.yml".into(),
            "use `--source-dir DIR` for a local check",
        )));
    }
    let only = match customer.map(crate::identity::CustomerId::parse).transpose() {
        Ok(c) => c,
        Err(e) => return Err(Box::new(usage("drift", e.to_string(), "pass `--customer owner/repo`"))),
    };
    let targets = config
        .customers
        .iter()
        .filter(|c| only.as_ref().is_none_or(|o| o == &c.repo))
        .flat_map(|c| c.environments.iter().map(move |e| Target { customer: c.repo.clone(), env: e.clone() }))
        .filter(|t| env.is_none_or(|e| e == &t.env))
        .collect();
    let host = github_host("drift", token)?;
    Ok((Box::new(host), targets))
}

/// Job summary and outputs of a drift run.
pub(super) fn drift_to_runner(table: &str, drifted: usize, errors: usize) {
    let runner = Runner::from_env();
    finish_outputs(runner.output.as_deref(), &[("drifted", drifted.to_string()), ("errors", errors.to_string())]);
    if let Some(path) = &runner.summary
        && let Err(e) = actions::append_summary(path, table)
    {
        output::log(&format!("warning: can't write the job summary `{}`: {e}", path.display()));
    }
}
