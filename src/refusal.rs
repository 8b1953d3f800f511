//! Why a request was refused: typed, so callers and tests match on the reason, and the
//! message and hint are written once, here.

use crate::error::ExitStatus;
use crate::identity::{EnvName, Owner, RepoId, Sha, Target};
use crate::report::prefix;

/// A request that is not allowed, or a stored plan that must not be applied. Nothing was
/// changed when one of these is returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    // Admission: the request itself is not acceptable (exit 2).
    #[error("repository `{owner}` is not a registered customer")]
    NotRegistered { owner: Owner },
    #[error("environment `{env}` is not enabled for `{owner}`")]
    EnvNotEnabled { owner: Owner, env: EnvName, enabled: Vec<String> },
    #[error("unknown environment `{env}`")]
    UnknownEnv { env: EnvName, configured: Vec<String> },
    #[error("`{path}` not found at {owner}@{}", .sha.short())]
    FileMissing { owner: Owner, path: String, sha: Sha },
    #[error("{message}")]
    EnvNotInFile { env: EnvName, message: String },

    // The dispatch is not bound to the customer's repository (exit 2, nothing written).
    #[error("an `infra-plan` dispatch can't start an apply")]
    ApplyFromPullRequest,
    #[error("an `infra-plan` dispatch names no pull request")]
    NoPullRequest,
    #[error("`{customer}` has no pull request #{number}")]
    PullNotInRepo { customer: RepoId, number: u64 },
    #[error("pull request #{number} of `{customer}` is closed")]
    PullClosed { customer: RepoId, number: u64 },
    #[error("commit {} is not the head of pull request #{number} (its head is {})", .sha.short(), .head.short())]
    NotPullHead { number: u64, sha: Sha, head: Sha },
    #[error("commit {} is not a merge queue commit to plan: {reason}", .sha.short())]
    NotQueueCommit { sha: Sha, reason: String },
    #[error("commit {} is not the head of `{customer}`'s default branch `{branch}` (its head is {})", .sha.short(), .head.short())]
    NotDefaultHead { customer: RepoId, branch: String, sha: Sha, head: Sha },
    #[error("commit {} does not descend from {}, the last commit applied to {target}", .sha.short(), prefix(.applied, 7))]
    NotDescendant { target: Target, sha: Sha, applied: String },
    #[error("`{customer}` requires an OIDC-authenticated dispatch, and this one carries no token")]
    OidcMissing { customer: RepoId },
    #[error("the dispatch's OIDC token is refused: {reason}")]
    OidcRejected { reason: String },
    #[error("nothing was ever applied to {target}: there is nothing to destroy")]
    NeverApplied { target: Target },
    #[error("{target} expired at {at}: it is no longer planned or applied")]
    Expired { target: Target, at: String },

    // Governance (issue 22): the apply is not allowed now (exit 2, nothing applied).
    #[error("the apply to `{env}` needs an approval by {who}: {reason}")]
    NotApproved { env: EnvName, who: String, reason: String },
    #[error("applies to `{env}` are frozen through {through}: {reason}")]
    Frozen { env: EnvName, reason: String, through: String },
    #[error("`{env}` is outside its apply windows; {}", .next.as_deref().map_or_else(|| "no window opens within a year".to_owned(), |n| format!("next window: {n}")))]
    OutsideWindow { env: EnvName, next: Option<String> },
    #[error("a break-glass apply to `{env}` needs the environment's approval, and `{env}` has no `approval` rule")]
    BreakGlassWithoutRule { env: EnvName },

    // The plan can't be stored or applied (exit 1).
    #[error("plan for {} is superseded: a newer plan for {} was stored while this one ran", .sha.short(), prefix(.newer, 7))]
    SupersededWhilePlanning { sha: Sha, newer: String },
    #[error("no stored plan for {target}")]
    NoPlan { target: Target },
    #[error("no stored plan for commit {} of {target} (the newest plan is for {})", .sha.short(), prefix(.newest, 7))]
    NoPlanForCommit { target: Target, sha: Sha, newest: String },
    #[error("plan for {} is superseded by a newer plan for {}", .sha.short(), prefix(.newest, 7))]
    Superseded { sha: Sha, newest: String },
    #[error("stored plan does not match its checksum (expected sha256:{}, found sha256:{})", prefix(.expected, 12), prefix(.actual, 12))]
    Tampered { expected: String, actual: String },
    #[error("the stored plan can't be used: {message}")]
    Unreadable { message: String },
    #[error("the stored plan is for {planned}, not {requested}")]
    WrongTarget { planned: String, requested: String },
    #[error(
        "the configuration differs from the one the plan was made with (variables, module or provider lock changed)"
    )]
    ConfigChanged,
    #[error("the plan was made with Terraform {planned}, this run has {running}")]
    TerraformVersion { planned: String, running: String },
    #[error("the plan is stale: the state changed since it was made (serial {} → {})", serial(*.planned), serial(*.current))]
    StaleState { planned: Option<u64>, current: Option<u64> },

    // A state rollback that can't be done (`state rollback`; nothing was written).
    #[error("{target} has no state version `{version}`")]
    UnknownStateVersion { target: Target, version: String },
    #[error("{target} has no run `{run}` that recorded the state version it wrote")]
    UnknownStateRun { target: Target, run: String },
    #[error("{target} has no state version before the current one to roll back to")]
    NoEarlierState { target: Target },
    #[error("state version `{version}` is {target}'s current state: there is nothing to roll back")]
    AlreadyCurrent { target: Target, version: String },
    #[error("state version `{version}` is another state: its lineage is `{lineage}`, the current state's `{current}`")]
    OtherLineage { version: String, lineage: String, current: String },
    #[error("the store keeps no versions of {target}'s state ({why}), so it can't be rolled back")]
    NotVersioned { target: Target, why: String },
}

