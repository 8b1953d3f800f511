//! A dead run's lock is freed when its run is known to have ended. Every run stamps its
//! records with who it is (host and process; in GitHub Actions the workflow run and its
//! attempt). A run that finds its target's state locked looks up the run that was under
//! way when the lock was taken (its `started` record) and asks whether it is still alive:
//! GitHub for a workflow run, the process table for one on this host. A lock whose run
//! has ended is released at once (only if it is still the lock that was read), and the dead
//! run's record says how it ended. A lock whose owner can't be asked keeps the age rule
//! (`terraform.run_timeout` + `stop_timeout`).

use super::Deps;
use crate::identity::{RepoId, Target};
use crate::output;
use crate::settings::Runner;
use crate::store::s3::LockInfo;
use crate::store::{RunRecord, RunStatus};

/// Who a run is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunIdentity {
    pub host: Option<String>,
    pub pid: u32,
    /// The manager repository and the workflow run and attempt, in GitHub Actions.
    pub actions: Option<(String, u64, u32)>,
}

impl RunIdentity {
    /// This process, and the workflow run GitHub Actions says it is part of.
    pub fn current(runner: &Runner) -> Self {
        let host = rustix::system::uname().nodename().to_str().ok().map(str::to_owned);
        let actions = match (&runner.repository, runner.run_id) {
            (Some(repo), Some(id)) => Some((repo.clone(), id, runner.run_attempt.unwrap_or(1))),
            _ => None,
        };
        Self { host, pid: std::process::id(), actions }
    }

    /// Puts the identity on `record`.
    pub fn stamp(&self, record: &mut RunRecord) {
        record.runner_host.clone_from(&self.host);
        record.runner_pid = Some(self.pid);
        if let Some((repo, id, attempt)) = &self.actions {
            record.actions_repository = Some(repo.clone());
            record.actions_run_id = Some(*id);
            record.actions_run_attempt = Some(*attempt);
        }
    }
}

/// Whether the run of `record` has ended, and how that is known; `None` when it can't be
/// told (another host's process, no GitHub credential, a run GitHub does not know).
pub async fn ended(
    actions: Option<&dyn crate::codehost::ActionsRuns>,
    identity: &RunIdentity,
    record: &RunRecord,
) -> Option<String> {
    if let (Some(repo), Some(id), Some(actions)) = (&record.actions_repository, record.actions_run_id, actions) {
        let attempt = record.actions_run_attempt.unwrap_or(1);
        let repo = RepoId::parse(&repo.to_lowercase()).ok()?;
        return match actions.run_ended(&repo, id, attempt).await {
            Ok(Some(true)) => Some(format!("GitHub says workflow run {id} (attempt {attempt}) of `{repo}` has ended")),
            Ok(_) => None,
            Err(e) => {
                output::log(&format!("warning: can't ask GitHub whether run {id} has ended: {e}"));
                None
            }
        };
    }
    let same_host = record.runner_host.is_some() && record.runner_host == identity.host;
    let pid = record.runner_pid.and_then(|p| rustix::process::Pid::from_raw(i32::try_from(p).ok()?))?;
    (same_host && rustix::process::test_kill_process(pid).is_err())
        .then(|| format!("process {} on this host is gone", pid.as_raw_nonzero()))
}

/// After a failed apply: whether the state is still locked, read back from the store. A
/// lock another run took (the apply found it held) is that run's; any other lock is the one
/// this run's Terraform left, and the error says so and how to free it.
pub async fn lock_left(
    deps: &Deps<'_>,
    target: &Target,
    error: crate::terraform::TerraformError,
) -> crate::terraform::TerraformError {
    use crate::terraform::TerraformError;
    if matches!(error, TerraformError::Locked { .. }) {
        return error;
    }
    let Some(locks) = deps.store.locks() else { return error };
    match locks.lock_of(target).await {
        Ok(Some(lock)) => TerraformError::LockLeft {
            inner: Box::new(error),
            holder: lock.who.clone(),
            release: format!(
                "infra-manager locks release {} --env {} --force",
                crate::identity::owner_flag(&target.owner),
                target.env
            ),
        },
        _ => error,
    }
}

/// A run as people name it: the workflow run and attempt, or the host and process.
pub fn describe(record: &RunRecord) -> String {
    match (record.actions_run_id, &record.runner_host, record.runner_pid) {
        (Some(id), _, _) => format!("{id} (attempt {})", record.actions_run_attempt.unwrap_or(1)),
        (None, Some(host), Some(pid)) => format!("pid {pid} on {host}"),
        _ => record.run_id.clone(),
    }
}

/// The run that holds `lock` on `target`: the newest one still `started` when the lock was
/// taken.
pub async fn owner_of(store: &dyn crate::store::Store, target: &Target, lock: &LockInfo) -> Option<RunRecord> {
    let runs = store.history(&target.owner, Some(&target.env)).await.ok()?;
    runs.into_iter()
        .filter(|r| r.status == RunStatus::Started)
        .find(|r| lock.created.is_none_or(|at| r.started_at.parse::<jiff::Timestamp>().is_ok_and(|s| s <= at)))
}

/// Frees `target`'s lock when the run that holds it is known to have ended; says whether
/// it did. Best effort: anything that can't be read leaves the lock to the usual rules.
pub async fn free_if_dead(deps: &Deps<'_>, target: &Target) -> bool {
    let Some(locks) = deps.store.locks() else { return false };
    // One read of the target's own lock: a run pays no listing of the fleet's locks.
    let Ok(Some(lock)) = locks.lock_of(target).await else { return false };
    let Some(mut owner) = owner_of(deps.store, target, &lock).await else { return false };
    if owner.runner_pid == Some(deps.identity.pid) && owner.runner_host == deps.identity.host {
        return false;
    }
    let Some(why) = ended(deps.actions, &deps.identity, &owner).await else { return false };
    match locks.release_lock(target, std::time::Duration::ZERO, true).await {
        Ok(crate::store::s3::ReleaseOutcome::Released { .. }) => {
            output::log(&format!("released the lock on {target}: its run is over ({why})"));
            owner.status = RunStatus::Failed;
            owner.finished_at = Some(super::now());
            owner.message =
                Some(format!("ended without finishing ({why}); its state lock was released by a later run"));
            if let Err(e) = deps.store.record_run(&owner).await {
                output::log(&format!("warning: could not record the release: {e}"));
            }
            true
        }
        Ok(crate::store::s3::ReleaseOutcome::NotLocked) => true,
        Err(e) => {
            output::log(&format!("warning: could not release the lock of an ended run on {target}: {e}"));
            false
        }
    }
}
