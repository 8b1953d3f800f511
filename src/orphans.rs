//! Orphans: Terraform states the registry no longer accounts for. A customer removed from
//! the registry, an environment no longer enabled for it, or one removed from its
//! `variables.yml` on the default branch leaves its state (and resources) behind. Orphans
//! are reported, never destroyed implicitly: offboarding is an explicit `destroy`.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::codehost::Files;
use crate::config::Config;
use crate::fleet::Selection;
use crate::identity::{Owner, RepoId, Sha, Target};
use crate::report::markdown::code;
use crate::store::{States, StoreError};
use crate::variables::document::Document;
use crate::variables::{self, Rules};

/// Why a state is an orphan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    /// The customer is not in the registry.
    Unregistered,
    /// The customer is, but this environment is not enabled for it.
    NotEnabled,
    /// The customer's `variables.yml` on its default branch no longer defines it.
    RemovedFromFile,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Orphan {
    pub customer: String,
    pub environment: String,
    pub reason: Reason,
    /// Resources still in its state.
    pub resources: usize,
}

impl Orphan {
    /// One line for a log or a Markdown list; names are validated identities.
    pub fn describe(&self) -> String {
        let why = match self.reason {
            Reason::Unregistered => "the customer is no longer registered, or the tenant's file is gone",
            Reason::NotEnabled => "the environment is no longer enabled for the customer",
            Reason::RemovedFromFile => "the environment was removed from its file",
        };
        format!(
            "{} {}: {} resources in a state without a registry entry ({why}); destroy it explicitly or restore the entry",
            code(&self.customer),
            code(&self.environment),
            self.resources
        )
    }
}

/// The job summary's section listing `orphans`; empty when there are none.
pub fn summary_section(orphans: &[Orphan]) -> String {
    if orphans.is_empty() {
        return String::new();
    }
    let lines: Vec<String> = orphans.iter().map(|o| format!("- {}", o.describe())).collect();
    format!("### Orphaned states\n\n{}\n", lines.join("\n"))
}

/// Where the default branch's files come from, to tell an environment removed from the
/// file; `None` skips that check.
pub enum DefaultBranches<'a> {
    /// The head of each customer's default branch on GitHub.
    GitHub(&'a crate::github::GithubHost),
    /// Local checkouts (their current files).
    Local(&'a crate::local_host::LocalHost),
}

impl DefaultBranches<'_> {
    async fn environments(&self, config: &Config, customer: &RepoId) -> Option<Vec<String>> {
        use crate::codehost::Provenance;
        let (host, sha): (&dyn Files, Sha) = match self {
            DefaultBranches::GitHub(github) => (*github, github.default_branch(customer).await.ok()?.head),
            DefaultBranches::Local(local) => (*local, crate::local_host::content_sha("")),
        };
        defined_environments(config, host, &Owner::Customer(customer.clone()), &sha).await
    }
}

/// The environments `customer`'s file defines at `sha`; `None` when it can't be read or
/// parsed (then nothing is called removed: an unreadable file is not an offboarding).
pub async fn defined_environments(
    config: &Config,
    host: &dyn Files,
    customer: &Owner,
    sha: &Sha,
) -> Option<Vec<String>> {
    let text = host.read_file(customer, variables::PATH, sha).await.ok()??;
    let rules = Rules::for_owner(config, Some(customer));
    let tenant = Document::parse(variables::PATH, &text, customer, &rules, || crate::catalog::Catalog::load(config));
    Some(tenant.ok()?.environments())
}

/// Every state the fleet's selection does not account for, with the resources it still
/// holds; empty states (destroyed already) are not orphans. A tenant whose file could not
/// be read at the manager checkout's head is left alone (its file, not its state, is the
/// problem).
pub async fn find(
    config: &Config,
    states: &dyn States,
    selection: &Selection,
    files: Option<&DefaultBranches<'_>>,
) -> Result<Vec<Orphan>, StoreError> {
    let mut candidates: Vec<(Target, Reason)> = Vec::new();
    let mut registered: BTreeMap<RepoId, Vec<Target>> = BTreeMap::new();
    for target in states.state_targets().await? {
        match &target.owner {
            Owner::Customer(repo) => match config.customer(repo) {
                None => candidates.push((target, Reason::Unregistered)),
                Some(c) if !c.environments.contains(&target.env) => candidates.push((target, Reason::NotEnabled)),
                Some(_) => registered.entry(repo.clone()).or_default().push(target),
            },
            Owner::Tenant(_) if selection.unsure.contains(&target.owner) => {}
            Owner::Tenant(_) if selection.targets.iter().any(|s| s.target == target) => {}
            Owner::Tenant(_) if selection.targets.iter().any(|s| s.target.owner == target.owner) => {
                candidates.push((target, Reason::RemovedFromFile));
            }
            Owner::Tenant(_) => candidates.push((target, Reason::Unregistered)),
        }
    }
    if let Some(files) = files {
        for (customer, targets) in registered {
            let Some(defined) = files.environments(config, &customer).await else { continue };
            candidates.extend(
                targets
                    .into_iter()
                    .filter(|t| !defined.iter().any(|d| d == t.env.as_str()))
                    .map(|t| (t, Reason::RemovedFromFile)),
            );
        }
    }
    let mut orphans = Vec::new();
    for (target, reason) in candidates {
        let resources = states.state_resources(&target).await?.unwrap_or(0);
        if resources > 0 {
            orphans.push(Orphan {
                customer: target.owner.to_string(),
                environment: target.env.to_string(),
                reason,
                resources,
            });
        }
    }
    orphans.sort_by(|a, b| (&a.customer, &a.environment).cmp(&(&b.customer, &b.environment)));
    Ok(orphans)
}
