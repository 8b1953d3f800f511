//! A state version written back (`state rollback`), for a customer's or a tenant's target
//! alike: the version is found (`previous`, a run's, or by id) → the state lock Terraform
//! takes is taken → the current state is read under it and the version checked against it
//! (same lineage, not already current) → the `rollback` run is recorded as started → the
//! version's content is written as a new version, its serial above the current one → the
//! record is finished → the lock is released. Every refusal comes before the record: it
//! writes nothing. Nothing is applied here; the command then plans the commit last
//! applied, so the difference between the restored state and the configuration is shown.

use serde::Serialize;

use super::{Deps, Request};
use crate::error::CommandError;
use crate::limits::RECORD_MESSAGE_CHARS;
use crate::output;
use crate::refusal::Refusal;
use crate::report::{prefix, truncate_chars};
use crate::store::versions::{self, Holder, LockedState, RestoreError, To};
use crate::store::{RunKind, RunRecord, RunStatus, StateVersion, StateWritten};

/// A version written back.
#[derive(Debug, Clone, Serialize)]
pub struct RolledBack {
    /// The version whose content was written back.
    pub restored: StateVersion,
    /// The run that recorded writing it, when one did.
    pub restored_by: Option<String>,
    /// The new current version: that content, its serial above the state it replaced.
    pub written: StateVersion,
    /// The `rollback` run.
    pub run_id: String,
}

impl RolledBack {
    /// One line for people, the record and the log.
    pub fn line(&self) -> String {
        let serial = |v: &StateVersion| v.serial.map_or_else(|| "?".to_owned(), |s| s.to_string());
        let by = self.restored_by.as_deref().map(|run| format!(", written by run `{run}`")).unwrap_or_default();
        format!(
            "restored state version `{}` (serial {}{by}) as version `{}` (serial {})",
            prefix(&self.restored.version_id, 40),
            serial(&self.restored),
            prefix(&self.written.version_id, 40),
            serial(&self.written)
        )
    }
}

pub async fn rollback(deps: &Deps<'_>, req: &Request, to: &To) -> Result<RolledBack, CommandError> {
    let target = &req.target;
    let not_versioned = |why: String| CommandError::from(Refusal::NotVersioned { target: target.clone(), why });
    let versions = deps.store.versions().ok_or_else(|| not_versioned("this store keeps no versions".to_owned()))?;
    if let Some(why) = versions.unversioned().await? {
        return Err(not_versioned(why));
    }
    // One listing: the versions' contents are not read, but the one restored.
    let listed = versions.version_list(target, versions::LIST_MAX).await?;
    let runs = deps.store.history(&target.owner, Some(&target.env)).await?;
    let id = versions::chosen(target, to, &listed, &runs)?;
    let unknown = || Refusal::UnknownStateVersion { target: target.clone(), version: id.clone() };
    let content = versions.read_version(target, &id).await?.ok_or_else(unknown)?;
    let written_at = listed.iter().find(|v| v.version_id == id).and_then(|v| v.written_at.clone());
    let restored = StateVersion::of(id.clone(), written_at, &content, false);
    let restored_by = runs.iter().find(|r| r.state.state_version.as_ref() == Some(&id)).map(|r| r.run_id.clone());

    // Made before the lock is taken: a run that finds the lock held looks for the run
    // started before it was taken (`lock_owner::owner_of`), to tell whether it is alive.
    let mut record = RunRecord::started(RunKind::Rollback, target, &req.sha, None, deps.run_url.clone());
    deps.identity.stamp(&mut record);
    record.state.restored_version = Some(id.clone());
    super::lock_owner::free_if_dead(deps, target).await;
    let holder = Holder {
        who: format!("infra-manager@{}", deps.identity.host.as_deref().unwrap_or("unknown")),
        operation: "infra-manager state rollback".to_owned(),
        info: format!("restoring state version {id}"),
    };
    let mut locked = versions.lock_state(target, &holder).await?;
    let result = locked_steps(deps, locked.as_mut(), req, &id, &content, &mut record).await;
    let released = locked.release().await;
    let written = match (result, released) {
        (Ok(written), Ok(())) => written,
        (Ok(_), Err(e)) => {
            output::log(&format!("error: the state of {target} was rolled back, but its lock could not be released"));
            return Err(e.into());
        }
        (Err(e), _) => return Err(e),
    };
    let rolled = RolledBack { restored, restored_by, written, run_id: record.run_id.clone() };
    finish(deps, &mut record, Ok(&rolled)).await;
    Ok(rolled)
}