fn serial(s: Option<u64>) -> String {
    s.map_or_else(|| "none".to_owned(), |v| v.to_string())
}

impl Refusal {
    /// Admission refusals are bad input (2); a plan that can't be applied is a failure (1).
    pub fn exit_status(&self) -> ExitStatus {
        match self {
            Self::NotRegistered { .. }
            | Self::EnvNotEnabled { .. }
            | Self::UnknownEnv { .. }
            | Self::FileMissing { .. }
            | Self::EnvNotInFile { .. }
            | Self::ApplyFromPullRequest
            | Self::NoPullRequest
            | Self::PullNotInRepo { .. }
            | Self::PullClosed { .. }
            | Self::NotPullHead { .. }
            | Self::NotQueueCommit { .. }
            | Self::NotDefaultHead { .. }
            | Self::NotDescendant { .. }
            | Self::OidcMissing { .. }
            | Self::OidcRejected { .. }
            | Self::NeverApplied { .. }
            | Self::Expired { .. }
            | Self::NotApproved { .. }
            | Self::Frozen { .. }
            | Self::OutsideWindow { .. }
            | Self::BreakGlassWithoutRule { .. }
            | Self::UnknownStateVersion { .. }
            | Self::UnknownStateRun { .. }
            | Self::NoEarlierState { .. }
            | Self::AlreadyCurrent { .. } => ExitStatus::Usage,
            _ => ExitStatus::Failure,
        }
    }

