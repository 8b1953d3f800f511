//! Fleet runs: one flow over many targets in one process, `parallel` at a time, each in its
//! own working directory. One target's failure never stops the others; a progress line goes
//! to the log as each finishes, and the results come back in the targets' order.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use futures_util::stream::{self, StreamExt};

use crate::config::Config;
use crate::error::CommandError;
use crate::identity::{CustomerId, EnvName, Target};
use crate::output;

/// The default parallelism: the number of cores.
pub fn default_parallel() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
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
            let result = run(target).await;
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
    format!("[{finished}/{total}] {} {}: {what} ({seconds:.1} s)", target.customer, target.env)
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

/// Every registered customer environment (optionally one customer or environment).
pub fn registered(config: &Config, customer: Option<&str>, env: Option<&EnvName>) -> Result<Vec<Target>, CommandError> {
    if !config.has_registry() {
        return Err(CommandError::usage(
            "no customers are registered in infra-manager.yml",
            "use `--source-dir DIR` for a local check",
        ));
    }
    let only = customer.map(CustomerId::parse).transpose().map_err(|e| CommandError::bad_customer(&e))?;
    Ok(config
        .customers
        .iter()
        .filter(|c| only.as_ref().is_none_or(|o| o == &c.repo))
        .flat_map(|c| c.environments.iter().map(move |e| Target { customer: c.repo.clone(), env: e.clone() }))
        .filter(|t| env.is_none_or(|e| e == &t.env))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(i: usize) -> Target {
        Target {
            customer: CustomerId::parse(&format!("acme/app{i}")).expect("valid"),
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
                let n: u64 = t.customer.to_string().trim_start_matches("acme/app").parse().expect("number");
                tokio::time::sleep(std::time::Duration::from_millis(40 - 5 * n)).await;
                t.customer.to_string()
            },
            Clone::clone,
        )
        .await;
        let expected: Vec<String> = (0..8).map(|i| format!("acme/app{i}")).collect();
        assert_eq!(results, expected);
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