/// Under the lock: the checks against the current state (refusals write nothing), then
/// the record, then the write.
async fn locked_steps(
    deps: &Deps<'_>,
    locked: &mut (dyn LockedState + '_),
    req: &Request,
    id: &str,
    content: &[u8],
    record: &mut RunRecord,
) -> Result<StateVersion, CommandError> {
    let current = locked.read().await?;
    let state = versions::restored(&req.target, id, content, current.as_deref()).map_err(|e| match e {
        RestoreError::Refused(refusal) => CommandError::Refused(refusal),
        other => CommandError::usage(other.to_string(), "pick another version from `infra-manager state versions`"),
    })?;
    deps.store.record_run(record).await?;
    match locked.write(&state).await {
        Ok(written) => Ok(written),
        Err(e) => {
            let error = CommandError::from(e);
            finish(deps, record, Err(&error)).await;
            Err(error)
        }
    }
}

/// The record's outcome; a failure to write it is logged (the rollback stands).
async fn finish(deps: &Deps<'_>, record: &mut RunRecord, outcome: Result<&RolledBack, &CommandError>) {
    record.finished_at = Some(super::now());
    match outcome {
        Ok(rolled) => {
            record.status = RunStatus::Succeeded;
            record.message = Some(truncate_chars(&rolled.line(), RECORD_MESSAGE_CHARS));
            record.state = StateWritten {
                restored_version: record.state.restored_version.take(),
                ..StateWritten::of(&rolled.written)
            };
        }
        Err(error) => {
            record.status = RunStatus::Failed;
            record.message = Some(truncate_chars(&error.status_line(), RECORD_MESSAGE_CHARS));
        }
    }
    if let Err(e) = deps.store.record_run(record).await {
        output::log(&format!("error: could not record the rollback's outcome: {e}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ExitStatus;
    use crate::pipeline::testing::Harness;
    use crate::store::{StateVersions, Store};

    fn state(serial: u64, lineage: &str, resources: &str) -> Vec<u8> {
        format!(
            "{{\n  \"version\": 4,\n  \"terraform_version\": \"1.11.4\",\n  \"serial\": {serial},\n  \"lineage\": \"{lineage}\",\n  \"outputs\": {{}},\n  \"resources\": [{resources}]\n}}\n"
        )
        .into_bytes()
    }

    /// Writes the target's state as an apply would, and records the apply with its version.
    async fn applied(h: &Harness, run_id: &str, content: &[u8]) -> StateVersion {
        let target = h.request().target;
        let path = h.store.root().join("state/acme/web/staging/terraform.tfstate");
        std::fs::create_dir_all(path.parent().expect("dir")).expect("mkdir");
        std::fs::write(&path, content).expect("state");
        let version = h.store.keep_current(&target).await.expect("kept").expect("a version");
        let record = RunRecord {
            run_id: run_id.into(),
            customer: "acme/web".into(),
            environment: "staging".into(),
            sha: crate::pipeline::testing::SHA.into(),
            started_at: run_id.split('#').next().expect("time").into(),
            state: StateWritten::of(&version),
            ..RunRecord::empty(RunKind::Apply, RunStatus::Succeeded)
        };
        h.store.record_run(&record).await.expect("record");
        version
    }

    fn current(h: &Harness) -> Vec<u8> {
        std::fs::read(h.store.root().join("state/acme/web/staging/terraform.tfstate")).expect("state")
    }

    #[tokio::test]
    async fn previous_comes_back_as_a_new_version_above_the_current_serial_and_is_recorded() {
        let h = Harness::new();
        let first = applied(&h, "2026-01-01T00:00:00Z#a", &state(2, "l-1", r#"{"name":"a"}"#)).await;
        applied(&h, "2026-01-02T00:00:00Z#b", &state(5, "l-1", "")).await;
        let rolled = rollback(&h.deps(), &h.request(), &To::Previous).await.expect("rolled back");
        assert_eq!(rolled.restored.version_id, first.version_id);
        assert_eq!(rolled.restored_by.as_deref(), Some("2026-01-01T00:00:00Z#a"));
        assert_eq!((rolled.written.serial, rolled.written.current), (Some(6), true));
        assert_eq!(current(&h), state(6, "l-1", r#"{"name":"a"}"#), "the old content, serial above the current");
        let runs = h.store.records("acme/web", Some("staging")).await.expect("history");
        let rollback = &runs[0];
        assert_eq!((rollback.kind, rollback.status), (RunKind::Rollback, RunStatus::Succeeded));
        assert_eq!(rollback.state.restored_version.as_deref(), Some(first.version_id.as_str()));
        assert_eq!(rollback.state.state_version.as_deref(), Some(rolled.written.version_id.as_str()));
        assert_eq!(rollback.state.state_serial, Some(6));
        assert_eq!(rollback.message.as_deref(), Some(rolled.line().as_str()));
        assert!(rollback.runner_pid.is_some(), "stamped with who ran it");
        let listed = h.store.list_versions(&h.request().target, 10).await.expect("list");
        assert_eq!(listed.iter().map(|v| v.serial).collect::<Vec<_>>(), [Some(6), Some(5), Some(2)]);
    }

    #[tokio::test]
    async fn refusals_write_nothing() {
        let h = Harness::new();
        let older = applied(&h, "2026-01-01T00:00:00Z#a", &state(2, "l-0", "")).await;
        let latest = applied(&h, "2026-01-02T00:00:00Z#b", &state(5, "l-1", "")).await;
        let before = (current(&h), h.store.records("acme/web", None).await.expect("history").len());
        let listed = || async { h.store.list_versions(&h.request().target, 10).await.expect("list").len() };
        let versions_before = listed().await;
        let cases = [
            (To::Version(older.version_id.clone()), ExitStatus::Failure, "is another state"),
            (To::Version(latest.version_id.clone()), ExitStatus::Usage, "is acme/web (staging)'s current state"),
            (To::Version("20260101T000000.000000Z-0000000000000000".into()), ExitStatus::Usage, "has no state version"),
            (To::Run("2026-01-09T00:00:00Z#z".into()), ExitStatus::Usage, "has no run"),
        ];
        for (to, exit, says) in cases {
            let error = rollback(&h.deps(), &h.request(), &to).await.expect_err("refused");
            assert_eq!(error.exit_status(), exit, "{to:?}: {error}");
            assert!(error.to_string().contains(says), "{to:?}: {error}");
            assert!(error.hint().is_some_and(|h| !h.is_empty()), "{to:?}: a hint");
            assert_eq!((current(&h), h.store.records("acme/web", None).await.expect("history").len()), before);
            assert_eq!(listed().await, versions_before, "no version written");
        }
    }
}
