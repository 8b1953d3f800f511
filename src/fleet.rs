//! Fleet runs: one flow over many targets in one process, `parallel` at a time, each in its
//! own working directory. One target's failure never stops the others; a progress line goes
//! to the log as each finishes, and the results come back in the targets' order.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use futures_util::stream::{self, StreamExt};

use crate::config::Config;
use crate::error::CommandError;
use crate::identity::{EnvName, Owner, Target};
use crate::output;
use crate::pipeline::prepare::Validated;
use crate::tenants::git::{ManagerRepo, TENANTS_DIR};

/// The default parallelism: one more than the cores. A Terraform run is not all CPU (its
/// start, the provider's handshake, the disk; with real providers mostly waiting on their
/// APIs), and with only the cores a run's tail leaves cores idle: 5 targets on 2 cores
/// took 3 rounds, with 3 at once they take the CPU of 2.5 (measured in
/// docs/performance.md).
pub fn default_parallel() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get) + 1
}

/// Runs `run` for every target, at most `parallel` at once. `describe` says in a few words
/// how one ended (`3 to add`); the progress line is `[12/50] acme/webshop staging: 3 to
/// add (4.1 s)`.
pub async fn each<T>(
    targets: &[Target],
    parallel: usize,
    run: impl AsyncFn(&Target) -> T,
    describe: impl Fn(&T) -> String,
) -> Vec<T> {
    let total = targets.len();
    let done = AtomicUsize::new(0);
    let (run, describe, done) = (&run, &describe, &done);
    let mut results: Vec<(usize, T)> = stream::iter(targets.iter().enumerate())
        .map(|(index, target)| async move {
            let started = Instant::now();
            // Each target's GitHub calls in a scope of its own, for its record.
            let (result, _) = crate::github::budget::tallied(run(target)).await;
            let finished = done.fetch_add(1, Ordering::Relaxed) + 1;
            output::log(&progress_line(finished, total, target, &describe(&result), started.elapsed().as_secs_f64()));
            (index, result)
        })
        .buffer_unordered(parallel.max(1))
        .collect()
        .await;
    results.sort_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, result)| result).collect()
}

fn progress_line(finished: usize, total: usize, target: &Target, what: &str, seconds: f64) -> String {
    let took = crate::duration::human(std::time::Duration::from_secs_f64(seconds));
    format!("[{finished}/{total}] {} {}: {what} ({took})", target.owner, target.env)
}

/// `3 to add, 1 to destroy`, or `no changes`: a plan's counts in a few words.
pub fn counts_phrase(add: u32, change: u32, destroy: u32) -> String {
    let parts: Vec<String> = [(add, "to add"), (change, "to change"), (destroy, "to destroy")]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect();
    if parts.is_empty() { "no changes".to_owned() } else { parts.join(", ") }
}

/// One target of the fleet, and when it expires (by the registry or its file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selected {
    pub target: Target,
    pub expires_at: Option<jiff::Timestamp>,
}

/// The fleet's targets, and what could not be read (each target that could is there).
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub targets: Vec<Selected>,
    /// One line per tenant file that can't be read or is not valid at the checkout's head.
    pub warnings: Vec<String>,
    /// The tenants whose file is such a one: their states are not orphans.
    pub unsure: Vec<Owner>,
}

impl Selection {
    pub fn targets(&self) -> Vec<Target> {
        self.targets.iter().map(|s| s.target.clone()).collect()
    }

    /// Keeps only the targets of `shard` (all without one); returns the whole list, in
    /// order, which places each kept target for `fleet merge`.
    pub fn keep_shard(&mut self, shard: Option<crate::shard::Shard>) -> Vec<Target> {
        let all = self.targets();
        if let Some(shard) = shard {
            self.targets.retain(|s| shard.contains(&s.target));
        }
        all
    }
}

/// Which part of the fleet.
#[derive(Debug, Clone, Copy, Default)]
pub struct Filter<'a> {
    pub owner: Option<&'a Owner>,
    pub env: Option<&'a EnvName>,
}

/// The one target list of every fleet verb: each registered customer's enabled
/// environments, and each tenant file's environments at the head of the manager checkout
/// `manager` (a checkout without `tenants/` has none). A tenant file is validated as the
/// tenant's before its environments count; one that can't be read or is invalid is a
/// warning (logged), and every other target is still selected.
pub async fn select(config: &Config, manager: &ManagerRepo, filter: Filter<'_>) -> Result<Selection, CommandError> {
    let mut selection = Selection::default();
    let keep = |t: &Target| filter.owner.is_none_or(|o| o == &t.owner) && filter.env.is_none_or(|e| e == &t.env);
    for customer in &config.customers {
        let owner = Owner::Customer(customer.repo.clone());
        for env in &customer.environments {
            let target = Target { owner: owner.clone(), env: env.clone() };
            if keep(&target) {
                selection.targets.push(Selected { expires_at: customer.expiry(env), target });
            }
        }
    }
    if filter.owner.is_none_or(|o| matches!(o, Owner::Tenant(_))) && manager.dir().join(TENANTS_DIR).is_dir() {
        match tenants(config, manager).await {
            Ok((found, warnings, unsure)) => {
                selection.targets.extend(found.into_iter().filter(|s| keep(&s.target)));
                selection.warnings.extend(warnings);
                selection.unsure.extend(unsure);
            }
            Err(e) => selection.warnings.push(format!("the tenant files can't be listed: {e}")),
        }
    }
    for warning in &selection.warnings {
        output::log(&format!("warning: {warning}"));
    }
    if selection.targets.is_empty() && !config.has_registry() && selection.warnings.is_empty() {
        return Err(CommandError::usage(
            "no customers are registered in infra-manager.yml and no tenant files are in the manager checkout",
            "register customers under `customers:`, add `tenants/<name>.yml` (with `--repo DIR`), or use `--source-dir DIR` for a local check",
        ));
    }
    Ok(selection)
}

