//! Local mode: a directory stands in for the customer repository (`--source-dir`).

use std::path::Path;

use super::{load_config, open_store, seams, usage};
use crate::cli::{RenderArgs, TargetArgs, ValidateArgs};
use crate::commands::{self, Report, Request, Stop};
use crate::identity::{CustomerId, EnvName, Sha, Target};
use crate::local_host::{LocalHost, content_sha};
use crate::output;
use crate::variables::{self, Rules, Variables};

/// The customer of a local source directory: `--customer`, else `local/<dir name>`.
pub(super) fn local_customer(
    command: &'static str,
    args: &TargetArgs,
    source_dir: &Path,
) -> Result<CustomerId, Box<Report>> {
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

pub(super) async fn target_command(
    command: &'static str,
    config_path: &Path,
    args: &TargetArgs,
    source_dir: &Path,
) -> Report {
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

pub(super) fn validate(config_path: &Path, args: &ValidateArgs) -> Report {
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

pub(super) async fn render(config_path: &Path, args: &RenderArgs, json: bool) -> Report {
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
    let host = LocalHost::new(source_dir);
    let rendered = match commands::workdir::render_files(&config, &host, store.as_ref(), &req).await {
        Ok(r) => r,
        Err(stop) => return report.stop(stop),
    };
    let dir = args.out.clone().unwrap_or_else(|| commands::work_dir(&config.state.local_dir.join("work"), &req.target));
    match rendered.write(&dir) {
        Ok(()) => {
            if !json {
                output::data(&dir.display().to_string());
            }
            Report { work_dir: Some(dir.display().to_string()), ..report }
        }
        Err(e) => report.stop(Stop::Failed(e.to_string())),
    }
}