    pub fn hint(&self) -> Option<String> {
        const PLAN_AGAIN: &str = "run `infra-manager plan` again, review it, then apply";
        let hint = match self {
            Self::NotRegistered { .. } => {
                "ask the platform team to add it under `customers:` in infra-manager.yml".to_owned()
            }
            Self::EnvNotEnabled { enabled, .. } => format!("enabled: {}", enabled.join(", ")),
            Self::UnknownEnv { configured, .. } => format!("configured environments: {}", configured.join(", ")),
            Self::FileMissing { owner: owner @ Owner::Tenant(name), .. } => format!(
                "add the tenant's file `{}`, or (for a deleted tenant) plan its destroy with `infra-manager destroy --tenant {name} --env ENV`",
                owner.file()
            ),
            Self::FileMissing { .. } => {
                "add the file; `customer-template/infra/variables.yml` is a starting point".to_owned()
            }
            Self::EnvNotInFile { env, .. } => format!("add `{env}` under `environments:` in infra/variables.yml"),
            Self::ApplyFromPullRequest | Self::NoPullRequest => {
                "plans run for `infra-plan` dispatches of a pull request, applies for `infra-apply` dispatches of the default branch".to_owned()
            }
            Self::PullNotInRepo { .. } | Self::PullClosed { .. } | Self::NotPullHead { .. } => {
                "a plan runs only for the newest commit of an open pull request of the customer's repository; push again to plan"
                    .to_owned()
            }
            Self::NotQueueCommit { .. } => {
                "a merge queue commit is planned while it is in the queue; the queue dispatches its newer commits itself"
                    .to_owned()
            }
            Self::NotDefaultHead { .. } => {
                "an apply runs only for the newest commit of the default branch; the dispatch for that commit applies it"
                    .to_owned()
            }
            Self::OidcMissing { .. } | Self::OidcRejected { .. } => {
                "the customer's trigger workflow must run `infra-manager dispatch` with `permissions: id-token: write`"
                    .to_owned()
            }
            Self::NotDescendant { .. } => {
                "an older commit can't be applied again; revert the change in a new commit on the default branch instead"
                    .to_owned()
            }
            Self::NeverApplied { target } => format!(
                "a destroy plans the configuration last applied; `infra-manager history {}` lists the runs",
                crate::identity::owner_flag(&target.owner)
            ),
            Self::Expired { target: Target { owner: Owner::Tenant(_), .. }, .. } => {
                "`reap` destroys it; move `spec.expiresAt` in its file later (a new request's `expires_at`) to keep it"
                    .to_owned()
            }
            Self::Expired { .. } => {
                "`reap` destroys it; ask the platform team to extend `expires_at` in infra-manager.yml to keep it"
                    .to_owned()
            }
            Self::NotApproved { who, .. } => format!(
                "{who} approves (the review on the pull request's head commit, or the deployment in the run), then the apply runs again"
            ),
            Self::Frozen { .. } | Self::OutsideWindow { .. } => {
                "apply inside a window, or (for an emergency) with `--break-glass REASON` and the environment's approval"
                    .to_owned()
            }
            Self::BreakGlassWithoutRule { env } => {
                format!("set `environments.{env}.approval` in infra-manager.yml, or apply inside a window")
            }
            Self::SupersededWhilePlanning { .. } => {
                "review and apply the newest plan, or plan this commit again".to_owned()
            }
            Self::NoPlan { target } => format!("run `infra-manager plan` for `{}` first", target.env),
            Self::NoPlanForCommit { target, newest, .. } => {
                let (owner, env) = (crate::identity::owner_flag(&target.owner), &target.env);
                format!(
                    "plan this commit first (`infra-manager plan {owner} --env {env}`); to apply the newest plan (for {}) instead, \
                     `infra-manager apply {owner} --env {env} --last-applied` applies a destroy plan (made from the commit last applied, \
                     as when the file is deleted) and `--sha {newest}` any other",
                    prefix(newest, 7)
                )
            }
            Self::Superseded { .. } => "apply the newest plan (its commit), or plan this commit again".to_owned(),
            Self::Tampered { .. } => format!("the plan file was altered or corrupted; {PLAN_AGAIN}"),
            Self::TerraformVersion { planned, .. } => format!("use Terraform {planned} or {PLAN_AGAIN}"),
            Self::Unreadable { .. } | Self::WrongTarget { .. } | Self::ConfigChanged | Self::StaleState { .. } => {
                PLAN_AGAIN.to_owned()
            }
            Self::UnknownStateVersion { target, .. }
            | Self::UnknownStateRun { target, .. }
            | Self::NoEarlierState { target }
            | Self::AlreadyCurrent { target, .. } => format!(
                "`infra-manager state versions {} --env {}` lists the versions, newest first, with the runs that wrote them",
                crate::identity::owner_flag(&target.owner),
                target.env
            ),
            Self::OtherLineage { current, .. } => format!(
                "the state was removed and made again since that version: only a version of lineage `{current}` can be rolled back onto it"
            ),
            Self::NotVersioned { .. } => {
                "run `infra-manager bootstrap`, which turns bucket versioning on (versions overwritten before that are gone)"
                    .to_owned()
            }
        };
        Some(hint)
    }
}
