//! `drift` for one local directory or every registered customer.

use std::path::Path;

use super::{finish, github, load_config, local, seams, usage};
use crate::cli::{DriftArgs, TargetArgs};
use crate::commands::{self, Report};
use crate::identity::{EnvName, Target};
use crate::local_host::LocalHost;
use crate::output;

/// `drift`: local mode checks one customer directory; GitHub mode every registered customer.
pub(super) async fn drift(config_path: &Path, args: &DriftArgs, json: bool, token: Option<&str>) -> u8 {
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
            let customer = match local::local_customer("drift", &target_args, dir) {
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
