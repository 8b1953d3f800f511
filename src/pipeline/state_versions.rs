//! The state version a run wrote, for its record: read before and after the run's steps
//! (an apply's, a destroy's), so a run that wrote nothing names no version. Best effort:
//! the change has happened whether or not its version can be read, so a store that can't
//! answer is a warning. The local store makes its copy of the state here.

use super::Deps;
use crate::identity::Target;
use crate::output;
use crate::store::{StateVersion, StateWritten};

/// The target's current state version, if the store keeps versions and can say.
pub async fn current(deps: &Deps<'_>, target: &Target) -> Option<StateVersion> {
    let versions = deps.store.versions()?;
    match versions.keep_current(target).await {
        Ok(version) => version,
        Err(e) => {
            output::log(&format!("warning: can't read the state version of {target}: {e}"));
            None
        }
    }
}

/// What the record keeps: the current version, when it is not the one read `before`.
pub async fn written(deps: &Deps<'_>, target: &Target, before: Option<&StateVersion>) -> StateWritten {
    let same = |a: &StateVersion, b: &StateVersion| (&a.version_id, a.serial) == (&b.version_id, b.serial);
    match current(deps, target).await {
        Some(after) if before.is_none_or(|b| !same(b, &after)) => StateWritten::of(&after),
        _ => StateWritten::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::testing::Harness;

    #[tokio::test]
    async fn a_run_names_the_version_it_wrote_and_none_when_it_wrote_nothing() {
        let h = Harness::new();
        let target = h.request().target;
        assert_eq!(written(&h.deps(), &target, None).await, StateWritten::default(), "no state at all");
        let path = h.store.root().join("state/acme/web/staging/terraform.tfstate");
        std::fs::create_dir_all(path.parent().expect("dir")).expect("mkdir");
        std::fs::write(&path, r#"{"version": 4, "serial": 1, "lineage": "l-1", "resources": []}"#).expect("state");
        let before = current(&h.deps(), &target).await;
        assert_eq!(written(&h.deps(), &target, before.as_ref()).await, StateWritten::default(), "unchanged");
        std::fs::write(&path, r#"{"version": 4, "serial": 2, "lineage": "l-1", "resources": []}"#).expect("state");
        let after = written(&h.deps(), &target, before.as_ref()).await;
        assert_eq!((after.state_serial, after.state_lineage.as_deref()), (Some(2), Some("l-1")));
        assert!(after.state_version.is_some_and(|v| Some(v) != before.map(|b| b.version_id)));
    }
}
