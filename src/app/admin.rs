//! Store administration: `bootstrap`, `history`, `locks list` and `locks release`.

use std::path::Path;

use super::{finish, load_config, open_store, s3_store, usage};
use crate::cli::{HistoryArgs, ReleaseArgs};
use crate::commands::{self, Report, Stop};
use crate::config::Config;
use crate::identity::{CustomerId, EnvName, Target};
use crate::output;
use crate::store::s3::S3Store;

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

pub(super) async fn bootstrap(config_path: &Path, json: bool) -> u8 {
    let (config, store) = match admin_setup("bootstrap", config_path).await {
        Ok(setup) => setup,
        Err(report) => return finish(report, json),
    };
    show("bootstrap", commands::bootstrap::run(store.as_ref(), config.state.local_dir.clone()).await, json)
}

pub(super) async fn history(config_path: &Path, args: &HistoryArgs, json: bool) -> u8 {
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

pub(super) async fn locks_list(config_path: &Path, json: bool) -> u8 {
    let (_, store) = match admin_setup("locks list", config_path).await {
        Ok(setup) => setup,
        Err(report) => return finish(report, json),
    };
    show("locks list", commands::locks::list(store.as_ref()).await, json)
}

pub(super) async fn locks_release(config_path: &Path, args: &ReleaseArgs, json: bool) -> u8 {
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