/// Each valid tenant file's environments at the checkout's head (those the registry
/// allows tenants), and a warning for each file that is not.
async fn tenants(
    config: &Config,
    manager: &ManagerRepo,
) -> Result<(Vec<Selected>, Vec<String>, Vec<Owner>), CommandError> {
    let head = manager.commit("HEAD").await?;
    let mut found = Vec::new();
    let mut warnings = Vec::new();
    let mut unsure = Vec::new();
    for path in manager.tenant_files(&head).await? {
        let shown = crate::output::neutralise(&path);
        let tenant = match crate::tenants::changes::tenant_of(&path) {
            Ok(tenant) => tenant,
            Err(e) => {
                warnings.push(e.status_line());
                continue;
            }
        };
        let owner = Owner::Tenant(tenant);
        let text = match manager.read(&head, &path).await {
            Ok(Some(text)) => text,
            Ok(None) => continue,
            Err(e) => {
                warnings.push(format!("`{shown}` can't be read at {}: {e}", head.short()));
                unsure.push(owner);
                continue;
            }
        };
        match crate::pipeline::prepare::validate(config, &owner, &text) {
            Ok(Validated::V2(file, _)) => {
                let registration = config.registration(&owner);
                for env in &file.environments {
                    let target = Target { owner: owner.clone(), env: env.clone() };
                    if registration.as_ref().is_some_and(|r| r.allows(env)) {
                        found.push(Selected { target, expires_at: file.expires_at });
                    }
                }
            }
            Ok(Validated::V1(_)) => {}
            Err(e) => {
                warnings.push(format!("`{shown}` is not valid at {}: {}", head.short(), e.status_line()));
                unsure.push(owner);
            }
        }
    }
    Ok((found, warnings, unsure))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(i: usize) -> Target {
        Target {
            owner: Owner::Customer(crate::identity::RepoId::parse(&format!("acme/app{i}")).expect("valid")),
            env: EnvName::parse("staging").expect("valid"),
        }
    }

    #[tokio::test]
    async fn results_keep_the_targets_order_whatever_finishes_first() {
        let targets: Vec<Target> = (0..8).map(target).collect();
        let results = each(
            &targets,
            4,
            async |t: &Target| {
                // Later targets finish first.
                let n: u64 = t.owner.to_string().trim_start_matches("acme/app").parse().expect("number");
                tokio::time::sleep(std::time::Duration::from_millis(40 - 5 * n)).await;
                t.owner.to_string()
            },
            Clone::clone,
        )
        .await;
        let expected: Vec<String> = (0..8).map(|i| format!("acme/app{i}")).collect();
        assert_eq!(results, expected);
    }

    /// Issue 23 item 5: a customer's targets are the environments the registry enables for
    /// it (none unless it names them), not every environment the manager has.
    #[tokio::test]
    async fn only_the_environments_enabled_for_a_customer_are_selected() {
        let dir = tempfile::tempdir().expect("tempdir");
        let registry = "customers:\n  - repo: acme/web\n    environments: [production]\n  - repo: acme/shop\n    environments: [staging, production]\n  - repo: acme/none\n";
        let config = Config::parse("infra-manager.yml", registry, dir.path()).expect("valid");
        let manager = ManagerRepo::new(dir.path());
        let selected = select(&config, &manager, Filter::default()).await.expect("selected");
        let shown: Vec<String> = selected.targets().iter().map(|t| format!("{} {}", t.owner, t.env)).collect();
        assert_eq!(shown, ["acme/web production", "acme/shop staging", "acme/shop production"]);
    }

    #[test]
    fn the_progress_line_names_the_target_the_outcome_and_the_time() {
        assert_eq!(
            progress_line(12, 50, &target(3), &counts_phrase(3, 0, 0), 4.06),
            "[12/50] acme/app3 staging: 3 to add (4.1 s)"
        );
        assert_eq!(counts_phrase(0, 0, 0), "no changes");
        assert_eq!(counts_phrase(1, 2, 3), "1 to add, 2 to change, 3 to destroy");
    }
}
